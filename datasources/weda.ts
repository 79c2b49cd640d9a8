/**
 * A `@cloudbase/weda-scf-sdk`-compatible module (weda.md §3: the package is not published, so its
 * `weda.callModel({ name, methodName, params, envType })` shape is an assumed contract).
 * Model stores (local SQLite, CloudBase `app.models`) implement `ModelStore`; `createWeda` wraps one store
 * plus optional connectors into the object callbacks use.
 */
import { randomUUID } from 'node:crypto';

/** weda.md §3: exactly 'prod' | 'pre', default 'prod' (as wx-cloud-client-sdk). */
export type EnvType = 'pre' | 'prod';
export const ENV_TYPES: readonly EnvType[] = ['pre', 'prod'];

export interface CallModelParams {
  name: string;
  methodName: string;
  params?: Record<string, unknown>;
  envType?: EnvType;
  /** Alias of `name` (weda.md §3: `callModel` also accepts `dataSourceName`). */
  dataSourceName?: string;
}

export interface ModelStore {
  callModel(p: CallModelParams): Promise<any>;
  close(): Promise<void> | void;
  /**
   * True when `callModel` never throws and only ever rejects with a WedaModelError: `createWeda` then hands its
   * promise on as it is, rather than chaining one more promise per call to convert errors that cannot occur.
   */
  readonly rejectsWithWedaErrors?: boolean;
}

export interface ConnectorCall {
  name: string;
  methodName: string;
  params?: Record<string, unknown>;
}

export interface WedaSdk {
  callModel(p: CallModelParams): Promise<any>;
  callConnector?(p: ConnectorCall): Promise<any>;
}

export type ConnectorHandler = (methodName: string, params: any) => Promise<any>;

/** Error codes used by the stores. `code` stays a plain string so other stores may add their own. */
export const WedaErrorCode = {
  InvalidParameter: 'InvalidParameter',
  ModelNotFound: 'ModelNotFound',
  MethodNotFound: 'MethodNotFound',
  SchemaViolation: 'SchemaViolation',
  MultipleRecordsMatched: 'MultipleRecordsMatched',
  DuplicateValue: 'DuplicateValue',
  ConnectorNotFound: 'ConnectorNotFound',
  StoreClosed: 'StoreClosed',
  StoreBusy: 'StoreBusy',
  /** CloudBase store: the models API could not be reached (connection refused, reset, DNS…). */
  NetworkError: 'NetworkError',
  /** CloudBase store: no answer within `timeoutMs`. */
  Timeout: 'Timeout',
  /** CloudBase store: the models API answered something that is not its documented shape. */
  BadResponse: 'BadResponse',
  InternalError: 'InternalError',
} as const;

/**
 * Thrown for every failure of `callModel` (weda.md §3: failures throw an error carrying `code` and
 * `requestId`). The message names the param/field and the rule that was broken; a refusal by the model's
 * definition (unknown model, SchemaViolation, DuplicateValue) also carries `model` and, for a field, `field`.
 */
export class WedaModelError extends Error {
  readonly code: string;
  readonly requestId: string;
  readonly model?: string;
  readonly field?: string;

  constructor(code: string, message: string, options?: { requestId?: string; cause?: unknown; model?: string; field?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WedaModelError';
    this.code = code;
    this.requestId = options?.requestId ?? randomUUID();
    if (options?.model !== undefined) this.model = options.model;
    if (options?.field !== undefined) this.field = options.field;
  }
}

export function invalidParam(message: string): WedaModelError {
  return new WedaModelError(WedaErrorCode.InvalidParameter, message);
}

/** Identifier rule for model and field names (also what makes them safe inside SQL/JSON paths). */
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export interface NormalisedCall {
  name: string;
  methodName: string;
  params: Record<string, unknown>;
  envType: EnvType;
}

/** Checks the outer call shape shared by every store; the method's own params are checked by the store. */
export function normaliseCall(p: unknown): NormalisedCall {
  if (!isPlainObject(p)) throw invalidParam('callModel expects an object { name, methodName, params, envType }');
  const { name, dataSourceName, methodName, params, envType } = p;
  if (name !== undefined && dataSourceName !== undefined && name !== dataSourceName) {
    throw invalidParam(`name ("${String(name)}") and dataSourceName ("${String(dataSourceName)}") differ; give one`);
  }
  const model = name ?? dataSourceName;
  if (typeof model !== 'string' || !NAME_RE.test(model)) {
    throw invalidParam(`name must be a model name matching ${NAME_RE.source} (got ${JSON.stringify(model)})`);
  }
  if (typeof methodName !== 'string' || methodName === '') {
    throw invalidParam(`methodName must be a non-empty string (got ${JSON.stringify(methodName)})`);
  }
  if (params !== undefined && params !== null && !isPlainObject(params)) {
    throw invalidParam('params must be an object');
  }
  if (envType !== undefined && envType !== 'pre' && envType !== 'prod') {
    throw invalidParam(`envType must be 'pre' or 'prod' (got ${JSON.stringify(envType)})`);
  }
  return { name: model, methodName, params: (params as Record<string, unknown> | undefined) ?? {}, envType: envType ?? 'prod' };
}

/** Any non-WedaModelError becomes one (code InternalError, or StoreBusy for SQLite lock timeouts). */
export function toWedaError(e: unknown): WedaModelError {
  if (e instanceof WedaModelError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const busy = err?.code === 'SQLITE_BUSY' || err?.code === 'SQLITE_LOCKED';
  return new WedaModelError(busy ? WedaErrorCode.StoreBusy : WedaErrorCode.InternalError, message, { cause: e });
}

/**
 * The object a callback gets as `weda`: `callModel` goes to the store (errors always WedaModelError),
 * `callConnector` to a named connector handler (its own errors pass through unchanged, so callers can
 * still read e.g. a PayError's `code`).
 */
export function createWeda(opts: { store: ModelStore; connectors?: Record<string, ConnectorHandler> }): WedaSdk {
  const { store, connectors = {} } = opts;
  const asWedaError = (e: unknown): never => {
    throw toWedaError(e);
  };
  return {
    callModel(p: CallModelParams): Promise<any> {
      if (store.rejectsWithWedaErrors === true) return store.callModel(p);
      try {
        return Promise.resolve(store.callModel(p)).then(undefined, asWedaError);
      } catch (e) {
        return Promise.reject(toWedaError(e));
      }
    },
    async callConnector(p: ConnectorCall): Promise<any> {
      if (!isPlainObject(p) || typeof p.name !== 'string' || typeof p.methodName !== 'string') {
        throw invalidParam('callConnector expects { name, methodName, params }');
      }
      const handler = Object.prototype.hasOwnProperty.call(connectors, p.name) ? connectors[p.name] : undefined;
      if (!handler) {
        const known = Object.keys(connectors);
        throw new WedaModelError(
          WedaErrorCode.ConnectorNotFound,
          `connector "${p.name}" is not configured (configured: ${known.length ? known.join(', ') : 'none'})`,
        );
      }
      return handler(p.methodName, p.params ?? {});
    },
  };
}
