import { IncomingMessage, ServerResponse } from 'node:http';
import { SandboxError } from '../errors';
import { decodeUtf8, isLoopback, readBody } from '../http-util';
import { Router, splitUrl } from '../router';
import { FaultStore } from '../faults';
import { CloudPayBackend, v3Equivalent } from './api';
import { toCamelCase, toSnakeCase } from './case';
import { CloudFunctionDeliverer } from './deliverer';
import { CloudPaySettings, CloudPayStore, DeliveryStatus } from './store';
import { deliveryView } from './view';
import { PROVIDER_APPID, PROVIDER_MCHID } from './format';
import { SandboxClock } from '../clock';

export interface CloudPayHttpDeps {
  backend: CloudPayBackend;
  store: CloudPayStore;
  deliverer: CloudFunctionDeliverer;
  clock: SandboxClock;
  mchid: string;
  appid: string;
  v2Key: string;
  faults: FaultStore;
  settings: () => CloudPaySettings;
  saveSettings: (s: CloudPaySettings) => void;
  log: (line: string) => void;
}

/** Runs the rest of the sandbox's own handling for this request, writing to `res`. */
export type Next = (res: ServerResponse) => Promise<void>;

interface Answer {
  status: number;
  body: unknown;
}

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];
const DELIVERY_ID = /^cloudpay-/;

/**
 * The CloudPay HTTP surface on the sandbox (loopback only, unsigned — CloudPay's own transport has no signing):
 * - `POST /cloudpay/{apiName}`: CloudPay params (camelCase or snake_case) → the result exactly as wx-server-sdk's
 *   `cloud.cloudPay[apiName]` resolves it (HTTP 200, business failures included), or a platform error that the SDK
 *   would throw (HTTP 4xx/5xx `{errCode, errMsg}`).
 * - `/sandbox/cloudpay/…`: the function registry, settings, and the cloud-function delivery log.
 * - `GET /sandbox/notifications` and `POST /sandbox/notifications/{id}/resend` are shared with the v3 log: the
 *   v3 entries come from the sandbox's own handler, the cloud-function deliveries are merged in (`kind`).
 */
export class CloudPayHttp {
  private readonly router = new Router<undefined>();

  constructor(private readonly d: CloudPayHttpDeps) {
    this.routes();
  }

  /** Whether this request is (also) CloudPay's to answer. */
  handles(method: string, url: string): boolean {
    const { path } = splitUrl(url);
    return path.startsWith('/cloudpay/') || path === '/sandbox/cloudpay' || path.startsWith('/sandbox/cloudpay/')
      || (method === 'GET' && path === '/sandbox/notifications')
      || /^\/sandbox\/notifications\/cloudpay-[^/]+(\/resend)?$/.test(path);
  }

  async handle(req: IncomingMessage, res: ServerResponse, next: Next): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const { path, query } = splitUrl(url);
    let answer: Answer;
    try {
      if (!isLoopback(req.socket.remoteAddress)) throw new SandboxError(403, 'NO_AUTH', 'the CloudPay emulation answers loopback clients only');
      if (method === 'GET' && path === '/sandbox/notifications') return await this.mergedNotifications(res, next, query);
      const body = decodeUtf8(await readBody(req));
      if (path.startsWith('/cloudpay/')) {
        answer = await this.api(method, decodeURIComponent(path.slice('/cloudpay/'.length)), body, req.headers['x-wx-openid']);
      } else {
        const route = this.router.match(method, path);
        if (!route) throw new SandboxError(404, 'NOT_FOUND', `no such CloudPay endpoint: ${method} ${path}`);
        const r = await route.handler({ method, url, path, query, params: route.params, body }, undefined);
        answer = { status: r.status, body: r.body };
      }
    } catch (err) {
      if (!(err instanceof SandboxError)) this.d.log(`cloudpay: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      const e = err instanceof SandboxError ? err : new SandboxError(500, 'SYSTEM_ERROR', err instanceof Error ? err.message : String(err));
      answer = { status: e.status, body: path.startsWith('/cloudpay/') ? platformError(e.code, e.message) : e.body() };
    }
    send(res, answer);
  }

  /** One `cloud.cloudPay.<api>(params)` call, reshaped by the SDK's rules (wxpay-v2-cloudpay.md §5.1). */
  private async api(method: string, api: string, bodyText: string, openidHeader: string | string[] | undefined): Promise<Answer> {
    if (method !== 'POST') return { status: 405, body: platformError('INVALID_METHOD', 'CloudPay APIs are called with POST') };
    let params: unknown;
    try {
      params = bodyText.trim() === '' ? {} : JSON.parse(bodyText);
    } catch (err) {
      return { status: 400, body: platformError('INVALID_PARAM', `request data is not JSON: ${(err as Error).message}`) };
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) return { status: 400, body: platformError('INVALID_PARAM', 'request data must be a JSON object') };
    const openid = Array.isArray(openidHeader) ? openidHeader[0] : openidHeader;
    const snake = toSnakeCase<Record<string, unknown>>(params);
    const raw = this.d.backend.call(api, snake, { ...(openid ? { openid } : {}), fault: await this.fault(api, snake) });
    if (!raw) return { status: 404, body: platformError('INVALID_API', `cloudPay.${api} is not an API the sandbox emulates (unifiedOrder, queryOrder, closeOrder, refund, queryRefund, downloadBill)`) };
    this.d.log(`cloudpay ${api} → ${raw.kind === 'bill' ? 'bill' : `${String(raw.body.return_code)}/${String(raw.body.result_code ?? '-')}${raw.body.err_code ? ` ${String(raw.body.err_code)}` : ''}`}`);
    const errMsg = `cloudPay.${api}:ok`;
    // A non-JSON reply (a bill) becomes {data}; JSON is camelCased, then errCode/errMsg overwrite (clobber) its own.
    const result = raw.kind === 'bill' ? { data: raw.data } : toCamelCase<Record<string, unknown>>(raw.body);
    return { status: 200, body: { ...result, errCode: 0, errMsg } };
  }

  /**
   * API faults (`POST /sandbox/faults`) reach CloudPay too: CloudPay rides on the same WeChat Pay, so a fault whose
   * path prefix matches the v3 path of the same operation (unifiedOrder ↔ POST /v3/pay/transactions/jsapi, refund ↔
   * POST /v3/refund/domestic/refunds, …) is consumed here. LATENCY delays the answer; SYSTEM_ERROR,
   * FREQUENCY_LIMITED and NOT_ENOUGH become the v2 failures SYSTEMERROR, FREQUENCY_LIMITED and NOTENOUGH.
   */
  private async fault(api: string, params: Record<string, unknown>): Promise<'SYSTEM_ERROR' | 'FREQUENCY_LIMITED' | 'NOT_ENOUGH' | undefined> {
    const faults = this.d.faults;
    if (faults.empty()) return undefined;
    const v3 = v3Equivalent(api, params);
    if (!v3) return undefined;
    const latency = faults.takeHttp(['LATENCY'], v3.method, v3.path);
    if (latency?.ms) await new Promise((r) => setTimeout(r, latency.ms!));
    const f = faults.takeHttp(['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'NOT_ENOUGH'], v3.method, v3.path);
    return f ? (f.kind as 'SYSTEM_ERROR' | 'FREQUENCY_LIMITED' | 'NOT_ENOUGH') : undefined;
  }

  private routes(): void {
    const r = this.router;
    const d = this.d;
    r.add('GET', '/sandbox/cloudpay', () => ({
      status: 200,
      body: {
        subMchId: d.mchid,
        subAppid: d.appid,
        provider: { appid: PROVIDER_APPID, mchId: PROVIDER_MCHID },
        v2Key: d.v2Key,
        settings: d.settings(),
        functions: d.store.listFunctions().map(functionView),
        apis: `POST /cloudpay/{unifiedOrder|queryOrder|closeOrder|refund|queryRefund|downloadBill}`,
      },
    }));
    // The cloud-function registry: invoking (envId, functionName) = POSTing the event to url.
    r.add('POST', '/sandbox/cloudpay/functions', (req) => {
      const b = jsonObject(req.body);
      const envId = b.envId ?? b.env_id;
      const functionName = b.functionName ?? b.function_name;
      const url = b.url;
      if (typeof envId !== 'string' || envId === '') throw bad('envId', 'is required');
      if (typeof functionName !== 'string' || functionName === '') throw bad('functionName', 'is required');
      if (typeof url !== 'string' || !isHttpUrl(url)) throw bad('url', 'must be an absolute http:// URL');
      d.store.registerFunction(envId, functionName, url, d.clock.now());
      d.deliverer.kick(); // deliveries waiting for this function still wait for their retry time
      return { status: 200, body: functionView(d.store.findFunction(envId, functionName)!) };
    });
    r.add('GET', '/sandbox/cloudpay/functions', () => ({ status: 200, body: { functions: d.store.listFunctions().map(functionView) } }));
    r.add('DELETE', '/sandbox/cloudpay/functions/:env_id/:function_name', (req) => {
      if (!d.store.deleteFunction(req.params.env_id!, req.params.function_name!)) throw new SandboxError(404, 'NOT_FOUND', `no function ${req.params.function_name} in env ${req.params.env_id}`);
      return { status: 204 };
    });
    r.add('GET', '/sandbox/cloudpay/settings', () => ({ status: 200, body: d.settings() }));
    r.add('POST', '/sandbox/cloudpay/settings', (req) => {
      const b = jsonObject(req.body);
      const s = { ...d.settings() };
      if (b.earlyClose !== undefined) {
        if (b.earlyClose !== 'accept' && b.earlyClose !== 'SYSTEMERROR') throw bad('earlyClose', 'must be "accept" or "SYSTEMERROR"');
        s.earlyClose = b.earlyClose;
      }
      if (b.emptyRefundLists !== undefined) {
        if (typeof b.emptyRefundLists !== 'boolean') throw bad('emptyRefundLists', 'must be a boolean');
        s.emptyRefundLists = b.emptyRefundLists;
      }
      d.saveSettings(s);
      return { status: 200, body: s };
    });
    r.add('GET', '/sandbox/cloudpay/notifications', (req) => ({ status: 200, body: { now: d.clock.nowRfc3339(), notifications: this.deliveries(req.query) } }));
    const resend = (id: string): { status: number; body: unknown } => {
      if (!DELIVERY_ID.test(id) || !d.store.resend(id, d.clock.now())) throw new SandboxError(404, 'NOT_FOUND', `no notification ${id}`);
      d.deliverer.kick();
      return { status: 200, body: deliveryView(d.store.get(id)!, d.store.attempts(id)) };
    };
    r.add('POST', '/sandbox/cloudpay/notifications/:id/resend', (req) => resend(req.params.id!));
    r.add('POST', '/sandbox/notifications/:id/resend', (req) => resend(req.params.id!));
    r.add('GET', '/sandbox/notifications/:id', (req) => {
      const row = d.store.get(req.params.id!);
      if (!row) throw new SandboxError(404, 'NOT_FOUND', `no notification ${req.params.id}`);
      return { status: 200, body: deliveryView(row, d.store.attempts(row.id), true) };
    });
  }

  private deliveries(query: URLSearchParams): Record<string, unknown>[] {
    const status = query.get('status');
    if (status !== null && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
      throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status', location: 'query' });
    }
    const outTradeNo = query.get('out_trade_no');
    const full = query.get('full') === '1';
    return this.d.store.list({ ...(outTradeNo !== null ? { outTradeNo } : {}), ...(status !== null ? { status: status as DeliveryStatus } : {}) })
      .map((row) => deliveryView(row, this.d.store.attempts(row.id), full));
  }

  /**
   * `GET /sandbox/notifications`: the sandbox's own answer (v3 notifications), with the cloud-function deliveries
   * merged in by create_time and every entry marked with its `kind` ("v3" | "cloudpay"). Filters apply to both.
   */
  private async mergedNotifications(res: ServerResponse, next: Next, query: URLSearchParams): Promise<void> {
    const own = await capture(next);
    let merged: Answer | undefined;
    if (own.status === 200) {
      try {
        const body = JSON.parse(own.text) as { notifications?: unknown };
        if (Array.isArray(body.notifications)) {
          const v3: Record<string, unknown>[] = (body.notifications as Record<string, unknown>[]).map((n) => ({ kind: 'v3', ...n }));
          const all = [...v3, ...this.deliveries(query)];
          all.sort((a, b) => String(a.create_time ?? '').localeCompare(String(b.create_time ?? '')));
          merged = { status: 200, body: { ...body, notifications: all } };
        }
      } catch {
        // not the list we know: pass it through untouched
      }
    }
    if (merged) send(res, merged);
    else {
      res.writeHead(own.status, own.headers);
      res.end(own.text);
    }
  }
}

/** The error shape of a thrown CloudSDKError (`errCode`, `errMsg`), carried over HTTP to the client, which rejects. */
function platformError(code: string, message: string): Record<string, unknown> {
  return { errCode: -1, errMsg: `${code}: ${message}`, code, message };
}

function functionView(f: { env_id: string; function_name: string; url: string }): Record<string, unknown> {
  return { envId: f.env_id, functionName: f.function_name, url: f.url };
}

function send(res: ServerResponse, a: Answer): void {
  const text = a.body === undefined || a.status === 204 ? '' : JSON.stringify(a.body);
  res.writeHead(a.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), 'Cache-Control': 'no-store' });
  res.end(text);
}

function jsonObject(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw new SandboxError(400, 'PARAM_ERROR', `body is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SandboxError(400, 'PARAM_ERROR', 'body must be a JSON object');
  return v as Record<string, unknown>;
}

function bad(field: string, issue: string): SandboxError {
  return new SandboxError(400, 'PARAM_ERROR', `${field} ${issue}`, { field, issue });
}

function isHttpUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Runs `next` against a stand-in response and returns what it wrote. Only what the sandbox's JSON handlers use
 * (`writeHead`, `setHeader`, `end`) is provided.
 */
function capture(next: Next): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  return new Promise((resolve, reject) => {
    const out = { status: 200, headers: {} as Record<string, string>, text: '' };
    const stand = {
      headersSent: false,
      statusCode: 200,
      setHeader(name: string, value: string | number) { out.headers[name] = String(value); return stand; },
      writeHead(status: number, headers?: Record<string, string | number>) {
        out.status = status;
        for (const [k, v] of Object.entries(headers ?? {})) out.headers[k] = String(v);
        stand.headersSent = true;
        return stand;
      },
      write(chunk: string | Buffer) { out.text += chunk.toString(); return true; },
      end(chunk?: string | Buffer) {
        if (chunk !== undefined) out.text += chunk.toString();
        resolve(out);
        return stand;
      },
    };
    next(stand as unknown as ServerResponse).catch(reject);
  });
}
