import { toRfc3339Cst } from '../../wxpay';
import { DeliveryAttemptRow, DeliveryRow } from './store';

/** `url` of a cloud-function delivery in the notification log: the function, not an HTTP address. */
export function functionUri(envId: string, functionName: string): string {
  return `cloudfunction://${envId}/${functionName}`;
}

/**
 * One cloud-function delivery as an entry of `GET /sandbox/notifications`, shaped like the v3 entries (same keys,
 * times on the sandbox clock) plus `kind: "cloudpay"`, the function, and per attempt the URL it was invoked at.
 * `full` adds the event that was sent.
 */
export function deliveryView(d: DeliveryRow, attempts: DeliveryAttemptRow[], full = false): Record<string, unknown> {
  return {
    id: d.id,
    kind: 'cloudpay',
    event_type: d.kind === 'payment' ? 'CLOUDPAY.PAYMENT' : 'CLOUDPAY.REFUND',
    url: functionUri(d.env_id, d.function_name),
    env_id: d.env_id,
    function_name: d.function_name,
    out_trade_no: d.out_trade_no,
    ...(d.out_refund_no ? { out_refund_no: d.out_refund_no } : {}),
    create_time: d.create_time,
    status: d.status,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      at: toRfc3339Cst(a.at),
      statusCode: a.status_code,
      latencyMs: a.latency_ms,
      ...(a.url ? { functionUrl: a.url } : {}),
      ...(a.error ? { error: a.error } : {}),
      ...(a.response_body ? { responseBody: a.response_body } : {}),
    })),
    nextRetryAt: d.next_attempt_at === null ? null : toRfc3339Cst(d.next_attempt_at),
    ...(full ? { event: JSON.parse(d.event_json) as unknown } : {}),
  };
}
