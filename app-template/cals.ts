/**
 * The part of CALS (`@cloudbase/cals` platform types, weda.md §1) that the checks (check.ts, Node) and the
 * preview (preview/, browser) both read: the shapes, a walk over pages and components with JSON paths, the
 * listener-chain naming, handler call arguments, bound values, and how an expression is compiled. Plain
 * TypeScript with neither DOM nor Node APIs, so both sides read an app the same way.
 */

export interface CalsHandler {
  name: string;
  module?: string;
  code?: string;
  ':code'?: string;
  /** Call arguments: an array (the canonical form `serializePlatformApp` writes) or a single object. */
  params?: unknown;
  /** Older form: `":params.<path>": "<expr>"` keys beside `params`. */
  [boundParam: `:params.${string}`]: unknown;
}

export interface CalsListener {
  id: string;
  eventName: string;
  type?: string;
  description?: string;
  handler?: CalsHandler;
}

export interface CalsDirectives {
  ':if'?: boolean | string;
  ':display'?: boolean | string;
  ':for'?: string;
  key?: string;
}

export interface CalsComponent {
  id: string;
  component?: string;
  module?: string;
  type?: string;
  label?: string;
  attributes?: Record<string, unknown>;
  directives?: CalsDirectives;
  listeners?: CalsListener[];
  items?: CalsComponent[];
  ':style'?: string;
  ':class'?: string;
}

export interface CalsStateVariable {
  varType?: string;
  dataType?: string;
  initialValue?: unknown;
  label?: string;
}

export interface CalsQuery {
  id: string;
  name: string;
  type: string;
  trigger: 'auto' | 'manual';
  label?: string;
  handler?: CalsHandler;
  /** Deprecated query form (cals `normalizeQuery`): `dataSourceName` + `method {name, params}`. */
  dataSourceName?: string;
  method?: { name: string; params?: unknown };
}

export interface CalsDataset {
  state?: Record<string, CalsStateVariable>;
  params?: Record<string, unknown>;
  query?: Record<string, CalsQuery>;
}

export interface CalsPage extends CalsComponent {
  type: 'PAGE';
  dataset?: CalsDataset;
}

export interface CalsDataSource {
  name: string;
  type: string;
}

export interface CalsApp {
  name?: string;
  label?: string;
  main?: string;
  items: CalsPage[];
  dataset?: CalsDataset;
  dataSources?: CalsDataSource[];
}

/** The official component library; `serializePlatformApp` leaves `module` out for it. */
export const OFFICIAL_MODULE = 'gsd-h5-react';

/** The component name when it comes from the official library, else `<module>:<component>`. */
export function componentType(c: CalsComponent): string {
  if (c.type === 'PAGE') return 'Page';
  const name = c.component ?? '';
  return c.module === undefined || c.module === OFFICIAL_MODULE ? name : `${c.module}:${name}`;
}

/**
 * Follow-on listeners are named after the listener they follow (weda.md §1.3): `<listenerId>_success` /
 * `_fail` after any action, `_confirm` / `_cancel` after `platform:showModal`.
 */
export const CHAIN_SUFFIXES = ['_success', '_fail', '_confirm', '_cancel'] as const;
export type ChainSuffix = (typeof CHAIN_SUFFIXES)[number];

export function chainedFrom(eventName: string): { listenerId: string; suffix: ChainSuffix } | undefined {
  for (const suffix of CHAIN_SUFFIXES) {
    if (eventName.endsWith(suffix) && eventName.length > suffix.length) return { listenerId: eventName.slice(0, -suffix.length), suffix };
  }
  return undefined;
}

/** `platform:<name>` for platform actions, `general-func:iife` etc. otherwise (the runtime's sourceKey). */
export function actionKey(listener: CalsListener): string {
  const h = listener.handler;
  if (!h) return `${listener.type ?? ''}:`;
  if (listener.type === 'general-func') return `general-func:${h.name}`;
  return `${h.module ?? listener.type ?? ''}:${h.name}`;
}

export interface ComponentVisit {
  node: CalsComponent;
  path: string;
  page: CalsPage;
  pagePath: string;
  /** `suffix` of each enclosing Repeater, outermost first: `$w.item_<suffix>` / `$w.index_<suffix>` are in scope. */
  repeaters: string[];
  parent: CalsComponent | undefined;
}

/** Visits every component of every page (pages included), depth first, with its JSON path from the app. */
export function walkComponents(app: CalsApp, visit: (v: ComponentVisit) => void): void {
  (app.items ?? []).forEach((page, i) => {
    const pagePath = `items[${i}]`;
    const go = (node: CalsComponent, path: string, repeaters: string[], parent: CalsComponent | undefined): void => {
      visit({ node, path, page, pagePath, repeaters, parent });
      const inner = node.component === 'Repeater' ? [...repeaters, repeaterSuffix(node)] : repeaters;
      (node.items ?? []).forEach((child, j) => go(child, `${path}.items[${j}]`, inner, node));
    };
    go(page, pagePath, [], undefined);
  });
}

/** The name a Repeater gives its item and index: `attributes.suffix`, else its id (WeDa writes both the same). */
export function repeaterSuffix(node: CalsComponent): string {
  const s = node.attributes?.suffix;
  return typeof s === 'string' && s !== '' ? s : node.id;
}

/** `"item in <expr>"` (how cals serializes `:for`) → `<expr>`. */
export function forExpression(value: string): string {
  return value.replace(/^\s*[\w$]+\s+in\s+/, '');
}

/**
 * The handler's call arguments as an array, bound leaves still as `":key": "<expr>"` entries: the canonical
 * array form, a single object, and the older `":params.<path>"` keys (cals `generateHandlerParamsDynamicMap`)
 * all come out the same.
 */
export function handlerArgs(handler: CalsHandler | undefined): unknown[] {
  if (!handler) return [];
  const base = handler.params;
  const args: unknown[] = Array.isArray(base) ? clone(base) : base === undefined ? [] : [clone(base)];
  for (const [key, expr] of Object.entries(handler)) {
    const m = /^:params\.(.+)$/.exec(key);
    if (!m) continue;
    // `:params.params.goodsId` in the object form = argument 0, `params.goodsId`.
    const parts = m[1]!.split('.');
    const index = Array.isArray(base) && /^\d+$/.test(parts[0]!) ? Number(parts.shift()) : 0;
    if (args[index] === undefined || typeof args[index] !== 'object' || args[index] === null) args[index] = {};
    let target = args[index] as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      if (typeof target[part] !== 'object' || target[part] === null) target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    // A bound value replaces a static one of the same name (as in cals' own conversion).
    delete target[parts[parts.length - 1]!];
    target[`:${parts[parts.length - 1]}`] = expr;
  }
  return args;
}

export interface Binding {
  /** JSON path of the bound key, e.g. `items[0].listeners[1].handler.params[0].params[":goodsId"]`. */
  path: string;
  key: string;
  expr: string;
}

/** Every `":key": "<expr>"` under `value` (objects and arrays, any depth). */
export function collectBindings(value: unknown, path: string, out: Binding[] = []): Binding[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectBindings(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = `${path}${propPath(k)}`;
      if (k.startsWith(':') && typeof v === 'string') out.push({ path: p, key: k.slice(1), expr: v });
      else collectBindings(v, p, out);
    }
  }
  return out;
}

/** A copy of `value` with each `":key": "<expr>"` replaced by `key: evaluate(expr, path)`. */
export function resolveBound(value: unknown, evaluate: (expr: string, path: string) => unknown, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveBound(v, evaluate, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith(':') && typeof v === 'string') out[k.slice(1)] = evaluate(v, `${path}${propPath(k)}`);
    else out[k] = resolveBound(v, evaluate, `${path}${propPath(k)}`);
  }
  return out;
}

/** `.name` for identifier-like keys, `[":name"]` otherwise. */
export function propPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Names an expression can use. WeDa's generated code gives bindings `$w`, `$page`/`$comp`, `$app`, `event`,
 * `params`, `$for`, `$index` (seen in exported mini-program code); mini-program code also has `wx`.
 */
export const EXPRESSION_SCOPE = ['$w', '$app', '$page', '$comp', 'event', 'params', '$for', '$index', 'wx'] as const;
export type ExpressionScope = Record<(typeof EXPRESSION_SCOPE)[number], unknown>;

/** Compiles (never runs) a binding: a function of the EXPRESSION_SCOPE names returning its value. Throws SyntaxError. */
export function compileExpression(expr: string): (...scope: unknown[]) => unknown {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the app's own expressions, like WeDa's runtime does
  return new Function(...EXPRESSION_SCOPE, `"use strict";\nreturn (\n${expr}\n);`) as (...scope: unknown[]) => unknown;
}

/** Calls a compiled expression with a scope object. */
export function runExpression(fn: (...scope: unknown[]) => unknown, scope: Partial<ExpressionScope>): unknown {
  return fn(...EXPRESSION_SCOPE.map((name) => scope[name]));
}

/** Page state variables' initial values (`dataset.state.<name>.initialValue`). */
export function initialState(dataset: CalsDataset | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(dataset?.state ?? {})) out[name] = clone(v?.initialValue ?? null);
  return out;
}

/** A query's handler, its deprecated `dataSourceName` + `method` form included (cals `normalizeQuery`). */
export function queryHandler(q: CalsQuery): CalsHandler | undefined {
  if (q.handler) return q.handler;
  if (q.dataSourceName) {
    return { module: 'platform', name: 'cloud.callDataSource', params: { dataSourceName: q.dataSourceName, methodName: q.method?.name ?? '', params: q.method?.params ?? {} } };
  }
  return undefined;
}

/**
 * Data-model method names are WeDa's built-ins and all start with `weda` (weda.md §2.1, §2.2); a connector
 * method may not (cals `IDatabaseSchema` doc comment). So the method name says which backend a call goes to,
 * unless the app declares the data source's type.
 */
export function isModelCall(app: CalsApp, dataSourceName: string, methodName: string): boolean {
  const declared = app.dataSources?.find((d) => d.name === dataSourceName);
  if (declared) return declared.type === 'database';
  return /^weda[A-Z]/.test(methodName);
}

/** The `platform` actions that call a data source (aliases in `@cloudbase/weda-cloud-sdk`, weda.md §1.3). */
export const CALL_DATA_SOURCE_ACTIONS = ['cloud.callDataSource', 'callDataSource', 'cloud.callModel', 'cloud.callConnector'] as const;

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}
