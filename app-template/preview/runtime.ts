/**
 * Runs a CALS app in the browser the way WeDa's runtime does, for the subset app-template uses (README.md
 * "Supported CALS"): pages with state and queries, `$w`, bindings, and listener chains whose actions call the
 * dev server (connector methods, data models) and show WeChat's UI (toast, modal, the sandbox pay sheet).
 * Whatever it cannot run is listed in the page, with the component id and JSON path — never a blank page.
 */
import {
  actionKey, CALL_DATA_SOURCE_ACTIONS, CalsApp, CalsHandler, CalsListener, CalsPage,
  compileExpression, componentType, handlerArgs, initialState, isModelCall, propPath, queryHandler, resolveBound,
  runExpression, walkComponents,
} from '../cals';
import { PAGE_SCOPE, PageInstance, QueryInstance, RenderHost, Scope, Target } from './model';
import { renderPage, SUPPORTED_COMPONENTS } from './render';
import { ModalResult, Problem, Shell } from './shell';
import { createWx, PreviewWx } from './wx';

export interface PreviewConfig {
  /** Base URL answering `POST /connector/{method}` and `POST /models/{name}/{methodName}?envType=`. */
  devServerUrl: string;
  /** Base URL of the sandbox control API (`/sandbox/transactions…`). */
  sandboxUrl: string;
  openid: string;
}

/** Platform actions the preview runs (the `platform:<name>` of a listener). */
const PLATFORM_ACTIONS = new Set<string>([
  ...CALL_DATA_SOURCE_ACTIONS, 'showModal', 'showToast', 'hideToast', '_setStateVal', 'navigateTo', 'redirectTo', 'reLaunch', 'navigateBack', 'invoke', 'callQuery',
]);

/** A failed call, as `event.detail` of the `_fail` listener: the dev server's `{code, message}` plus the HTTP status. */
export class CallError extends Error {
  constructor(readonly detail: Record<string, unknown>) {
    super(String(detail.message ?? detail.code ?? 'call failed'));
  }
}

/** Something in the app the preview cannot run: reported in the page instead of failing silently. */
class Unsupported extends Error {}

export class PreviewRuntime implements RenderHost {
  readonly app: CalsApp;
  readonly shell: Shell;
  readonly wx: PreviewWx;
  private readonly appState: Record<string, unknown>;
  private stack: PageInstance[] = [];
  /** Problems that hold for the whole app (found up front, or when an action ran). */
  private readonly problems = new Map<string, Problem>();
  /** Binding errors of the latest render only (data may still be loading). */
  private renderProblems = new Map<string, Problem>();
  private readonly compiled = new Map<string, ((...scope: unknown[]) => unknown) | SyntaxError>();
  private renderQueued = false;

  constructor(app: unknown, readonly config: PreviewConfig, root: HTMLElement) {
    if (typeof app !== 'object' || app === null || !Array.isArray((app as CalsApp).items) || (app as CalsApp).items.length === 0) {
      throw new Error('not a CALS app: `items` must be a non-empty array of pages');
    }
    this.app = app as CalsApp;
    this.shell = new Shell(root, this.app.label ?? this.app.name ?? 'WeDa app', config.openid);
    this.wx = createWx(this.shell, config.sandboxUrl);
    this.appState = this.reactive(initialState(this.app.dataset));
  }

  start(): void {
    this.scanApp();
    const first = this.pageFromHash() ?? this.app.items.find((p) => p.id === this.app.main) ?? this.app.items[0]!;
    this.stack = [this.instantiate(first, {})];
    this.pageChanged();
    // `#/<pageId>` opens that page (extra.historyType HASH), also when the address is edited.
    window.addEventListener('hashchange', () => {
      const page = this.pageFromHash();
      if (page && page !== this.current.page) this.reLaunch(page.id, {});
    });
  }

  private pageFromHash(): CalsPage | undefined {
    const id = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
    return this.app.items.find((p) => p.id === id);
  }

  get current(): PageInstance {
    return this.stack[this.stack.length - 1]!;
  }

  // ---- problems -------------------------------------------------------------------------------------

  report(p: Problem, renderOnly = false): void {
    const key = `${p.path}|${p.message}`;
    (renderOnly ? this.renderProblems : this.problems).set(key, p);
    if (!renderOnly) this.showProblems();
  }

  private showProblems(): void {
    this.shell.setProblems([...this.problems.values(), ...this.renderProblems.values()]);
  }

  /** Up front: every component and action in the app the preview cannot run, and every expression that does not compile. */
  private scanApp(): void {
    walkComponents(this.app, ({ node, path }) => {
      const type = componentType(node);
      if (node.type !== 'PAGE' && !SUPPORTED_COMPONENTS.has(type)) {
        this.report({ id: node.id, path, message: `组件 ${type}（id ${node.id}）预览暂不支持` });
      }
      if (node.directives?.[':for'] !== undefined && node.component !== 'RepeaterItem') {
        this.report({ id: node.id, path: `${path}.directives[":for"]`, message: `:for 只支持在 Repeater 的 RepeaterItem 上（组件 id ${node.id}）` });
      }
      (node.listeners ?? []).forEach((l, i) => {
        const reason = node.type === 'PAGE' ? `页面事件 ${l.eventName} 预览暂不支持（不会触发）` : this.unsupportedAction(l);
        if (reason) this.report({ id: node.id, path: `${path}.listeners[${i}]`, message: `组件 ${node.id} 的事件 ${l.eventName}（监听器 ${l.id}）：${reason}` });
      });
    });
  }

  private unsupportedAction(l: CalsListener): string | undefined {
    if (!l.handler) return '没有 handler';
    if (l.type === 'general-func') return typeof (l.handler[':code'] ?? l.handler.code) === 'string' ? undefined : 'general-func 没有 :code';
    if ((l.handler.module ?? 'platform') === 'platform' && PLATFORM_ACTIONS.has(l.handler.name)) return undefined;
    return `动作 ${actionKey(l)} 预览暂不支持`;
  }

  // ---- pages and navigation -------------------------------------------------------------------------

  private instantiate(page: CalsPage, params: Record<string, unknown>): PageInstance {
    const path = `items[${this.app.items.indexOf(page)}]`;
    const components = new Map<string, Target>();
    walkComponents({ items: [page] }, ({ node, path: p }) => {
      if (node !== page) components.set(node.id, { node, path: p.replace(/^items\[0\]/, path) });
    });
    const queries = new Map<string, QueryInstance>();
    for (const [id, def] of Object.entries(page.dataset?.query ?? {})) {
      queries.set(id, { def, path: `${path}.dataset.query${propPath(id)}`, data: undefined, error: undefined, isLoading: false, seq: 0 });
    }
    return { page, path, state: this.reactive(initialState(page.dataset)), params, queries, components, widgets: new Map() };
  }

  private pageChanged(): void {
    const inst = this.current;
    const title = typeof inst.page.attributes?.title === 'string' ? inst.page.attributes.title : inst.page.label ?? inst.page.id;
    this.shell.setNavigation({
      title,
      canGoBack: this.stack.length > 1,
      onBack: () => this.navigateBack(1),
      pages: this.app.items.map((p) => ({ id: p.id, label: `${p.label ?? (p.attributes?.title as string | undefined) ?? p.id}（${p.id}）` })),
      current: inst.page.id,
      onPick: (id) => this.reLaunch(id, {}),
    });
    history.replaceState(null, '', `#/${encodeURIComponent(inst.page.id)}`);
    this.shell.content.scrollTop = 0;
    this.invalidate();
  }

  private findPage(pageId: unknown): CalsPage {
    const page = this.app.items.find((p) => p.id === pageId);
    if (!page) throw new Error(`page "${String(pageId)}" does not exist (pages: ${this.app.items.map((p) => p.id).join(', ')})`);
    return page;
  }

  navigateTo(pageId: unknown, params: Record<string, unknown>): void {
    this.stack.push(this.instantiate(this.findPage(pageId), params));
    this.pageChanged();
  }

  redirectTo(pageId: unknown, params: Record<string, unknown>): void {
    const inst = this.instantiate(this.findPage(pageId), params);
    this.stack[this.stack.length - 1] = inst;
    this.pageChanged();
  }

  reLaunch(pageId: unknown, params: Record<string, unknown>): void {
    this.stack = [this.instantiate(this.findPage(pageId), params)];
    this.pageChanged();
  }

  navigateBack(delta: number): void {
    if (this.stack.length <= 1) return;
    this.stack.splice(Math.max(1, this.stack.length - Math.max(1, delta)));
    this.pageChanged();
  }

  // ---- reactivity -----------------------------------------------------------------------------------

  /** State objects re-render the page when a variable is set (by `_setStateVal` or by code). */
  private reactive(obj: Record<string, unknown>): Record<string, unknown> {
    return new Proxy(obj, {
      set: (t, k, v) => {
        t[k as string] = v;
        this.invalidate();
        return true;
      },
    });
  }

  invalidate(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.renderQueued = false;
    const inst = this.current;
    this.refreshAutoQueries(inst);
    this.renderProblems = new Map();
    this.shell.widgetLayer.replaceChildren();
    renderPage(this, inst);
    this.showProblems();
  }

  widget(id: string): Record<string, unknown> {
    const widgets = this.current.widgets;
    if (!widgets.has(id)) widgets.set(id, {});
    return widgets.get(id)!;
  }

  // ---- expressions ----------------------------------------------------------------------------------

  private compile(expr: string): (...scope: unknown[]) => unknown {
    let fn = this.compiled.get(expr);
    if (fn === undefined) {
      try { fn = compileExpression(expr); } catch (err) { fn = err as SyntaxError; }
      this.compiled.set(expr, fn);
    }
    if (fn instanceof Error) throw fn;
    return fn;
  }

  /** Evaluates a binding; throws what it throws. */
  evaluateStrict(expr: string, scope: Scope, event?: unknown): unknown {
    const $w = this.$w(scope);
    return runExpression(this.compile(expr), { $w, $app: $w.app, $page: $w.page, $comp: $w.page, event, params: this.current.params, $for: scope.vars, $index: scope.index, wx: this.wx });
  }

  /** Evaluates a binding while drawing: an error becomes `undefined` and a problem listed in the page. */
  evaluate(expr: string, path: string, id: string, scope: Scope): unknown {
    try {
      return this.evaluateStrict(expr, scope);
    } catch (err) {
      this.report({ id, path, message: `表达式出错（组件 ${id}）：${(err as Error).message} — ${expr}` }, !(err instanceof SyntaxError));
      return undefined;
    }
  }

  /** What an expression sees as `$w`. */
  private $w(scope: Scope): Record<string, any> {
    const inst = this.current;
    const rt = this;
    const page = { id: inst.page.id, dataset: { state: inst.state, params: inst.params } };
    const app = { name: this.app.name, label: this.app.label, dataset: { state: this.appState } };
    const auth = { currentUser: { openId: this.config.openid, userId: this.config.openid, name: '沙箱用户', type: 'preview' } };
    const utils = {
      showToast: (o: Record<string, unknown>) => this.shell.toast(o),
      showModal: (o: Record<string, unknown>) => this.shell.showModal(o),
    };
    return new Proxy({}, {
      get(_t, key) {
        if (typeof key !== 'string') return undefined;
        if (Object.prototype.hasOwnProperty.call(scope.vars, key)) return scope.vars[key];
        switch (key) {
          case 'page': return page;
          case 'app': return app;
          case 'auth': return auth;
          case 'utils': return utils;
        }
        const q = inst.queries.get(key);
        if (q) return rt.queryApi(q);
        const c = inst.components.get(key);
        return c ? rt.componentApi(c) : undefined;
      },
    });
  }

  private queryApi(q: QueryInstance): Record<string, unknown> {
    return {
      data: q.data,
      error: q.error,
      isLoading: q.isLoading,
      trigger: () => this.runQuery(q, this.queryArgs(q)),
    };
  }

  /** `$w.<componentId>`: its properties and the methods `platform:invoke` can call. */
  componentApi(target: Target): Record<string, unknown> {
    const { node } = target;
    const w = this.widget(node.id);
    switch (componentType(node)) {
      case 'WdModal':
        return {
          id: node.id,
          openInfo: w.openInfo,
          open: (params?: unknown) => { w.open = true; w.openInfo = params; this.invalidate(); return this.fire(target, 'open', params, PAGE_SCOPE); },
          close: (params?: unknown) => { w.open = false; this.invalidate(); return this.fire(target, 'close', params, PAGE_SCOPE); },
        };
      case 'WdTabs':
        return { id: node.id, selectedValue: w.selectedValue };
      default:
        return { id: node.id };
    }
  }

  // ---- queries --------------------------------------------------------------------------------------

  private queryArgs(q: QueryInstance): unknown[] {
    const handler = queryHandler(q.def);
    if (!handler) throw new Unsupported(`查询 ${q.def.id} 没有 handler`);
    return resolveBound(handlerArgs(handler), (expr) => this.evaluateStrict(expr, PAGE_SCOPE)) as unknown[];
  }

  /** Auto queries run when the page opens and again whenever their arguments change (e.g. a state variable). */
  private refreshAutoQueries(inst: PageInstance): void {
    for (const q of inst.queries.values()) {
      if (q.def.trigger !== 'auto') continue;
      let args: unknown[];
      try {
        args = this.queryArgs(q);
      } catch (err) {
        this.report({ id: q.def.id, path: q.path, message: `查询 ${q.def.id} 的参数出错：${(err as Error).message}` }, true);
        continue;
      }
      const key = JSON.stringify(args);
      if (key === q.argsKey) continue;
      void this.runQuery(q, args);
    }
  }

  private async runQuery(q: QueryInstance, args: unknown[]): Promise<unknown> {
    const handler = queryHandler(q.def)!;
    q.argsKey = JSON.stringify(args);
    const seq = ++q.seq;
    q.isLoading = true;
    try {
      if (!(CALL_DATA_SOURCE_ACTIONS as readonly string[]).includes(handler.name)) throw new Unsupported(`查询动作 ${handler.module ?? ''}:${handler.name} 预览暂不支持`);
      const data = await this.callDataSource(args[0]);
      if (seq === q.seq) { q.data = data; q.error = undefined; this.problems.delete(`${q.path}|query`); }
      return data;
    } catch (err) {
      if (seq === q.seq) {
        q.error = err instanceof CallError ? err.detail : { message: (err as Error).message };
        this.problems.set(`${q.path}|query`, { id: q.def.id, path: q.path, message: `查询 ${q.def.id} 失败：${(err as Error).message}` });
      }
      throw err;
    } finally {
      if (seq === q.seq) { q.isLoading = false; this.invalidate(); }
    }
  }

  // ---- events and listener chains -------------------------------------------------------------------

  /**
   * Runs the listeners of `target` for `eventName`; each one's result fires `<id>_success` (and `_confirm` /
   * `_cancel` after showModal), its error `<id>_fail`, on the same component (weda.md §1.3). Listeners keep
   * the scope of the event that started the chain, so `$w.item_<list>` is still the tapped row.
   */
  async fire(target: Target, eventName: string, detail: unknown, scope: Scope): Promise<void> {
    const listeners = (target.node.listeners ?? []).map((l, i) => [l, i] as const).filter(([l]) => l.eventName === eventName);
    await Promise.all(listeners.map(([l, i]) => this.runListener(target, l, `${target.path}.listeners[${i}]`, eventName, detail, scope)));
  }

  private async runListener(target: Target, l: CalsListener, path: string, eventName: string, detail: unknown, scope: Scope): Promise<void> {
    const event = { type: eventName, detail, currentTarget: { id: target.node.id }, target: { id: target.node.id } };
    let result: unknown;
    try {
      result = await this.execute(l, path, event, scope);
    } catch (err) {
      if (err instanceof Unsupported) {
        this.report({ id: target.node.id, path, message: `组件 ${target.node.id} 的事件 ${eventName}（监听器 ${l.id}）：${err.message}` });
        return;
      }
      await this.fire(target, `${l.id}_fail`, failDetail(err), scope);
      return;
    }
    const follow: Promise<void>[] = [this.fire(target, `${l.id}_success`, result, scope)];
    if (isModalAction(l)) {
      const r = result as ModalResult;
      follow.push(this.fire(target, r.confirm ? `${l.id}_confirm` : `${l.id}_cancel`, result, scope));
    }
    await Promise.all(follow);
  }

  private async execute(l: CalsListener, path: string, event: unknown, scope: Scope): Promise<unknown> {
    const reason = this.unsupportedAction(l);
    if (reason) throw new Unsupported(reason);
    const handler = l.handler!;
    const args = resolveBound(handlerArgs(handler), (expr) => this.evaluateStrict(expr, scope, event)) as unknown[];
    if (l.type === 'general-func') {
      const code = (handler[':code'] ?? handler.code) as string;
      const fn = this.evaluateStrict(code, scope, event);
      if (typeof fn !== 'function') throw new Unsupported(`:code 不是函数表达式（${path}）`);
      return await fn({ event, params: args[0] });
    }
    return await this.platformAction(handler, args, path);
  }

  private async platformAction(handler: CalsHandler, args: unknown[], path: string): Promise<unknown> {
    const arg = (args[0] ?? {}) as Record<string, any>;
    switch (handler.name) {
      case 'showModal':
        return this.shell.showModal(arg);
      case 'showToast':
        this.shell.toast(arg);
        return {};
      case 'hideToast':
        this.shell.hideToast();
        return {};
      case '_setStateVal':
        return this.setStateVal(arg.varPath, arg.val);
      case 'navigateTo':
        return this.navigateTo(arg.pageId, arg.params ?? {});
      case 'redirectTo':
        return this.redirectTo(arg.pageId, arg.params ?? {});
      case 'reLaunch':
        return this.reLaunch(arg.pageId, arg.params ?? {});
      case 'navigateBack':
        return this.navigateBack(Number(arg.delta ?? 1));
      case 'callQuery': {
        const q = this.current.queries.get(arg.id);
        if (!q) throw new Error(`page "${this.current.page.id}" has no query "${arg.id}"`);
        if ((arg.method ?? 'trigger') !== 'trigger') throw new Unsupported(`查询方法 ${arg.method} 预览暂不支持（只支持 trigger）`);
        return this.runQuery(q, this.queryArgs(q));
      }
      case 'invoke': {
        const target = this.current.components.get(arg.component);
        const method = target ? this.componentApi(target)[arg.method] : undefined;
        if (typeof method !== 'function') {
          this.report({ id: String(arg.component), path, message: `调用方法失败：未找到 id 为 ${arg.component} 的组件方法 ${arg.method}（预览支持 WdModal.open/close）` });
          throw new Error(`调用方法失败：未找到id为${arg.component}下的方法${arg.method}`);
        }
        return await (method as (p: unknown) => unknown)(arg.params);
      }
      default:
        // CALL_DATA_SOURCE_ACTIONS (unsupportedAction let nothing else through)
        return this.callDataSource(arg);
    }
  }

  /** `$page.<name>[.<path>]` (page variable) or `$global.<name>…` / `$app.<name>…` (app variable). */
  private setStateVal(varPath: unknown, val: unknown): unknown {
    const parts = typeof varPath === 'string' ? varPath.split('.') : [];
    const root = parts[0] === '$page' ? this.current.state : parts[0] === '$global' || parts[0] === '$app' ? this.appState : undefined;
    if (!root || parts.length < 2) throw new Error(`varPath must be "$page.<name>" or "$global.<name>" (got ${JSON.stringify(varPath)})`);
    let obj: Record<string, unknown> = root;
    for (const p of parts.slice(1, -1)) {
      if (typeof obj[p] !== 'object' || obj[p] === null) obj[p] = {};
      obj = obj[p] as Record<string, unknown>;
    }
    obj[parts[parts.length - 1]!] = val;
    this.invalidate();
    return val;
  }

  /**
   * A data model → `POST {dev}/models/{name}/{methodName}?envType=pre`; a connector → `POST {dev}/connector/{method}`.
   * The answer body is the result; a non-2xx answer (`{code, message}`) is a failure (weda.md §2.4: a non-zero
   * code is thrown).
   */
  async callDataSource(arg: unknown): Promise<unknown> {
    const a = (arg ?? {}) as Record<string, unknown>;
    const ds = String(a.dataSourceName ?? a.name ?? '');
    const method = String(a.methodName ?? '');
    if (!ds || !method) throw new CallError({ code: 'INVALID_CALL', message: 'callDataSource needs dataSourceName and methodName' });
    const base = this.config.devServerUrl;
    const url = isModelCall(this.app, ds, method)
      ? `${base}/models/${encodeURIComponent(ds)}/${encodeURIComponent(method)}?envType=pre`
      : `${base}/connector/${encodeURIComponent(method)}`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(a.params ?? {}) });
    } catch (err) {
      throw new CallError({ code: 'NETWORK_ERROR', message: `${url}: ${(err as Error).message}` });
    }
    const text = await res.text();
    let body: unknown;
    try { body = text ? JSON.parse(text) : undefined; } catch { body = { message: text }; }
    if (!res.ok) {
      const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      throw new CallError({ ...b, code: b.code ?? `HTTP_${res.status}`, message: b.message ?? `HTTP ${res.status}`, status: res.status });
    }
    return body;
  }
}

function isModalAction(l: CalsListener): boolean {
  return l.type !== 'general-func' && l.handler?.name === 'showModal' && (l.handler.module ?? 'platform') === 'platform';
}

/** `event.detail` of a `_fail` listener. */
function failDetail(err: unknown): unknown {
  if (err instanceof CallError) return err.detail;
  if (err instanceof Error) return { message: err.message, name: err.name };
  return err; // e.g. wx.requestPayment's { errMsg }
}
