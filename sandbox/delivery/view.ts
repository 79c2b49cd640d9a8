import { toRfc3339Cst } from '../../wxpay';
import type { AttemptRow, OutboxRow } from '../state/outbox';

/**
 * One entry of the notification log, `GET /sandbox/notifications` (DESIGN.md contract: attempts, status codes, next
 * retry), the same shape for both channels:
 *
 *   {id, kind: "v3"|"cloudpay", channel: "http"|"cloud-function", event_type, url, out_trade_no, out_refund_no?,
 *    create_time, status, fault?, held?, nextRetryAt,
 *    attempts: [{attempt, at, url, statusCode, acked, latencyMs, error?, fault?, responseBody?,
 *                request?: {headers, body}, response?: {statusCode, headers, body}}]}
 *
 * `kind` names the API whose notification it is, `channel` how it travels; `url` is the notify URL or
 * `cloudfunction://{envId}/{functionName}`, and an attempt's `url` where that attempt went (a function's registered
 * URL; null when there was nowhere to send it). Times are RFC 3339 on the sandbox clock. `full` adds, per attempt,
 * what was sent — for v3 the headers and the encrypted body, never the plaintext; for CloudPay the event — and what
 * came back.
 */
export function notificationView(n: OutboxRow, attempts: AttemptRow[], full = false): Record<string, unknown> {
  return {
    id: n.id,
    kind: n.channel === 'http' ? 'v3' : 'cloudpay',
    channel: n.channel,
    event_type: n.event_type,
    url: n.url,
    out_trade_no: n.out_trade_no,
    ...(n.out_refund_no ? { out_refund_no: n.out_refund_no } : {}),
    create_time: n.create_time,
    status: n.status,
    ...(n.fault ? { fault: n.fault } : {}),
    ...(n.held ? { held: true } : {}),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      at: toRfc3339Cst(a.at),
      url: a.url,
      statusCode: a.status_code,
      acked: a.acked === 1,
      latencyMs: a.latency_ms,
      ...(a.error ? { error: a.error } : {}),
      ...(a.fault ? { fault: a.fault } : {}),
      ...(a.response_body ? { responseBody: a.response_body } : {}),
      ...(full ? {
        request: { headers: JSON.parse(a.request_headers) as unknown, body: a.request_body },
        response: { statusCode: a.status_code, headers: a.response_headers ? JSON.parse(a.response_headers) as unknown : null, body: a.response_body },
      } : {}),
    })),
    nextRetryAt: n.next_attempt_at === null ? null : toRfc3339Cst(n.next_attempt_at),
  };
}
