import { toRfc3339Cst } from '../wxpay';
import { AttemptRow, NotificationRow } from './notifications';

/**
 * One entry of `GET /sandbox/notifications` (DESIGN.md contract: attempts, status codes, next retry).
 * Times are RFC 3339 on the sandbox clock. `full` adds, per attempt, what was sent (headers + the encrypted body,
 * never the plaintext) and what came back (status, headers, body).
 */
export function notificationView(n: NotificationRow, attempts: AttemptRow[], full = false): Record<string, unknown> {
  return {
    id: n.id,
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
      statusCode: a.status_code,
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
