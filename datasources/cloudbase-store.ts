/**
 * The weda `callModel` contract (weda.md §3) over CloudBase data models through `app.models.<model>.<op>` of
 * `@cloudbase/node-sdk` (weda.md §4.1) — or, with an API key, of cloudbase-models-client.ts, which sends the same
 * requests without loading the SDK — so callbacks run unchanged on CloudBase.
 *
 * - V2 methods map 1:1 onto the SDK's V2 operations (wedaCreateV2 → create, wedaBatchUpdateV2 → updateMany, …);
 *   V1 methods are mapped onto V2 (`wedaBatchUpdate { where, record }` → `updateMany({ data: record,
 *   filter: { where: v1WhereToV2(where) } })`, `{ count }` → `{ updated }`, …) and answer in V1 shapes.
 * - `envType` ('pre' | 'prod') goes to the SDK, which puts it in the path `/v1/model/{envType}/{model}/{op}`.
 * - Params are checked by the same code as the SQLite store (methods.ts) before any network call: an
 *   empty where in a batch update/delete, a bad field name, a bad page, … are refused locally, with the
 *   same messages; with `models` definitions, records are checked too.
 * - Every failure is a WedaModelError: the server's `code`/`requestId` when it answered one (the SDK nests
 *   them in `originError`), `NetworkError`/`Timeout` when it could not be reached, `BadResponse` when its
 *   answer has the wrong shape.
 */
import type * as Tcb from '@cloudbase/node-sdk';
import { checkRecord, type ModelDefinition, checkDefinitions } from './definitions';
import {
  getCountParam, idWhere, intParam, pageSizeParam, patchOf, recordsOf, selectParam, v1ItemWhere, v1OrderParam,
  v1WriteWhere, v2Filter, v2OrderParam, type Params,
} from './methods';
import {
  WedaErrorCode, WedaModelError, isPlainObject, normaliseCall, toWedaError,
  type CallModelParams, type ModelStore,
} from './weda';
import { v1WhereToV2 } from './where-v1';
import { describe } from './where-v2';

/** The node-sdk model operations (wx-cloud-client-sdk `HTTP_DATA_MODEL_METHODS`). */
export type SdkOp = 'create' | 'createMany' | 'update' | 'updateMany' | 'upsert' | 'delete' | 'deleteMany' | 'get' | 'list';

export interface SdkResult {
  data?: unknown;
  requestId?: string;
}
type SdkModel = Record<string, ((params: Record<string, unknown>) => Promise<SdkResult>) | undefined>;

/** What the store needs of a node-sdk app (`tcb.init(...)` returns one). */
export interface CloudbaseApp {
  models: Record<string, SdkModel | undefined> | undefined;
}

export interface CloudbaseStoreOptions {
  /** CloudBase environment id. Required unless `app` is given. */
  env?: string;
  /**
   * Host[:port] of the models gateway (default `<env>.api.tcloudbasegateway.com`); the SDK always uses
   * https (`https://<serviceUrl>/v1/model`). Tests point it at a loopback emulator.
   */
  serviceUrl?: string;
  /**
   * API key sent as `Authorization: Bearer <key>` (else CLOUDBASE_APIKEY); otherwise the function role's credentials
   * (TENCENTCLOUD_SECRETID / SECRETKEY / SESSIONTOKEN), else whatever node-sdk finds.
   */
  accessKey?: string;
  /** Per-request timeout in ms (the SDK's `timeout`), default 15000. */
  timeoutMs?: number;
  region?: string;
  /** The SDK's `keepalive` (default: on outside cloud functions). */
  keepalive?: boolean;
  /** An app from `tcb.init(...)` to use instead of creating one (then env/serviceUrl/… are not used). */
  app?: CloudbaseApp;
  /** When given, only these models exist and records are checked before sending (see definitions.ts). */
  models?: Record<string, ModelDefinition>;
}

interface Plan {
  op: SdkOp;
  params: Record<string, unknown>;
  /** Maps the SDK's `data` to the method's result; throws `BadShape` when `data` is not what the op answers. */
  result: (data: unknown) => unknown;
}
type Planner = (model: string, def: ModelDefinition | undefined, p: Params) => Plan;

class BadShape extends Error {}

function need(data: unknown, key: string, ok: (v: unknown) => boolean, what: string): Record<string, unknown> {
  if (!isPlainObject(data) || !ok(data[key])) throw new BadShape(`data.${key} should be ${what} (data is ${describe(data)})`);
  return data;
}
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
const isId = (v: unknown): boolean => typeof v === 'string' && v !== '';
const isIdList = (v: unknown): boolean => Array.isArray(v) && v.every(isId);
const count = (data: unknown): number => need(data, 'count', isCount, 'a count').count as number;

/** `get` answers the record, `{}`, `null` or `{ record: null }` when nothing matched [inferred]; the stores answer `{}`. */
function record(data: unknown): Record<string, unknown> {
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) throw new BadShape(`data should be a record (data is ${describe(data)})`);
  const keys = Object.keys(data);
  if (keys.length === 1 && keys[0] === 'record' && (data.record === null || data.record === undefined)) return {};
  return data;
}

function list(data: unknown, withTotal: boolean): { records: Record<string, unknown>[]; total?: number } {
  need(data, 'records', (v) => Array.isArray(v) && v.every(isPlainObject), 'an array of records');
  if (withTotal) need(data, 'total', isCount, 'a count');
  return data as { records: Record<string, unknown>[]; total?: number };
}

/** Copies the given params that are set (the SDK fills `filter`/`select` defaults for get/list itself). */
function pick(p: Params, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (p[k] !== undefined && p[k] !== null) out[k] = p[k];
  return out;
}

const MASTER = { $master: true };

export const CLOUDBASE_METHODS: Record<string, Planner> = {
  // ---- V1 (weda.md §2.1), mapped onto V2 ----
  wedaCreate: (m, d, p) => ({
    op: 'create',
    params: { data: checkRecord(m, d, p, 'create', 'params') },
    result: (data) => ({ _id: need(data, 'id', isId, 'the new id').id }),
  }),
  wedaBatchCreate: (m, d, p) => ({
    op: 'createMany',
    params: { data: recordsOf(m, d, p.records, 'params.records') },
    result: (data) => ({ ids: need(data, 'idList', isIdList, 'a list of ids').idList }),
  }),
  wedaGetItem: (_m, _d, p) => ({
    op: 'get',
    params: { filter: { where: v1ItemWhere(p) }, select: MASTER },
    result: record,
  }),
  wedaGetRecords: (_m, _d, p) => {
    const where = v1WhereToV2(p.where, 'params.where');
    const pageNo = intParam(p, 'pageNo', 1, Number.MAX_SAFE_INTEGER, 1);
    const pageSize = pageSizeParam(p);
    const orderBy = v1OrderParam(p).map((o) => ({ [o.field]: o.dir === 'DESC' ? 'desc' : 'asc' }));
    return {
      op: 'list',
      params: { filter: { where }, select: MASTER, pageSize, pageNumber: pageNo, getCount: true, ...(orderBy.length ? { orderBy } : {}) },
      result: (data) => {
        const { records, total } = list(data, true);
        return { records, total, pageNo, pageSize };
      },
    };
  },
  wedaUpdate: (m, d, p) => {
    const where = idWhere(p);
    const { _id, ...fields } = p;
    return {
      op: 'update',
      params: { data: patchOf(m, d, fields, 'params'), filter: { where } },
      result: (data) => {
        const n = count(data);
        return { ids: n ? [_id] : [], count: n };
      },
    };
  },
  wedaBatchUpdate: (m, d, p) => {
    const where = v1WriteWhere(p);
    return {
      op: 'updateMany',
      params: { data: patchOf(m, d, p.record, 'params.record'), filter: { where } },
      result: (data) => ({ updated: count(data) }),
    };
  },
  wedaDelete: (_m, _d, p) => ({
    op: 'delete',
    params: { filter: { where: idWhere(p) } },
    result: (data) => ({ deleted: count(data) }),
  }),
  wedaBatchDelete: (_m, _d, p) => ({
    op: 'deleteMany',
    params: { filter: { where: v1WriteWhere(p) } },
    result: (data) => ({ deleted: count(data) }),
  }),

  // ---- V2 (weda.md §2.2), 1:1 ----
  wedaCreateV2: (m, d, p) => ({
    op: 'create',
    params: { data: checkRecord(m, d, p.data, 'create', 'params.data') },
    result: (data) => need(data, 'id', isId, 'the new id'),
  }),
  wedaBatchCreateV2: (m, d, p) => ({
    op: 'createMany',
    params: { data: recordsOf(m, d, p.data, 'params.data') },
    result: (data) => need(data, 'idList', isIdList, 'a list of ids'),
  }),
  wedaUpdateV2: (m, d, p) => {
    v2Filter(p, true);
    return { op: 'update', params: { data: patchOf(m, d, p.data, 'params.data'), filter: p.filter }, result: (data) => (count(data), data) };
  },
  wedaBatchUpdateV2: (m, d, p) => {
    v2Filter(p, true);
    return { op: 'updateMany', params: { data: patchOf(m, d, p.data, 'params.data'), filter: p.filter }, result: (data) => (count(data), data) };
  },
  wedaUpsertV2: (m, d, p) => {
    v2Filter(p, true);
    return {
      op: 'upsert',
      params: { create: checkRecord(m, d, p.create, 'create', 'params.create'), update: patchOf(m, d, p.update, 'params.update'), filter: p.filter },
      result: (data) => (count(data), need(data, 'id', (v) => typeof v === 'string', 'the record id')),
    };
  },
  wedaDeleteV2: (_m, _d, p) => {
    v2Filter(p, true);
    return { op: 'delete', params: { filter: p.filter }, result: (data) => (count(data), data) };
  },
  wedaBatchDeleteV2: (_m, _d, p) => {
    v2Filter(p, true);
    return { op: 'deleteMany', params: { filter: p.filter }, result: (data) => (count(data), data) };
  },
  wedaGetItemV2: (_m, _d, p) => {
    v2Filter(p, false);
    selectParam(p.select);
    return { op: 'get', params: pick(p, ['filter', 'select']), result: record };
  },
  wedaGetRecordsV2: (_m, _d, p) => {
    v2Filter(p, false);
    selectParam(p.select);
    pageSizeParam(p);
    intParam(p, 'pageNumber', 1, Number.MAX_SAFE_INTEGER, 1);
    v2OrderParam(p);
    const getCount = getCountParam(p);
    return {
      op: 'list',
      params: pick(p, ['filter', 'select', 'getCount', 'pageSize', 'pageNumber', 'orderBy']),
      result: (data) => list(data, getCount),
    };
  },
};

export const CLOUDBASE_SUPPORTED_METHODS = Object.keys(CLOUDBASE_METHODS);

function plannerFor(methodName: string): Planner {
  const planner = Object.prototype.hasOwnProperty.call(CLOUDBASE_METHODS, methodName) ? CLOUDBASE_METHODS[methodName] : undefined;
  if (!planner) {
    throw new WedaModelError(WedaErrorCode.MethodNotFound, `unknown methodName "${methodName}" (supported: ${CLOUDBASE_SUPPORTED_METHODS.join(', ')})`);
  }
  return planner;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  requestId?: unknown;
  originError?: unknown;
  cause?: unknown;
}

/** The SDK's message is `【错误】<server message>\n【操作】…`; keep the server's words. */
function serverMessage(message: unknown): string {
  const text = typeof message === 'string' ? message : String(message);
  return /【错误】([^\n]*)/.exec(text)?.[1]?.trim() || text;
}

const TIMEOUT_CODES = new Set(['ESOCKETTIMEDOUT', 'ETIMEDOUT']);

/**
 * node-sdk errors: a server answer `{ code, message, requestId }` becomes WxCloudSDKError(code, requestId),
 * which the HTTP client then wraps once more in a WxCloudSDKError with only `originError`; transport
 * failures arrive as a Node error (ECONNREFUSED, ESOCKETTIMEDOUT, …) in `originError`. Our client
 * (cloudbase-models-client.ts ModelsApiError) fails in the same shapes.
 */
export function fromSdkError(e: unknown, where: string): WedaModelError {
  if (e instanceof WedaModelError) return e;
  const chain: ErrorLike[] = [];
  for (let cur = e; cur && typeof cur === 'object' && chain.length < 8; cur = (cur as ErrorLike).originError ?? (cur as ErrorLike).cause) {
    chain.push(cur as ErrorLike);
  }
  const server = chain.find((x) => x.name === 'WxCloudSDKError' && typeof x.code === 'string' && x.code !== '');
  if (server) {
    const requestId = typeof server.requestId === 'string' && server.requestId !== '' && server.requestId !== 'N/A' ? server.requestId : undefined;
    return new WedaModelError(server.code as string, `${where}: ${serverMessage(server.message)}`, { cause: e, ...(requestId ? { requestId } : {}) });
  }
  const transport = chain.find((x) => typeof x.code === 'string' && x.code !== '');
  if (transport) {
    const code = TIMEOUT_CODES.has(transport.code as string) ? WedaErrorCode.Timeout : WedaErrorCode.NetworkError;
    return new WedaModelError(code, `${where}: ${String(transport.code)} ${serverMessage(transport.message)}`, { cause: e });
  }
  // An answer that is not JSON, or an empty body: the SDK fails while reading it.
  const last = chain[chain.length - 1];
  return new WedaModelError(WedaErrorCode.BadResponse, `${where}: unreadable answer from the models API (${serverMessage(last?.message ?? e)})`, { cause: e });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

function normaliseServiceUrl(serviceUrl: string): string {
  if (/^http:\/\//i.test(serviceUrl)) throw new Error('openCloudbaseStore: serviceUrl must be https (the SDK always calls https://<serviceUrl>/v1/model)');
  const host = serviceUrl.replace(/^https:\/\//i, '').replace(/\/+$/, '');
  if (!/^[A-Za-z0-9.\-[\]:]+$/.test(host)) throw new Error(`openCloudbaseStore: serviceUrl must be a host[:port] (got ${JSON.stringify(serviceUrl)})`);
  return host;
}

/**
 * Checks the options now and answers how to make the app later, on the first models call (a function that answers
 * without one, a refusal, loads neither): our client of the models API for an API key or the function role's
 * credentials; otherwise @cloudbase/node-sdk, whose load alone takes a few hundred milliseconds.
 */
function appFactory(opts: CloudbaseStoreOptions): () => CloudbaseApp {
  if (typeof opts.env !== 'string' || opts.env === '') throw new Error('openCloudbaseStore: env (the CloudBase environment id) is required unless app is given');
  const serviceUrl = opts.serviceUrl === undefined ? undefined : normaliseServiceUrl(opts.serviceUrl);
  // Without an accessKey a token is fetched from the real gateway, whatever serviceUrl says (node-sdk, and so our client).
  if (serviceUrl && LOOPBACK.test(serviceUrl) && !opts.accessKey) {
    throw new Error('openCloudbaseStore: a loopback serviceUrl needs accessKey (otherwise the SDK asks the real CloudBase gateway for a token)');
  }
  if (opts.timeoutMs !== undefined && (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1)) {
    throw new Error(`openCloudbaseStore: timeoutMs must be a positive integer (got ${opts.timeoutMs})`);
  }
  const config = {
    env: opts.env,
    ...(serviceUrl ? { serviceUrl } : {}),
    ...(opts.accessKey ? { accessKey: opts.accessKey } : {}),
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.keepalive !== undefined ? { keepalive: opts.keepalive } : {}),
  };
  return () => {
    // An API key (as the SDK takes it: the option, else CLOUDBASE_APIKEY) or the function role's credentials: our
    // client, which sends what the SDK sends without loading it (cloudbase-models-client.ts says why, with the numbers).
    const accessKey = opts.accessKey || process.env.CLOUDBASE_APIKEY;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const client = require('./cloudbase-models-client') as typeof import('./cloudbase-models-client');
    if (accessKey || client.roleCredentials(process.env)) {
      return client.createModelsClient({
        env: config.env,
        ...(accessKey ? { accessKey } : {}),
        ...(serviceUrl ? { serviceUrl } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.region ? { region: opts.region } : {}),
        ...(opts.keepalive !== undefined ? { keepalive: opts.keepalive } : {}),
      }) as unknown as CloudbaseApp;
    }
    // No credentials we can send ourselves (the SDK has more places to look, and its own failure): the SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tcb = require('@cloudbase/node-sdk') as typeof Tcb;
    return checkedApp(tcb.init(config) as unknown as CloudbaseApp);
  };
}

function checkedApp(app: CloudbaseApp): CloudbaseApp {
  if (!app || typeof app.models !== 'object' || app.models === null) {
    throw new Error('openCloudbaseStore: this @cloudbase/node-sdk app has no models client (check env and the SDK version, ≥ 3)');
  }
  return app;
}

class CloudbaseModelStore implements ModelStore {
  private closed = false;
  private made: CloudbaseApp | undefined;

  constructor(private readonly makeApp: () => CloudbaseApp, private readonly models: Record<string, ModelDefinition> | undefined) {}

  /** The node-sdk app, made on the first call that needs it (see appFactory). */
  private get app(): CloudbaseApp {
    return (this.made ??= this.makeApp());
  }

  private definition(model: string): ModelDefinition | undefined {
    const models = this.models;
    if (!models) return undefined;
    const def = Object.prototype.hasOwnProperty.call(models, model) ? models[model] : undefined;
    if (!def) throw new WedaModelError(WedaErrorCode.ModelNotFound, `model "${model}" is not defined (defined: ${Object.keys(models).join(', ') || 'none'})`);
    return def;
  }

  async callModel(p: CallModelParams): Promise<any> {
    let where = 'models';
    try {
      if (this.closed) throw new WedaModelError(WedaErrorCode.StoreClosed, 'the model store is closed');
      const call = normaliseCall(p);
      const planner = plannerFor(call.methodName);
      const plan = planner(call.name, this.definition(call.name), call.params);
      where = `models.${call.name}.${plan.op} (${call.methodName}, ${call.envType})`;
      const fn = this.app.models?.[call.name]?.[plan.op];
      if (typeof fn !== 'function') throw new WedaModelError(WedaErrorCode.InternalError, `${where} is not available in this @cloudbase/node-sdk app`);
      let res: SdkResult;
      try {
        res = await fn({ ...plan.params, envType: call.envType });
      } catch (e) {
        throw fromSdkError(e, where);
      }
      try {
        return plan.result(res?.data);
      } catch (e) {
        if (e instanceof BadShape) {
          const requestId = typeof res?.requestId === 'string' && res.requestId !== '' ? res.requestId : undefined;
          throw new WedaModelError(WedaErrorCode.BadResponse, `${where}: unexpected answer: ${e.message}`, requestId ? { requestId } : undefined);
        }
        throw e;
      }
    } catch (e) {
      throw toWedaError(e);
    }
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * A model store over CloudBase data models. In a cloud function pass `env` (e.g. `process.env.TCB_ENV`)
 * or an `app` from `tcb.init(...)`; the function's role supplies credentials.
 */
export function openCloudbaseStore(opts: CloudbaseStoreOptions): ModelStore {
  if (opts.models) checkDefinitions(opts.models);
  if (opts.app) {
    const app = checkedApp(opts.app);
    return new CloudbaseModelStore(() => app, opts.models);
  }
  return new CloudbaseModelStore(appFactory(opts), opts.models);
}
