import { KeyObject, randomBytes } from 'node:crypto';
import { buildNotification } from '../wxpay';
import { SandboxClock } from './clock';
import { FaultStore } from './faults';
import { AttemptRow, NotificationRow, NotificationStore } from './notifications';
import { clip } from './state';
import { DeliveryLoop, nextAfterAttempt, postWithDeadline } from './delivery-loop';

export interface NotifierDeps {
  store: NotificationStore;
  faults: FaultStore;
  clock: SandboxClock;
  apiV3Key: string;
  signingKey: KeyObject;
  /** `Wechatpay-Serial` of notifications: the WeChat Pay public key id or the platform certificate serial (option `notificationSerial`). */
  serial: string;
  retryScheduleSeconds: readonly number[];
  timeoutMs: number;
  log: (line: string) => void;
  /** How often due deliveries are looked for; `kick()` also looks at once. */
  tickMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Called on every tick, before due deliveries are looked for (the housekeeper's due work). */
  onTick?: () => void;
}


type Attempt = Omit<AttemptRow, 'attempt' | 'notification_id'>;

/** Prefix of WeChat Pay's signature probes (wxpay-v3.md §3): a receiver that verifies must reject them. */
export const PROBE_SIGNATURE_PREFIX = 'WECHATPAY/SIGNTEST/';

/**
 * Delivers queued notifications the way WeChat Pay does (wxpay-v3.md §4): POST the encrypted, signed envelope
 * to notify_url; HTTP 200/204 is an ack; any other status, a network error or no answer within 5 s is a failure,
 * retried on the schedule measured on the *sandbox* clock (the n-th failure waits schedule[n−1]). Every attempt is
 * persisted with what was sent (headers, ciphertext body), the answer (status, headers, body) and latency.
 * Each attempt is freshly encrypted and signed (real-time Wechatpay-Timestamp, so a retry hours of sandbox time
 * later still passes the receiver's ±300 s check), with the same notification id and create_time.
 *
 * Notification faults (`POST /sandbox/faults`) apply to a notification's *first* delivery, oldest fault first:
 * DROP (not sent, logged as a failed attempt, retried on schedule), DELAY (first attempt N sandbox seconds later),
 * DUPLICATE (sent twice), REORDER (held until another notification has been attempted, then sent), PROBE (sent with a
 * `WECHATPAY/SIGNTEST/…` signature; a verifying receiver refuses it and the retry carries a valid signature).
 */
export class Notifier {
  private readonly loop: DeliveryLoop<NotificationRow>;

  constructor(private readonly d: NotifierDeps) {
    // clock, log, tickMs, concurrency, onTick come straight from the deps.
    this.loop = new DeliveryLoop({ ...d, name: 'notifier', due: (now, limit) => d.store.due(now, limit), deliver: (n, signal) => this.deliver(n, signal) });
  }

  start(): void { this.loop.start(); }
  /** Look for due deliveries now (after a payment or a clock advance). */
  kick(): void { this.loop.kick(); }
  /** Aborts deliveries in flight; an aborted attempt is not logged and stays due, so it is sent again after a restart. */
  stop(): Promise<void> { return this.loop.stop(); }

  private async deliver(n: NotificationRow, signal: AbortSignal): Promise<void> {
    const at = this.d.clock.now();
    const fault = n.fault === null && this.d.store.attemptCount(n.id) === 0 ? this.d.faults.takeNotification(n.event_type) : undefined;
    if (fault?.kind === 'DELAY') {
      const due = at + Math.round((fault.seconds ?? 0) * 1000);
      this.d.store.applyFault(n.id, 'DELAY', { nextAttemptAt: due });
      this.d.log(`notify ${n.event_type} ${n.id}: DELAY fault, first attempt at +${fault.seconds}s sandbox time`);
      return;
    }
    if (fault?.kind === 'REORDER') {
      this.d.store.applyFault(n.id, 'REORDER', { held: true });
      this.d.log(`notify ${n.event_type} ${n.id}: REORDER fault, held until the next notification has been attempted`);
      return;
    }
    if (fault) this.d.store.applyFault(n.id, fault.kind, {});

    const attempts: Attempt[] = [];
    const sends = fault?.kind === 'DUPLICATE' ? 2 : 1;
    for (let i = 0; i < sends; i++) {
      const { body, headers } = buildNotification({
        id: n.id,
        eventType: n.event_type,
        resource: JSON.parse(n.resource_json) as unknown,
        createTime: n.create_time,
        apiV3Key: this.d.apiV3Key,
        signingKey: this.d.signingKey,
        serial: this.d.serial,
      });
      const sent: Record<string, string> = { ...headers, 'User-Agent': 'Mozilla/4.0' };
      if (fault?.kind === 'PROBE') sent['Wechatpay-Signature'] = `${PROBE_SIGNATURE_PREFIX}${randomBytes(48).toString('base64')}`;
      if (fault?.kind === 'DROP') {
        attempts.push({ at, status_code: null, latency_ms: 0, error: 'dropped by fault injection (DROP): not sent', request_headers: JSON.stringify(sent), request_body: body, response_body: null, fault: 'DROP', response_headers: null });
        break;
      }
      const started = performance.now();
      const outcome = await postWithDeadline(n.url, body, sent, this.d.timeoutMs, signal);
      if (signal.aborted) return; // shutdown: not an attempt
      attempts.push({
        at,
        status_code: outcome.statusCode,
        latency_ms: Math.round(performance.now() - started),
        error: outcome.error,
        request_headers: JSON.stringify(sent),
        request_body: body,
        response_body: clip(outcome.responseBody),
        fault: fault?.kind ?? null,
        response_headers: outcome.responseHeaders ? JSON.stringify(outcome.responseHeaders) : null,
      });
    }

    const next = this.d.store.recordAttempts(attempts, n.id, (failed, acked) => nextAfterAttempt(acked, failed, this.d.retryScheduleSeconds, at));
    const released = this.d.store.releaseHeld(n.id, this.d.clock.now());
    const summary = attempts.map((a) => `${a.status_code ?? a.error}${a.fault ? ` [${a.fault}]` : ''} in ${a.latency_ms} ms`).join(', ');
    this.d.log(`notify ${n.event_type} ${n.id} → ${n.url}: ${summary} → ${next.status}${released ? `; released ${released} held` : ''}`);
  }
}

