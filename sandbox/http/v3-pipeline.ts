import { IncomingMessage, ServerResponse } from 'node:http';
import { KeyObject, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { signResponse } from '../../wxpay';
import type { Bills } from '../domain/bills';
import type { SandboxClock } from '../domain/clock';
import { SandboxError } from '../domain/errors';
import { HTTP_FAULT_ERRORS, PROBE_SIGNATURE_PREFIX } from '../domain/faults';
import type { Housekeeper } from '../domain/housekeeper';
import { newRequestId } from '../domain/ids';
import type { Payments } from '../domain/payments';
import type { Refunds } from '../domain/refunds';
import type { FaultStore } from '../state/faults';
import type { RequestLog } from '../state/request-log';
import { authenticate, MerchantIdentity, NonceCache } from './auth';
import { decodeUtf8, readBody } from './body';
import { RouteResponse, Router, splitUrl } from './router';
import { faultError, V3Context } from './v3-routes';

export interface V3PipelineDeps {
  router: Router<V3Context>;
  clock: SandboxClock;
  faults: FaultStore;
  payments: Payments;
  refunds: Refunds;
  bills: Bills;
  housekeeper: Housekeeper;
  merchant: MerchantIdentity;
  platform: { privateKey: KeyObject; certSerial: string; publicKeyId: string };
  /** Which key signs a response when the request's Wechatpay-Serial names none of ours (option `notificationSerial`). */
  defaultSerial: 'publicKey' | 'certificate';
  nonces: NonceCache;
  certificates: () => unknown;
  /** The sandbox's own base URL, for download_url when the request has no Host header. */
  baseUrl: () => string;
  requestLog: RequestLog;
  log: (line: string) => void;
}

/**
 * Serves one `/v3/*` request: read the raw body, authenticate (401 SIGN_ERROR, replays included), apply injected
 * HTTP faults (latency, a probe signature on the answer, an error answer instead of the handling), run the sandbox clock's due work, route, and
 * answer with a body signed by the platform key — errors and 204 included (wxpay-v3.md §8 items 1–2) — plus
 * `Request-ID`. The bill download is the one unsigned answer (§1.7). Every request is logged, before it is answered.
 */
export async function handleV3(req: IncomingMessage, res: ServerResponse, d: V3PipelineDeps): Promise<void> {
  const started = performance.now();
  const at = d.clock.now();
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  let bodyText = '';
  let result: RouteResponse;
  let internalCode = 0;
  let injected: string | undefined;
  let probe = false;
  try {
    bodyText = decodeUtf8(await readBody(req));
    const { path, query } = splitUrl(url);
    const { mchid } = authenticate({ method, url, authorization: req.headers.authorization, body: bodyText, query }, d.merchant, Date.now(), d.nonces);
    if (!d.faults.empty()) {
      const latency = d.faults.takeHttp(['LATENCY'], method, path);
      if (latency) {
        injected = `LATENCY ${latency.ms} ms`;
        await sleep(latency.ms ?? 0);
      }
      if (d.faults.takeHttp(['PROBE'], method, path)) {
        injected = injected ? `${injected}, PROBE` : 'PROBE';
        probe = true;
      }
      const fault = d.faults.takeHttp(['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'NOT_ENOUGH'], method, path);
      if (fault && fault.kind !== 'LATENCY' && fault.kind !== 'PROBE') {
        injected = injected ? `${injected}, ${fault.kind}` : fault.kind;
        const spec = HTTP_FAULT_ERRORS[fault.kind as keyof typeof HTTP_FAULT_ERRORS];
        throw faultError(fault.kind as keyof typeof HTTP_FAULT_ERRORS, spec.status, spec.message);
      }
    }
    d.housekeeper.maybeRun();
    const route = d.router.match(method, path);
    if (!route) throw new SandboxError(404, 'NOT_FOUND', `no such API: ${method} ${path}`, { field: 'url', location: 'url', issue: 'not a WeChat Pay v3 endpoint the sandbox implements' });
    const host = req.headers.host;
    const ctx: V3Context = { payments: d.payments, refunds: d.refunds, bills: d.bills, mchid, baseUrl: host ? `http://${host}` : d.baseUrl(), certificates: d.certificates };
    result = await route.handler({ method, url, path, query, params: route.params, body: bodyText, headers: req.headers }, ctx);
  } catch (err) {
    const e = err instanceof SandboxError ? err : systemError(err, d.log);
    result = { status: e.status, body: e.body() };
    internalCode = e.internalCode;
  }
  const requestId = newRequestId(internalCode);
  let responseText: string;
  let headers: Record<string, string>;
  let payload: string | Buffer | Readable;
  if (result.unsignedRaw) {
    const raw = result.unsignedRaw;
    responseText = Buffer.isBuffer(raw) ? `[${raw.length} bytes]` : `[${result.headers?.['Content-Length'] ?? 'streamed'} bytes]`;
    headers = { ...result.headers, 'Request-ID': requestId, ...(Buffer.isBuffer(raw) ? { 'Content-Length': String(raw.length) } : {}) };
    payload = raw;
  } else {
    responseText = result.body === undefined ? '' : JSON.stringify(result.body);
    const signature = signResponse({ privateKey: d.platform.privateKey, serial: responseSerial(req, d.platform, result.defaultSerial ?? d.defaultSerial), body: responseText });
    if (probe) signature['Wechatpay-Signature'] = `${PROBE_SIGNATURE_PREFIX}${randomBytes(48).toString('base64')}`;
    headers = {
      ...signature,
      'Request-ID': requestId,
      ...(responseText ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      'Content-Length': String(Buffer.byteLength(responseText)),
    };
    payload = responseText;
  }
  const code = result.status >= 400 && typeof result.body === 'object' && result.body !== null ? String((result.body as { code?: unknown }).code) : undefined;
  // Committed to the log before the answer leaves: a request its client saw answered is logged even if the process dies now.
  await d.requestLog.add({ requestId, method, url, status: result.status, ...(code ? { code } : {}), ...(injected ? { fault: injected } : {}), at, durationMs: Math.round(performance.now() - started), requestBody: bodyText, responseBody: responseText });
  res.writeHead(result.status, headers);
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    res.end(payload);
    return;
  }
  // A stream (a bill): a failure half-way cuts the answer short, which the client's SHA-1 check catches.
  await pipeline(payload, res).catch((err: unknown) => d.log(`v3: bill download cut short: ${(err as Error).message}`));
}

/**
 * `Wechatpay-Serial` of a response follows the request's `Wechatpay-Serial` when it names one of our keys
 * (certificate serial or public key id), else the configured default (wxpay-v3.md §3, migration behaviour).
 */
function responseSerial(req: IncomingMessage, p: { certSerial: string; publicKeyId: string }, fallback: 'publicKey' | 'certificate'): string {
  const asked = req.headers['wechatpay-serial'];
  const wanted = (Array.isArray(asked) ? asked[0] : asked)?.trim().toUpperCase();
  if (wanted === p.certSerial.toUpperCase()) return p.certSerial;
  if (wanted === p.publicKeyId.toUpperCase()) return p.publicKeyId;
  return fallback === 'certificate' ? p.certSerial : p.publicKeyId;
}

function systemError(err: unknown, log: (line: string) => void): SandboxError {
  log(`v3: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return new SandboxError(500, 'SYSTEM_ERROR', '系统异常，请用相同参数重新调用');
}
