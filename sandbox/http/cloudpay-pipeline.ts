import { jsonTextNestsDeeperThan, MAX_JSON_NESTING } from '../../wxpay';
import { IncomingMessage, ServerResponse } from 'node:http';
import { CloudPay, CloudPayAnswer, platformError } from '../cloudpay';
import { SandboxError } from '../domain/errors';
import type { SandboxClock } from '../domain/clock';
import type { Housekeeper } from '../domain/housekeeper';
import { newRequestId } from '../domain/ids';
import type { RequestLog } from '../state/request-log';
import { decodeUtf8, isLoopback, readBody } from './body';
import { decodePathSegment, splitUrl } from './router';

export interface CloudPayPipelineDeps {
  cloudpay: CloudPay;
  housekeeper: Housekeeper;
  clock: SandboxClock;
  /** The request log `/v3/*` calls go to as well (GET /sandbox/requests). */
  requestLog: RequestLog;
  log: (line: string) => void;
}

/**
 * Serves one `POST /cloudpay/{apiName}` (loopback only, unsigned — CloudPay's own transport has no signing): the
 * CloudPay params as JSON in, the result exactly as wx-server-sdk's `cloud.cloudPay[apiName]` resolves it out
 * (HTTP 200, business failures included), or a platform error the SDK would throw (HTTP 4xx/5xx `{errCode, errMsg}`).
 * The calling mini-program user is the `X-WX-OPENID` header, as WeChat Cloud Run passes it. Every call is logged.
 */
export async function handleCloudPay(req: IncomingMessage, res: ServerResponse, d: CloudPayPipelineDeps): Promise<void> {
  const started = performance.now();
  const at = d.clock.now();
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const { path } = splitUrl(url);
  let body = '';
  let answer: CloudPayAnswer;
  try {
    if (!isLoopback(req.socket.remoteAddress)) throw new SandboxError(403, 'NO_AUTH', 'the CloudPay emulation answers loopback clients only');
    body = decodeUtf8(await readBody(req));
    if (method !== 'POST') answer = { status: 405, body: platformError('INVALID_METHOD', 'CloudPay APIs are called with POST') };
    else {
      d.housekeeper.maybeRun(); // what the sandbox clock made due is visible before we answer, as on the v3 API
      const header = req.headers['x-wx-openid'];
      const openid = Array.isArray(header) ? header[0] : header;
      if (jsonTextNestsDeeperThan(body)) throw new SandboxError(400, 'INVALID_PARAM', `request data nests JSON objects/arrays deeper than ${MAX_JSON_NESTING} levels`);
      answer = await d.cloudpay.call(decodePathSegment(path.slice('/cloudpay/'.length), 'apiName'), body, openid);
    }
  } catch (err) {
    if (!(err instanceof SandboxError)) d.log(`cloudpay: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    const e = err instanceof SandboxError ? err : new SandboxError(500, 'SYSTEM_ERROR', err instanceof Error ? err.message : String(err));
    answer = { status: e.status, body: platformError(e.code, e.message) };
  }
  const text = answer.status === 204 ? '' : JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), 'Cache-Control': 'no-store' });
  res.end(text);
  const code = answer.status >= 400 ? String(answer.body.code ?? '') : '';
  d.requestLog.add({ requestId: newRequestId(), method, url, status: answer.status, ...(code ? { code } : {}), at, durationMs: Math.round(performance.now() - started), requestBody: body, responseBody: text });
}
