/**
 * A v3 notification reaches a CloudBase function through its HTTP trigger (HTTP 访问服务), which hands the
 * function an API-gateway style event and turns the returned object into the HTTP answer:
 *   event  `{ httpMethod, path, headers, queryStringParameters, body, isBase64Encoded }`
 *   return `{ statusCode, headers, body, isBase64Encoded }`.
 * The signature covers the body bytes as sent, so the body is used exactly as given (base64-decoded when
 * flagged), never parsed and re-serialised (peers.md §3.3).
 */
import type { HttpAnswer } from './answers';

export interface HttpTriggerEvent {
  httpMethod: string;
  path?: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface HttpTriggerResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

/** An HTTP-trigger event (v3 notification) as opposed to a direct invocation (CloudPay event, timer). */
export function isHttpTriggerEvent(event: unknown): event is HttpTriggerEvent {
  return typeof event === 'object' && event !== null && typeof (event as { httpMethod?: unknown }).httpMethod === 'string';
}

export function rawBodyOf(event: HttpTriggerEvent): Buffer {
  const body = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
}

export function toHttpResult(answer: HttpAnswer): HttpTriggerResult {
  return {
    statusCode: answer.status,
    headers: answer.body ? { 'Content-Type': 'application/json; charset=utf-8' } : {},
    body: answer.body ? JSON.stringify(answer.body) : '',
    isBase64Encoded: false,
  };
}

export function methodNotAllowed(method: string): HttpTriggerResult {
  return toHttpResult({ status: 405, body: { code: 'FAIL', message: `${method} is not accepted here; WeChat Pay POSTs notifications` } });
}
