/** Test helpers for the sandbox tests: a signing v3 client, a notification receiver, temp dirs, polling. */
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildAuthorization, NotificationEnvelope, parseNotification, RequestSigner, WechatpayVerifier } from '../../wxpay';
import { RunningSandbox, SandboxOptions, SandboxReadyInfo, startSandbox } from '../../sandbox';
import { listenOnLoopback } from './loopback';

export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A sandbox on a fresh data directory for the suite: started before its tests, closed and removed after them. */
export function withSandbox(opts: Omit<SandboxOptions, 'dataDir'>, use: (sandbox: RunningSandbox) => void): void {
  let data: ReturnType<typeof tempDataDir> | undefined;
  let sandbox: RunningSandbox | undefined;
  beforeAll(async () => {
    data = tempDataDir();
    sandbox = await startSandbox({ ...opts, dataDir: data.dir });
    use(sandbox);
  });
  afterAll(async () => {
    await sandbox?.close();
    data?.remove();
  });
}

export function merchantSigner(info: SandboxReadyInfo): RequestSigner {
  return { mchid: info.merchant.mchid, serialNo: info.merchant.serialNo, privateKey: readFileSync(info.merchant.privateKeyPath, 'utf8') };
}

/** A verifier holding the platform key from the ready line, under the public key id and/or the certificate serial. */
export function platformVerifier(info: SandboxReadyInfo, by: 'publicKeyId' | 'certSerial' | 'both' = 'both'): WechatpayVerifier {
  const keys: Record<string, string> = {};
  if (by !== 'certSerial') keys[info.platform.publicKeyId] = readFileSync(info.platform.publicKeyPath, 'utf8');
  if (by !== 'publicKeyId') keys[info.platform.certSerial] = readFileSync(info.platform.certPath, 'utf8');
  return new WechatpayVerifier({ keys });
}

export interface V3Response {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: any;
}

export interface V3RequestOptions {
  /** Defaults to the sandbox merchant's own key. */
  signer?: RequestSigner;
  /** Unix seconds put into the Authorization header. */
  timestamp?: number;
  /** Body actually sent, when it should differ from the signed one (tampering). */
  sentBody?: string;
  /** Replaces the Authorization header (undefined value = omit it). */
  authorization?: string | null;
  headers?: Record<string, string>;
}

/** Sends a v3 request signed as a WeChat Pay SDK would (wxpay `buildAuthorization`). */
export async function v3Request(info: SandboxReadyInfo, method: string, url: string, body?: unknown, opts: V3RequestOptions = {}): Promise<V3Response> {
  const signedBody = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const authorization = opts.authorization === undefined
    ? buildAuthorization(opts.signer ?? merchantSigner(info), { method, url, body: signedBody, ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}) })
    : opts.authorization;
  const sent = opts.sentBody ?? signedBody;
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (authorization !== null) headers.Authorization = authorization;
  if (sent !== '') headers['Content-Type'] = 'application/json';
  const res = await fetch(info.baseUrl + url, { method, headers, ...(sent !== '' ? { body: sent } : {}) });
  const text = await res.text();
  return { status: res.status, headers: Object.fromEntries(res.headers), text, json: text ? JSON.parse(text) : undefined };
}

/** Calls an unsigned `/sandbox/*` control endpoint. */
export async function control(info: SandboxReadyInfo, method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(info.baseUrl + urlPath, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

export interface ReceivedNotification {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  answered: number;
}

/** A notify_url on 127.0.0.1:0 answering with the status `answer(n)` gives its n-th request (0-based). */
export async function startReceiver(answer: (n: number) => number = () => 200): Promise<{ url: string; received: ReceivedNotification[]; close: () => Promise<void> }> {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(received.length);
      received.push({ headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8'), answered: status });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(status === 200 || status === 204 ? '' : JSON.stringify({ code: 'FAIL', message: '失败' }));
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}/wxpay/notify`, received, close };
}

/** Polls `probe` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 3000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let seq = 0;
/** A fresh valid out_trade_no per call. */
export function newOutTradeNo(prefix = 'T'): string {
  seq += 1;
  return `${prefix}${Date.now()}${seq}`.slice(0, 32);
}

/** A valid JSAPI prepay body for the sandbox merchant. */
export function prepayBody(info: SandboxReadyInfo, outTradeNo: string, notifyUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    appid: info.merchant.appid,
    mchid: info.merchant.mchid,
    description: 'Image形象店-深圳腾大-QQ公仔',
    out_trade_no: outTradeNo,
    notify_url: notifyUrl,
    amount: { total: 100, currency: 'CNY' },
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    ...overrides,
  };
}

/** Creates an order and pays it through the control API; returns the paid Transaction object. */
export async function paidOrder(info: SandboxReadyInfo, notifyUrl: string, overrides: Record<string, unknown> = {}, prefix = 'P'): Promise<any> {
  const outTradeNo = newOutTradeNo(prefix);
  const created = await v3Request(info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(info, outTradeNo, notifyUrl, overrides));
  if (created.status !== 200) throw new Error(`prepay failed: ${created.status} ${created.text}`);
  const paid = await control(info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
  if (paid.status !== 200) throw new Error(`pay failed: ${paid.status} ${JSON.stringify(paid.json)}`);
  return paid.json;
}

let refundSeq = 0;
/** A fresh valid out_refund_no per call. */
export function newOutRefundNo(prefix = 'R'): string {
  refundSeq += 1;
  return `${prefix}${Date.now()}${refundSeq}`;
}

/** POST /v3/refund/domestic/refunds, signed. */
export function refund(info: SandboxReadyInfo, body: Record<string, unknown>): Promise<V3Response> {
  return v3Request(info, 'POST', '/v3/refund/domestic/refunds', body);
}

/** A refund body for a paid order (by out_trade_no), amounts in fen. */
export function refundBody(order: { out_trade_no: string; amount: { total: number } }, refundFen: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { out_trade_no: order.out_trade_no, out_refund_no: newOutRefundNo(), amount: { refund: refundFen, total: order.amount.total, currency: 'CNY' }, ...overrides };
}

/** Verifies (platform key, by the serial it names) and decrypts a received notification, as a merchant must. */
export function openNotification(info: SandboxReadyInfo, n: ReceivedNotification): { envelope: NotificationEnvelope; resource: Record<string, any> } {
  return parseNotification<Record<string, any>>({ headers: n.headers, rawBody: n.rawBody, verifier: platformVerifier(info), apiV3Key: info.merchant.apiV3Key });
}

/** The delivery log entries of the sandbox, filtered by query string (e.g. "out_refund_no=…"). */
export async function notificationLog(info: SandboxReadyInfo, query = ''): Promise<any[]> {
  return (await control(info, 'GET', `/sandbox/notifications${query ? `?${query}` : ''}`)).json.notifications;
}

/** Advances the sandbox clock. */
export async function advance(info: SandboxReadyInfo, seconds: number): Promise<string> {
  const r = await control(info, 'POST', '/sandbox/clock/advance', { seconds });
  if (r.status !== 200) throw new Error(`advance failed: ${JSON.stringify(r.json)}`);
  return r.json.now;
}

export interface VerifiedNotification extends ReceivedNotification {
  /** Whether the signature verified and the resource decrypted. */
  ok: boolean;
  eventId?: string;
  eventType?: string;
  resource?: Record<string, any>;
}

/**
 * A notify_url that behaves like a correct merchant: verifies the signature with the platform keys (both ids) and
 * decrypts the resource; answers 200 when both succeed, 401 otherwise (wxpay-v3.md §3 probes, §4).
 */
export async function startVerifyingReceiver(info: SandboxReadyInfo): Promise<{ url: string; received: VerifiedNotification[]; close: () => Promise<void> }> {
  const received: VerifiedNotification[] = [];
  const verifier = platformVerifier(info);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let entry: VerifiedNotification;
      try {
        const { envelope, resource } = parseNotification<Record<string, any>>({ headers: req.headers, rawBody, verifier, apiV3Key: info.merchant.apiV3Key });
        entry = { headers: req.headers, rawBody, answered: 200, ok: true, eventId: envelope.id, eventType: envelope.event_type, resource };
      } catch {
        entry = { headers: req.headers, rawBody, answered: 401, ok: false };
      }
      received.push(entry);
      res.writeHead(entry.answered, { 'Content-Type': 'application/json' });
      res.end(entry.ok ? '' : JSON.stringify({ code: 'FAIL', message: '签名验证失败' }));
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}/wxpay/notify`, received, close };
}
