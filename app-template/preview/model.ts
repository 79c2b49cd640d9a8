/**
 * The shapes the runtime and the renderer share: a page's live state, the scope of a binding, and what the
 * renderer asks of the runtime (`RenderHost`). Kept apart so render.ts and runtime.ts do not import each other.
 */
import type { CalsComponent, CalsPage, CalsQuery } from '../cals';
import type { Problem, Shell } from './shell';

/** Names a Repeater puts in scope for its items: `item_<suffix>`, `index_<suffix>`. */
export interface Scope {
  vars: Record<string, unknown>;
  /** Index of the innermost Repeater item (`$index`). */
  index?: number;
}

export const PAGE_SCOPE: Scope = { vars: {} };

export interface Target {
  node: CalsComponent;
  path: string;
}

export interface QueryInstance {
  def: CalsQuery;
  path: string;
  data: unknown;
  error: unknown;
  isLoading: boolean;
  /** Arguments of the last run (auto queries run again when these change). */
  argsKey?: string;
  seq: number;
}

export interface PageInstance {
  page: CalsPage;
  path: string;
  state: Record<string, unknown>;
  params: Record<string, unknown>;
  queries: Map<string, QueryInstance>;
  components: Map<string, Target>;
  widgets: Map<string, Record<string, unknown>>;
}

/** What rendering needs from the runtime that drives it. */
export interface RenderHost {
  readonly shell: Shell;
  report(p: Problem, renderOnly?: boolean): void;
  invalidate(): void;
  widget(id: string): Record<string, unknown>;
  evaluate(expr: string, path: string, id: string, scope: Scope): unknown;
  componentApi(target: Target): Record<string, unknown>;
  fire(target: Target, eventName: string, detail: unknown, scope: Scope): Promise<void>;
}
