import { toRfc3339Cst } from '../../wxpay';
import { FaultKind, FaultRow, HttpFaultKind, NotificationFaultKind } from '../state/faults';
import { SandboxError } from './errors';

/** Prefix of WeChat Pay's signature probes (wxpay-v3.md §3): a receiver that verifies must reject them. */
export const PROBE_SIGNATURE_PREFIX = 'WECHATPAY/SIGNTEST/';

const HTTP_KINDS: readonly HttpFaultKind[] = ['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'NOT_ENOUGH', 'LATENCY', 'PROBE'];
const NOTIFICATION_KINDS: readonly NotificationFaultKind[] = ['DROP', 'DELAY', 'DUPLICATE', 'REORDER', 'PROBE'];

/** The v3 error each HTTP error fault answers with (wxpay-v3.md §1.8–1.9). */
export const HTTP_FAULT_ERRORS: Record<Exclude<HttpFaultKind, 'LATENCY' | 'PROBE'>, { status: number; message: string }> = {
  SYSTEM_ERROR: { status: 500, message: '系统异常，请用相同参数重新调用' },
  FREQUENCY_LIMITED: { status: 429, message: '频率超限，请降低请求频率后重试' },
  NOT_ENOUGH: { status: 403, message: '基本账户余额不足，请充值后重新发起' },
};

export function faultView(f: FaultRow): Record<string, unknown> {
  return {
    id: f.id,
    kind: f.kind,
    target: f.target,
    ...(f.path !== null ? { path: f.path } : {}),
    ...(f.method !== null ? { method: f.method } : {}),
    ...(f.event_type !== null ? { event_type: f.event_type } : {}),
    ...(f.ms !== null ? { ms: f.ms } : {}),
    ...(f.seconds !== null ? { seconds: f.seconds } : {}),
    remaining: f.remaining,
    created_at: toRfc3339Cst(f.created_at),
  };
}

/**
 * Validates a `POST /sandbox/faults` body:
 * - `{"kind":"SYSTEM_ERROR"|"FREQUENCY_LIMITED"|"NOT_ENOUGH","path":"/v3/…","method"?:"POST","count"?:N}`
 * - `{"kind":"LATENCY","ms":N,"path":…,"method"?,"count"?}`
 * - `{"kind":"DROP"|"DUPLICATE"|"REORDER"|"PROBE","count"?:N,"event_type"?:"REFUND."}`, `{"kind":"DELAY","seconds":N,…}`
 * - `{"kind":"PROBE","path":"/v3/…"}`: probe signatures on API *responses* instead of notifications
 * `path` defaults to "/v3/" (every API request), `count` to 1.
 */
export function parseFaultSpec(body: Record<string, unknown>, now: number): Omit<FaultRow, 'id'> {
  const bad = (field: string, issue: string): SandboxError => new SandboxError(400, 'PARAM_ERROR', `${field} ${issue}`, { field, issue });
  const kind = body.kind;
  const isHttp = (HTTP_KINDS as readonly unknown[]).includes(kind) && (kind !== 'PROBE' || body.path !== undefined);
  const isNotification = !isHttp && (NOTIFICATION_KINDS as readonly unknown[]).includes(kind);
  if (!isHttp && !isNotification) throw bad('kind', `must be one of ${[...new Set([...HTTP_KINDS, ...NOTIFICATION_KINDS])].join(', ')}`);
  const count = body.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10_000) throw bad('count', 'must be an integer from 1 to 10000');
  const f: Omit<FaultRow, 'id'> = { kind: kind as FaultKind, target: isHttp ? 'http' : 'notification', path: null, method: null, event_type: null, ms: null, seconds: null, remaining: count, created_at: now };
  if (isHttp) {
    const path = body.path ?? '/v3/';
    if (typeof path !== 'string' || !path.startsWith('/v3/')) throw bad('path', 'must be a path prefix starting with /v3/');
    f.path = path;
    if (body.method !== undefined) {
      if (typeof body.method !== 'string' || !/^(GET|POST|PUT|PATCH|DELETE)$/.test(body.method)) throw bad('method', 'must be GET, POST, PUT, PATCH or DELETE');
      f.method = body.method;
    }
    if (kind === 'LATENCY') {
      if (typeof body.ms !== 'number' || !Number.isInteger(body.ms) || body.ms < 0 || body.ms > 60_000) throw bad('ms', 'must be an integer from 0 to 60000');
      f.ms = body.ms;
    }
  } else {
    if (body.event_type !== undefined) {
      if (typeof body.event_type !== 'string' || !/^(TRANSACTION|REFUND)\b/.test(body.event_type)) throw bad('event_type', 'must be an event type prefix such as "REFUND." or "TRANSACTION.SUCCESS"');
      f.event_type = body.event_type;
    }
    if (kind === 'DELAY') {
      if (typeof body.seconds !== 'number' || !Number.isFinite(body.seconds) || body.seconds < 0) throw bad('seconds', 'must be a number ≥ 0 (sandbox seconds)');
      f.seconds = body.seconds;
    }
  }
  return f;
}
