import { IncomingMessage, ServerResponse } from 'node:http';
import { KeyObject } from 'node:crypto';
import { signResponse } from '../wxpay';
import { authenticate, MerchantIdentity } from './auth';
import { SandboxClock } from './clock';
import { SandboxError } from './errors';
import { decodeUtf8, readBody } from './http-util';
import { newRequestId } from './ids';
import { Payments } from './payments';
import { RequestLog } from './request-log';
import { RouteResponse, Router, splitUrl } from './router';
import { V3Context } from './v3-routes';

export interface V3PipelineDeps {
  router: Router<V3Context>;
  payments: Payments;
  merchant: MerchantIdentity;
  platform: { privateKey: KeyObject; certSerial: string; publicKeyId: string };
  clock: SandboxClock;
  requestLog: RequestLog;
  log: (line: string) => void;
}

/**
 * Serves one `/v3/*` request: read the raw body, authenticate (401 SIGN_ERROR), route, and answer with a body
 * signed by the platform key — errors and 204 included (wxpay-v3.md §8 items 1–2) — plus `Request-ID`.
 * Every request is logged. Fault injection (issue 4) hooks in between authentication and routing.
 */
export async function handleV3(req: IncomingMessage, res: ServerResponse, d: V3PipelineDeps): Promise<void> {
  const started = performance.now();
  const at = d.clock.now();
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  let bodyText = '';
  let result: RouteResponse;
  let internalCode = 0;
  try {
    bodyText = decodeUtf8(await readBody(req));
    const { path, query } = splitUrl(url);
    const { mchid } = authenticate({ method, url, authorization: req.headers.authorization, body: bodyText, query }, d.merchant, Date.now());
    const route = d.router.match(method, path);
    if (!route) throw new SandboxError(404, 'NOT_FOUND', `no such API: ${method} ${path}`, { field: 'url', location: 'url', issue: 'not a WeChat Pay v3 endpoint the sandbox implements' });
    result = await route.handler({ method, url, path, query, params: route.params, body: bodyText }, { payments: d.payments, mchid });
  } catch (err) {
    const e = err instanceof SandboxError ? err : systemError(err, d.log);
    result = { status: e.status, body: e.body() };
    internalCode = e.internalCode;
  }
  const responseText = result.body === undefined ? '' : JSON.stringify(result.body);
  const requestId = newRequestId(internalCode);
  const signature = signResponse({ privateKey: d.platform.privateKey, serial: responseSerial(req, d.platform), body: responseText });
  res.writeHead(result.status, {
    ...signature,
    'Request-ID': requestId,
    ...(responseText ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
    'Content-Length': String(Buffer.byteLength(responseText)),
  });
  res.end(responseText);
  const code = result.status >= 400 && typeof result.body === 'object' && result.body !== null ? String((result.body as { code?: unknown }).code) : undefined;
  d.requestLog.add({ requestId, method, url, status: result.status, ...(code ? { code } : {}), at, durationMs: Math.round(performance.now() - started), requestBody: bodyText, responseBody: responseText });
}

/**
 * `Wechatpay-Serial` of a response follows the request's `Wechatpay-Serial` when it names one of our keys
 * (certificate serial or public key id), else the public key id (wxpay-v3.md §3, migration behaviour).
 */
function responseSerial(req: IncomingMessage, p: { certSerial: string; publicKeyId: string }): string {
  const asked = req.headers['wechatpay-serial'];
  const wanted = (Array.isArray(asked) ? asked[0] : asked)?.trim().toUpperCase();
  if (wanted === p.certSerial.toUpperCase()) return p.certSerial;
  return p.publicKeyId;
}

function systemError(err: unknown, log: (line: string) => void): SandboxError {
  log(`v3: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return new SandboxError(500, 'SYSTEM_ERROR', '系统异常，请用相同参数重新调用');
}
