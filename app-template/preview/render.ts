/**
 * Draws a page's components as HTML. Each supported component (official library `gsd-h5-react`) has a small
 * renderer; bound attributes (`":name": "<expr>"`), `:if` / `:display`, static and bound style and class are
 * handled here for all of them. A component without a renderer is drawn as an error box naming its type, id
 * and JSON path.
 */
import { CalsComponent, componentType, propPath, repeaterSuffix } from '../cals';
import { Child, h } from './dom';
import type { PageInstance, RenderHost, Scope, Target } from './model';

type Props = Record<string, unknown>;

interface Ctx {
  rt: RenderHost;
  node: CalsComponent;
  path: string;
  props: Props;
  scope: Scope;
  target: Target;
  /** Draws the component's children (in `scope`, or another one for Repeater items). */
  children(scope?: Scope): Node[];
  fire(eventName: string, detail?: unknown): void;
}

type Renderer = (c: Ctx) => HTMLElement | null;

const container: Renderer = (c) => h('div', { class: 'wd-view' }, c.children());

const RENDERERS: Record<string, Renderer> = {
  Container: container,
  WdView: container,
  View: container,
  Text: (c) => text(c),
  WdText: (c) => text(c),
  Image: (c) => image(c),
  WdImage: (c) => image(c),
  Button: (c) => button(c),
  WdButton: (c) => button(c),
  WdTabs: (c) => tabs(c),
  Repeater: (c) => repeater(c),
  RepeaterItem: (c) => h('div', { class: 'wd-repeater-item' }, c.children()),
  WdModal: (c) => modal(c),
};

/** Component types the preview draws (official library names). */
export const SUPPORTED_COMPONENTS: ReadonlySet<string> = new Set(Object.keys(RENDERERS));

/** Draws the current page into the phone. */
export function renderPage(rt: RenderHost, inst: PageInstance): void {
  const scope: Scope = { vars: {} };
  const root = h('div', { class: 'wd-page', attrs: { 'data-page': inst.page.id } });
  applyStyle(root, inst.page.attributes?.style, undefined);
  (inst.page.items ?? []).forEach((child, i) => root.append(...renderNode(rt, child, `${inst.path}.items[${i}]`, scope)));
  rt.shell.pageHost.replaceChildren(root);
}

function renderNode(rt: RenderHost, node: CalsComponent, path: string, scope: Scope): Node[] {
  const type = componentType(node);
  const evaluate = (expr: string, p: string): unknown => rt.evaluate(expr, p, node.id, scope);
  const cond = node.directives?.[':if'];
  if (cond !== undefined && !(typeof cond === 'string' ? evaluate(cond, `${path}.directives[":if"]`) : cond)) return [];

  const renderer = RENDERERS[type];
  if (!renderer) {
    return [h('div', { class: 'preview-unsupported', attrs: { role: 'alert', 'data-wd-id': node.id, 'data-path': path } }, [
      h('strong', { text: `组件 ${type}（id ${node.id}）预览暂不支持` }),
      h('code', { text: path }),
    ])];
  }

  const props: Props = {};
  const attrs = node.attributes ?? {};
  for (const [k, v] of Object.entries(attrs)) if (!k.startsWith(':')) props[k] = v;
  for (const [k, v] of Object.entries(attrs)) if (k.startsWith(':') && typeof v === 'string') props[k.slice(1)] = evaluate(v, `${path}.attributes${propPath(k)}`);

  const target: Target = { node, path };
  const ctx: Ctx = {
    rt, node, path, props, scope, target,
    children: (s = scope) => (node.items ?? []).flatMap((child, i) => renderNode(rt, child, `${path}.items[${i}]`, s)),
    fire: (eventName, detail = {}) => {
      rt.fire(target, eventName, detail, scope).catch((err: Error) => rt.report({ id: node.id, path, message: `事件 ${eventName} 出错：${err.message}` }));
    },
  };
  const el = renderer(ctx);
  if (!el) return [];
  el.dataset.wdId = node.id;
  el.classList.add(`wd-${type}`);
  const boundStyle = typeof node[':style'] === 'string' ? evaluate(node[':style'], `${path}[":style"]`) : undefined;
  applyStyle(el, props.style, boundStyle);
  const boundClass = typeof node[':class'] === 'string' ? evaluate(node[':class'], `${path}[":class"]`) : undefined;
  for (const cls of [...classNames(props.class), ...classNames(boundClass)]) el.classList.add(cls);
  const display = node.directives?.[':display'];
  if (display !== undefined && !(typeof display === 'string' ? evaluate(display, `${path}.directives[":display"]`) : display)) el.style.display = 'none';
  // Any component can be tapped; buttons and tabs wire their own events.
  if (type !== 'WdButton' && type !== 'Button' && (node.listeners ?? []).some((l) => l.eventName === 'tap')) {
    el.classList.add('wd-tappable');
    el.addEventListener('click', (e) => { e.stopPropagation(); ctx.fire('tap'); });
  }
  return [el];
}

function text(c: Ctx): HTMLElement {
  const { props } = c;
  const el = h('span', { class: 'wd-text', text: props.text === undefined || props.text === null ? '' : String(props.text) });
  if (typeof props.level === 'string') el.classList.add(`wd-text--${props.level}`);
  const lines = Number(props.maxLines);
  if (Number.isInteger(lines) && lines > 0) {
    el.classList.add('wd-text--clamp');
    el.style.setProperty('-webkit-line-clamp', String(lines));
  }
  return el;
}

/** http(s), data and same-origin URLs load; `cloud://` file ids cannot outside WeDa, so they get a placeholder. */
function image(c: Ctx): HTMLElement {
  const src = typeof c.props.src === 'string' ? c.props.src : '';
  const alt = typeof c.props.alt === 'string' ? c.props.alt : '';
  if (/^(https?:|data:|blob:|\/)/.test(src)) {
    const img = h('img', { class: 'wd-image', attrs: { src, alt } });
    if (typeof c.props.fit === 'string') img.style.objectFit = c.props.fit;
    return img;
  }
  return h('div', {
    class: 'wd-image wd-image--placeholder',
    attrs: { role: 'img', 'aria-label': alt || '图片', title: src ? `${src}（本地预览无法加载）` : '没有图片' },
    text: alt ? Array.from(alt)[0]! : '图',
  });
}

function button(c: Ctx): HTMLElement {
  const { props } = c;
  const variant = typeof props.variant === 'string' ? props.variant : 'base';
  const size = typeof props.size === 'string' ? props.size : 'md';
  const el = h('button', {
    class: `wd-btn wd-btn--${variant} wd-btn--${size}`,
    text: props.text === undefined ? '' : String(props.text),
    attrs: { type: 'button' },
    on: { click: (e) => { e.stopPropagation(); c.fire('tap'); } },
  }, props.text === undefined ? c.children() : []);
  el.disabled = props.disabled === true;
  if (props.block === true) el.classList.add('wd-btn--block');
  return el;
}

interface TabItem {
  label: string;
  value: unknown;
}

/**
 * WdTabs: `list` of `{label, value}`; `selectedValue` sets the selection (when bound, it wins whenever it
 * changes); a tap selects and emits `change` with `{value, label, index}`.
 */
function tabs(c: Ctx): HTMLElement {
  const w = c.rt.widget(c.node.id);
  const list: TabItem[] = Array.isArray(c.props.list) ? (c.props.list as TabItem[]) : [];
  if ('selectedValue' in c.props && c.props.selectedValue !== w.boundSeen) {
    w.boundSeen = c.props.selectedValue;
    w.selectedValue = c.props.selectedValue;
  }
  if (w.selectedValue === undefined && list.length > 0) w.selectedValue = list[0]!.value;
  return h('div', { class: 'wd-tabs', attrs: { role: 'tablist' } }, list.map((item, index) => {
    const selected = item.value === w.selectedValue;
    return h('button', {
      class: `wd-tab${selected ? ' wd-tab--active' : ''}`,
      text: String(item.label ?? item.value),
      attrs: { type: 'button', role: 'tab', 'aria-selected': String(selected) },
      on: {
        click: () => {
          if (item.value === w.selectedValue) return;
          w.selectedValue = item.value;
          c.rt.invalidate();
          c.fire('change', { value: item.value, label: item.label, index });
        },
      },
    });
  }));
}

/** Repeater: one RepeaterItem per element of `data`, with `$w.item_<suffix>` / `$w.index_<suffix>` in scope. */
function repeater(c: Ctx): HTMLElement {
  const data = c.props.data;
  const el = h('div', { class: 'wd-repeater' });
  if (data === undefined || data === null) return el;
  if (!Array.isArray(data)) {
    c.rt.report({ id: c.node.id, path: `${c.path}.attributes[":data"]`, message: `Repeater ${c.node.id} 的 data 不是数组` }, true);
    return el;
  }
  const suffix = repeaterSuffix(c.node);
  data.forEach((item, index) => {
    el.append(...c.children({ vars: { ...c.scope.vars, [`item_${suffix}`]: item, [`index_${suffix}`]: index }, index }));
  });
  return el;
}

/** WdModal: hidden until `platform:invoke` calls its `open`; drawn over the page, closed by `close` or ×. */
function modal(c: Ctx): HTMLElement | null {
  const w = c.rt.widget(c.node.id);
  if (w.open !== true) return null;
  const api = c.rt.componentApi(c.target);
  const title = typeof c.props.title === 'string' ? c.props.title : '';
  const close = (): void => { void (api.close as (p: unknown) => Promise<void>)({ info: 'icon' }); };
  const content: Child[] = c.children();
  const dialog = h('div', { class: 'wd-modal', attrs: { role: 'dialog', 'aria-modal': 'true', 'data-wd-id': c.node.id } }, [
    h('div', { class: 'wd-modal-head' }, [
      h('span', { class: 'wd-modal-title', text: title }),
      h('button', { class: 'wd-modal-close', text: '×', attrs: { type: 'button', 'aria-label': '关闭' }, on: { click: close } }),
    ]),
    h('div', { class: 'wd-modal-body' }, content),
  ]);
  c.rt.shell.widgetLayer.append(h('div', { class: 'mask' }, [dialog]));
  return null;
}

function applyStyle(el: HTMLElement, staticStyle: unknown, boundStyle: unknown): void {
  for (const style of [staticStyle, boundStyle]) {
    if (typeof style === 'string') el.style.cssText += `;${style}`;
    else if (style && typeof style === 'object') {
      for (const [k, v] of Object.entries(style as Record<string, unknown>)) {
        if (v === undefined || v === null || v === '') continue;
        el.style.setProperty(k.startsWith('--') ? k : k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`), String(v));
      }
    }
  }
}

function classNames(v: unknown): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  if (Array.isArray(v)) return v.flatMap(classNames);
  if (v && typeof v === 'object') return Object.entries(v).filter(([, on]) => on).map(([k]) => k);
  return [];
}
