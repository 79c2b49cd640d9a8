/**
 * `app.models.<model>.<op>` of `@cloudbase/node-sdk`, with an API key or with the function role's credentials, as a
 * small `node:https` client that sends the same requests the SDK sends (weda.md §4.1).
 *
 * Why not the SDK itself: a function's first models call paid ~215–230 ms just to load `@cloudbase/node-sdk`
 * (its entry requires axios, jsonwebtoken, xml2js, its database, storage and ai clients and the 210 KB
 * wx-cloud-client-sdk bundle, eagerly), and +403 ms in all for reconcile's first call against +21–30 ms for
 * everything else a function loads (bench/function-cold-start.ts, bench/README.md). Every payer whose callback
 * lands on a new instance pays it. This client loads `node:https` only (the role's TC3 signature: tc3Authorization).
 * The SDK stays a dependency: the store falls back to it when neither credential is there (cloudbase-store.ts), and
 * this client reports its version as the SDK does.
 *
 * What the SDK does, and so this client does (node-sdk 3.18.3 `src/cloudbase.ts` init → wx-cloud-client-sdk
 * 1.7.1 `generateHTTPClientByDataSourceName` → node-sdk `src/utils/tcbopenapicommonrequester.ts`
 * `TcbOpenApiHttpCommonRequester.buildHeaders/makeReqOpts` → `src/utils/request-core.ts` `request`):
 * - URL `https://{serviceUrl ?? <env>.api.tcloudbasegateway.com (…api.intl… outside the China regions)}/v1/model/
 *   {pre|prod}/{model}/{op}`; `update`/`updateMany` PUT, the other ops POST; `get`/`list` get the default
 *   `filter: { where: {} }, select: { $master: true }` under the caller's params; the body is the params as JSON,
 *   `envType` included;
 * - headers Content-Type, User-Agent and X-SDK-Version `tcb-node-sdk/<version>`, X-TCB-Source
 *   `<TCB_SOURCE>,<run env tag>`, X-Client-Timestamp, Host, X-TCB-Tracelog / X-TCB-Region when set,
 *   Authorization (see createModelsClient), content-length;
 * - the answer is read as JSON whatever its status; `{ code, message, requestId }` with a code is the server's
 *   refusal, anything else is the answer (`get` unwraps `data.record`); an empty body, a body that is not JSON or
 *   a status line that never comes fail the call the way the SDK fails it (same error codes and messages, so
 *   `fromSdkError` in cloudbase-store.ts maps both alike);
 * - timeouts: `timeout` per request (default 15000 ms) → `ETIMEDOUT` "connect timeout" before the connection,
 *   `ESOCKETTIMEDOUT` "request timeout" after; keep-alive as the SDK's: on outside cloud functions unless
 *   `keepalive: false` (then Node's global agent).
 * One departure, on purpose: with the role's credentials the SDK asks for a token before every models request; this
 * client reuses one while its documented lifetime lasts (createModelsClient says why and how, with the numbers).
 * Not reproduced: the SDK's metadata.tencentyun.com probe (it only picks the run env tag "tencentcloud" vs
 * "unknown" for X-TCB-Source; `TENCENTCLOUD=true` says "tencentcloud" in both), its slow-request debug logs, its
 * `retries` option (the store never sets it), and its unhandled rejection when the role's credentials vanish
 * between calls (here that call fails, in the SDK's words).
 * test/store-cloudbase-client-equivalence.test.ts sends the same calls through both to the loopback emulator and
 * asserts identical requests, answers and errors.
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';

/** The SDK's model operations and their HTTP methods (wx-cloud-client-sdk `HTTP_DATA_MODEL_METHODS`). */
const OP_METHODS: Record<string, 'POST' | 'PUT'> = {
  get: 'POST', list: 'POST', create: 'POST', createMany: 'POST', update: 'PUT', updateMany: 'PUT', upsert: 'POST', delete: 'POST', deleteMany: 'POST',
};
/** What `get` and `list` send when the caller does not say (wx-cloud-client-sdk `READ_DEFAULT_PARAMS`). */
const READ_DEFAULTS = { filter: { where: {} }, select: { $master: true } };
const DEFAULT_TIMEOUT_MS = 15000;
/** A cached role token is renewed this long before it expires (or at half its lifetime, if that is shorter). */
const TOKEN_RENEW_MARGIN_S = 300;
/** The gateway's refusals of a request's token (docs.cloudbase.net error codes ACCESS_TOKEN_EXPIRED, INVALID_ACCESS_TOKEN). */
const TOKEN_REFUSALS = new Set(['ACCESS_TOKEN_EXPIRED', 'INVALID_ACCESS_TOKEN']);

/** Whether an answer refuses the request for its token: HTTP 401, or a token refusal's code. */
function refusedForToken(status: number, answer: unknown): boolean {
  const code = (answer as { code?: unknown } | null | undefined)?.code;
  return status === 401 || (typeof code === 'string' && TOKEN_REFUSALS.has(code));
}
/** node-sdk `tcbopenapiendpoint.ts` ZONE_CHINA: other regions use the international gateway. */
const CHINA_REGIONS = ['ap-shanghai', 'ap-guangzhou', 'ap-shenzhen-fsi', 'ap-shanghai-fsi', 'ap-nanjing', 'ap-beijing', 'ap-chengdu', 'ap-chongqing', 'ap-hongkong'];

export interface ModelsClientOptions {
  env: string;
  /** host[:port] of the gateway (default `<env>.api.tcloudbasegateway.com`). */
  serviceUrl?: string;
  region?: string;
  /** An API key; without one, the function role's credentials from the environment (see createModelsClient). */
  accessKey?: string;
  timeoutMs?: number;
  keepalive?: boolean;
  /** Default process.env (TCB_SOURCE, TCB_TRACELOG, TENCENTCLOUD_REGION and the run environment are read from it). */
  processEnv?: NodeJS.ProcessEnv;
}

/** A server's refusal `{ code, message, requestId }`, or a failure wrapped the way wx-cloud-client-sdk wraps it. */
export class ModelsApiError extends Error {
  readonly code: unknown;
  readonly requestId: unknown;
  readonly originError: unknown;
  constructor(message: string, extra: { code?: unknown; requestId?: unknown; originError?: unknown } = {}) {
    super(message);
    // The name the SDK's errors carry: cloudbase-store.ts `fromSdkError` reads both alike.
    this.name = 'WxCloudSDKError';
    this.code = extra.code;
    this.requestId = extra.requestId;
    this.originError = extra.originError;
  }
}

export interface ModelsAnswer {
  data?: unknown;
  requestId?: string;
  [key: string]: unknown;
}
type ModelOp = (params?: Record<string, unknown>) => Promise<ModelsAnswer>;

/** The version node-sdk puts in its User-Agent (read from its package.json, as its `utils/version.ts` does). */
function sdkVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const file = require.resolve('@cloudbase/node-sdk/package.json');
    return String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknow'; // sic: the SDK's own fallback
  }
}

/** node-sdk `cloudplatform.ts` getCurrRunEnvTag, without the metadata probe. */
function runEnvTag(env: NodeJS.ProcessEnv): string {
  if (env.TENCENTCLOUD_RUNENV === 'SCF') return 'scf';
  if (env.CBR_ENV_ID) return 'cbr';
  if (env.SUMERU_ENV === 'formal' || env.SUMERU_ENV === 'pre' || env.SUMERU_ENV === 'test') return 'sumeru';
  if (env.TENCENTCLOUD === 'true') return 'tencentcloud';
  return 'unknown';
}

/**
 * A value of the function's context as node-sdk `tcbcontext.ts` getCloudbaseContext reads it: TCB_SOURCE and
 * TCB_TRACELOG count only when TCB_CONTEXT_KEYS or WX_CONTEXT_KEYS (comma lists, which CloudBase sets) name them.
 */
function contextValue(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const listed = [env.TCB_CONTEXT_KEYS, env.WX_CONTEXT_KEYS].some((keys) => typeof keys === 'string' && keys.split(',').includes(key));
  return listed ? env[key] : undefined;
}

function bearer(key: string): string {
  const trimmed = key.trim();
  return trimmed.startsWith('Bearer ') ? trimmed : `Bearer ${trimmed}`;
}

/** Reads the whole answer as JSON (undefined when empty), whatever the status, as node-sdk `request-core.ts` onResponse. */
function readJson(res: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const buf = Buffer.concat(chunks);
      if (buf.byteLength === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(buf.toString()));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** The function role's temporary credentials, read on every request as node-sdk reads them (tcbapirequester.ts getCredentialsOnDemand). */
export function roleCredentials(env: NodeJS.ProcessEnv): { secretId: string; secretKey: string; sessionToken?: string } | undefined {
  const { TENCENTCLOUD_SECRETID: secretId, TENCENTCLOUD_SECRETKEY: secretKey, TENCENTCLOUD_SESSIONTOKEN: sessionToken } = env;
  return secretId && secretKey ? { secretId, secretKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/**
 * TC3-HMAC-SHA256 as node-sdk signs its requests to the gateway (@cloudbase/signature-nodejs 2.2.0 `sign` with
 * `isCloudApi: true`, service `tcb`, `Signer.tc3sign`): every header signed, names lower-cased and values trimmed
 * and lower-cased (Content-Type's value as is), sorted by name; the payload is the params as JSON; the path
 * without the query. Written here rather than loading that library: its SortedKeyValue sorts the header names with
 * `localeCompare`, whose first call builds an ICU collator: loading it and signing once took ~11 ms in a fresh
 * process, 7.5 of them in that first sort (`node --cpu-prof`), against ~4 ms here with this module and node:https
 * loaded — a fifth of the 50 ms cold-start budget, on every instance's first models call (bench/README.md). The
 * names signed here are the SDK's fixed header set (lower-case letters and '-'), for which code-unit order is the
 * collator's order; test/store-cloudbase-client-equivalence.test.ts checks the signatures equal the SDK's, byte for
 * byte.
 */
export function tc3Authorization(o: {
  secretId: string; secretKey: string; method: string; url: string; params: unknown; headers: Record<string, string | number>; timestamp: number;
}): string {
  const canonical = new Map<string, string>();
  for (const [name, value] of Object.entries(o.headers)) {
    const key = name.toLowerCase().trim();
    // Where code-unit order and the SDK's localeCompare could differ, refuse rather than sign differently.
    if (!/^[a-z-]+$/.test(key)) throw new Error(`tc3Authorization: header name ${JSON.stringify(name)} is not one the SDK signs`);
    canonical.set(key, key === 'content-type' ? String(value) : String(value).trim().toLowerCase());
  }
  const names = [...canonical.keys()].sort();
  const signedHeaders = names.join(';');
  const url = new URL(o.url);
  const canonicalRequest = [
    o.method, url.pathname, url.search.replace(/^\?/, ''), `${names.map((n) => `${n}:${canonical.get(n)}`).join('\n')}\n`, signedHeaders,
    sha256(o.params === '' ? '' : JSON.stringify(o.params)),
  ].join('\n');
  const date = new Date(o.timestamp * 1000).toISOString().slice(0, 10);
  const scope = `${date}/tcb/tc3_request`;
  const stringToSign = `TC3-HMAC-SHA256\n${o.timestamp}\n${scope}\n${sha256(canonicalRequest)}`;
  const signing = hmac(hmac(hmac(`TC3${o.secretKey}`, date), 'tcb'), 'tc3_request');
  const signature = createHmac('sha256', signing).update(stringToSign).digest('hex');
  return `TC3-HMAC-SHA256 Credential=${o.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/**
 * The models client: `client.models[model][op](params)` answers `{ data, requestId }` or throws a ModelsApiError,
 * as `app.models` of a node-sdk app does.
 *
 * Credentials, as node-sdk (`auth/index.ts` getClientCredential, `tcbopenapicommonrequester.ts` buildHeaders):
 * - `accessKey`: every request carries `Authorization: Bearer <accessKey>`;
 * - none: the function role's TENCENTCLOUD_SECRETID / SECRETKEY / SESSIONTOKEN. Before every models request the SDK
 *   asks `POST https://<env>.api.tcloudbasegateway.com/auth/v1/token/clientCredential` (the gateway of the env and
 *   region, never serviceUrl) with `{"grant_type":"client_credentials"}`, signed TC3-HMAC-SHA256 (service `tcb`,
 *   every header signed, `Authorization: <TC3 …>, Timestamp=<s>, Token=<session token>`), and sends the models
 *   request with `Bearer <access_token>` of its answer — or, when the answer has none, signed the same way. This
 *   client sends the same token request, byte for byte, but only when it holds no live token for the same
 *   credentials (the token cache below); a request whose reused token is refused is sent once more with a new one.
 */
export function createModelsClient(opts: ModelsClientOptions): { models: Record<string, Record<string, ModelOp>> } {
  const env = opts.processEnv ?? process.env;
  const region = opts.region;
  const gateway = CHINA_REGIONS.includes(region || 'ap-shanghai') ? `${opts.env}.api.tcloudbasegateway.com` : `${opts.env}.api.intl.tcloudbasegateway.com`;
  const base = `https://${opts.serviceUrl ?? gateway}/v1/model`;
  const tokenUrl = `https://${gateway}/auth/v1/token/clientCredential`;
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // node-sdk: keep-alive by default outside cloud functions; its agentkeepalive settings, in Node's own agent.
  const keepalive = opts.keepalive ?? env.TENCENTCLOUD_RUNENV !== 'SCF';
  const agent = keepalive ? new https.Agent({ keepAlive: true, keepAliveMsecs: 3000, maxSockets: 100, maxFreeSockets: 10, timeout: 4800 }) : https.globalAgent;
  const version = sdkVersion();
  const sdkName = `tcb-node-sdk/${version}`;
  const accessKey = opts.accessKey;

  /** The SDK's headers in its order, `Authorization` from `auth` (given the URL, the params and the headers so far). */
  function headersFor(url: string, contentType: Record<string, string>, auth: (headers: Record<string, string | number>) => string): Record<string, string | number> {
    const headers: Record<string, string | number> = {
      ...contentType,
      'User-Agent': sdkName,
      'X-TCB-Source': `${contextValue(env, 'TCB_SOURCE') || ''},${runEnvTag(env)}`,
      'X-Client-Timestamp': Date.now(),
      'X-SDK-Version': sdkName,
      Host: new URL(url).host,
    };
    const trace = contextValue(env, 'TCB_TRACELOG');
    if (trace) headers['X-TCB-Tracelog'] = trace;
    const tcbRegion = region || env.TENCENTCLOUD_REGION || '';
    if (tcbRegion) headers['X-TCB-Region'] = tcbRegion;
    headers.Authorization = auth(headers);
    return headers;
  }

  /** `Authorization` signed with the role's credentials (node-sdk buildHeaders: TC3, then Timestamp and Token). */
  function roleAuthorization(method: string, url: string, params: unknown, headers: Record<string, string | number>): string {
    const creds = roleCredentials(env);
    if (!creds) throw new Error('missing secretId or secretKey of tencent cloud, please set secretId and secretKey in config');
    const timestamp = Math.floor(Date.now() / 1000) - 1;
    const authorization = tc3Authorization({ secretId: creds.secretId, secretKey: creds.secretKey, method, url, params, headers, timestamp });
    return creds.sessionToken ? `${authorization}, Timestamp=${timestamp}, Token=${creds.sessionToken}` : `${authorization}, Timestamp=${timestamp}`;
  }

  /** Sends one request; its status and its body read as JSON. */
  function send(method: 'POST' | 'PUT', url: string, body: string, headers: Record<string, string | number>): Promise<{ status: number; answer: unknown }> {
    headers['content-length'] = Buffer.byteLength(body, 'utf8');
    return new Promise((resolve, reject) => {
      let connected = false;
      const req = https.request(url, { method, headers, agent, timeout }, (res) => {
        readJson(res).then((answer) => resolve({ status: res.statusCode ?? 0, answer }), reject);
      });
      req.once('socket', (socket) => {
        if (req.reusedSocket) connected = true;
        else socket.once('connect', () => { connected = true; });
      });
      req.on('timeout', () => {
        // node-sdk request-core.ts onTimeout: the codes of the `request` library.
        const err = Object.assign(new Error(connected ? 'request timeout' : 'connect timeout'), { code: connected ? 'ESOCKETTIMEDOUT' : 'ETIMEDOUT' });
        reject(err);
        req.destroy(err);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Asks the gateway for the role's access token (node-sdk getClientCredential); its answer as it came. */
  async function requestToken(): Promise<{ access_token?: unknown; expires_in?: unknown }> {
    const data = { grant_type: 'client_credentials' };
    const headers = headersFor(tokenUrl, { 'content-type': 'application/json' }, (h) => roleAuthorization('POST', tokenUrl, data, h));
    const { answer } = await send('POST', tokenUrl, JSON.stringify(data), headers);
    if (answer === undefined || answer === null) throw new TypeError(`Cannot read properties of ${String(answer)} (reading 'access_token')`);
    return answer as { access_token?: unknown; expires_in?: unknown };
  }

  /**
   * The token cache — where this client departs from node-sdk, which asks for a token before every models request.
   * CloudBase documents the answer as `{ token_type: "Bearer", access_token, expires_in }` (seconds; 432000, five
   * days) and asks clients to cache it for that long rather than call the exchange often, which it may rate-limit
   * (docs.cloudbase.net/http-api/auth/auth-client-credential). Asking every time cost a cold function one HTTPS round
   * trip per models request: reconcile's first call (three lists) measured +61–65 ms (CPU +58–60) over bare node
   * against the 50 ms goal, with three exchanges; with this cache one, and 4–10 ms less wall clock on loopback
   * (bench/function-cold-start.ts, bench/README.md) — deployed, each exchange saved is a real round trip to the
   * gateway. So: one token per client instance, reused
   * while it has more than TOKEN_RENEW_MARGIN_S left, and only when the answer says how long it lives (without
   * `expires_in` each request asks again, as node-sdk); keyed on the role's SECRETID and SESSIONTOKEN, which
   * CloudBase rotates, so new credentials never ride on an old token. Concurrent requests share one exchange.
   */
  let cached: { key: string; pending: Promise<Token>; token?: Token } | undefined;
  type Token = { value: unknown; expiresAt?: number };

  /** The role's access token for one models request (undefined when the answer has none) and whether it was reused. */
  async function accessToken(): Promise<{ value: unknown; reused: boolean }> {
    const creds = roleCredentials(env);
    const key = creds ? `${creds.secretId}\n${creds.sessionToken ?? ''}` : '';
    const hit = cached?.key === key ? cached : undefined;
    if (hit) {
      const token = hit.token ?? (await hit.pending.catch(() => undefined));
      if (token?.expiresAt !== undefined && Date.now() < token.expiresAt) return { value: token.value, reused: true };
      if (cached === hit) cached = undefined;
    }
    const entry: NonNullable<typeof cached> = {
      key,
      pending: requestToken().then((answer) => {
        const lifetime = answer.expires_in;
        const cacheable = answer.access_token && typeof lifetime === 'number' && Number.isFinite(lifetime) && lifetime > 0;
        return { value: answer.access_token, ...(cacheable ? { expiresAt: Date.now() + (lifetime - Math.min(TOKEN_RENEW_MARGIN_S, lifetime / 2)) * 1000 } : {}) };
      }),
    };
    cached = entry;
    try {
      const token = await entry.pending;
      if (token.expiresAt === undefined) {
        if (cached === entry) cached = undefined;
      } else entry.token = token;
      return { value: token.value, reused: false };
    } catch (e) {
      if (cached === entry) cached = undefined;
      throw e;
    }
  }

  /** Drops the cached token if it is `value` (a request made with it was refused for its token). */
  function forgetToken(value: unknown): void {
    if (cached?.token?.value === value) cached = undefined;
  }

  function op(model: string, name: string): ModelOp {
    const method = OP_METHODS[name]!;
    return async (params = {}) => {
      const effective: Record<string, unknown> = { ...(name === 'get' || name === 'list' ? READ_DEFAULTS : {}), ...params };
      const envType = effective.envType === 'pre' ? 'pre' : 'prod';
      const url = `${base}/${envType}/${model}/${name}`;
      try {
        const body = JSON.stringify(effective);
        const attempt = async (): Promise<{ status: number; answer: unknown; reused: boolean; token: unknown }> => {
          const { value: token, reused } = accessKey ? { value: undefined, reused: false } : await accessToken();
          const auth = (h: Record<string, string | number>): string => (token ? bearer(String(token)) : accessKey ? bearer(accessKey) : roleAuthorization(method, url, JSON.parse(body), h));
          return { ...(await send(method, url, body, headersFor(url, { 'Content-Type': 'application/json' }, auth))), reused, token };
        };
        let sent = await attempt();
        if (sent.reused && refusedForToken(sent.status, sent.answer)) {
          // A reused token refused (expired early, revoked): the gateway refused the request before running it, so
          // sending it once more with a fresh token is safe, writes included. Nothing else is ever sent twice.
          forgetToken(sent.token);
          sent = await attempt();
        }
        const result = sent.answer as ModelsAnswer | undefined;
        if (result === undefined || result === null) {
          // The SDK reads `result.code` of an empty answer and fails with this TypeError.
          throw new TypeError(`Cannot read properties of ${String(result)} (reading 'code')`);
        }
        if (result.code) {
          throw new ModelsApiError(`【错误】${String(result.message)}\n【操作】调用 models.${model}.${name}\n【错误码】${String(result.code)}\n【请求ID】${String(result.requestId)}`, {
            code: result.code, requestId: result.requestId,
          });
        }
        if (name === 'get') {
          const data = result.data as { record?: unknown } | null | undefined;
          if (data === undefined || data === null) throw new TypeError(`Cannot read properties of ${String(data)} (reading 'record')`);
          result.data = data.record ?? data;
        }
        return result;
      } catch (e) {
        throw new ModelsApiError((e as Error)?.message || 'Unknown error occurred', { originError: e });
      }
    };
  }

  const models = new Proxy({} as Record<string, Record<string, ModelOp>>, {
    get: (_t, model) => (typeof model === 'string'
      ? new Proxy({} as Record<string, ModelOp>, { get: (_u, name) => (typeof name === 'string' && Object.hasOwn(OP_METHODS, name) ? op(model, name) : undefined) })
      : undefined),
  });
  return { models };
}
