import { SandboxClock } from '../domain/clock';
import { clip } from '../state/db';
import type { FaultStore } from '../state/faults';
import type { DeliveryChannel, DeliveryStatus, NewAttempt, OutboxRow, OutboxStore } from '../state/outbox';
import { postWithDeadline, SHUTDOWN } from './post';
import { Transport } from './transport';

/** WeChat Pay's notification retry schedule: 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h (wxpay-v3.md §4). */
export const WECHAT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]);

/** Answer-within limit for a notification (wxpay-v3.md §4). */
export const NOTIFY_TIMEOUT_MS = 5000;

/** Where a notification stands after an attempt. */
export interface NextDelivery {
  status: DeliveryStatus;
  nextAttemptAt: number | null;
}

/**
 * WeChat Pay's retry rule, for v3 notifications and CloudPay callbacks alike (wxpay-v3.md §4): after the n-th
 * unacknowledged attempt wait schedule[n−1] seconds of sandbox time; past the end of the schedule, give up.
 */
export function nextAfterAttempt(acked: boolean, failedAttempts: number, schedule: readonly number[], at: number): NextDelivery {
  if (acked) return { status: 'delivered', nextAttemptAt: null };
  const delay = schedule[failedAttempts - 1];
  return delay === undefined ? { status: 'failed', nextAttemptAt: null } : { status: 'pending', nextAttemptAt: at + delay * 1000 };
}

export interface SenderDeps {
  outbox: OutboxStore;
  faults: FaultStore;
  clock: SandboxClock;
  /** How each channel sends and what acknowledges it. */
  transports: Record<DeliveryChannel, Transport>;
  /** Seconds between retries, on the sandbox clock. */
  retryScheduleSeconds: readonly number[];
  /** An attempt slower than this is a failure. */
  timeoutMs: number;
  log: (line: string) => void;
  /** How often due notifications are looked for; `kick()` also looks at once. */
  tickMs?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
}

/**
 * The one delivery loop of the outbox: runs due notifications on a timer and on demand, at most `concurrency` at
 * a time and never the same one twice at once, each through its channel's transport. Every attempt is logged with
 * what was sent (headers, body), the answer (status, headers, body), the latency and whether it was acknowledged;
 * an unacknowledged one is retried on the schedule measured on the *sandbox* clock. `stop()` aborts what is in
 * flight: an aborted attempt is not an attempt, so it stays due and is sent again after a restart.
 *
 * Notification faults (`POST /sandbox/faults`) model WeChat Pay's v3 notifications, so they apply to the `http`
 * channel only, to a notification's *first* delivery, oldest fault first: DROP (not sent, logged as a failed attempt,
 * retried on schedule), DELAY (first attempt N sandbox seconds later), DUPLICATE (sent twice), REORDER (held until
 * another notification has been attempted, then sent), PROBE (sent with a `WECHATPAY/SIGNTEST/…` signature; a
 * verifying receiver refuses it and the retry carries a valid signature).
 */
export class Sender {
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private kickScheduled = false;
  private stopped = false;
  /** > 0 while {@link whilePaused} runs a change: nothing new starts. */
  private paused = 0;

  constructor(private readonly d: SenderDeps) {}

  /**
   * Starts the loop. Whatever was pending when the sandbox last stopped — cleanly or killed — is picked up from the
   * outbox: what is due (never attempted, or its attempt cut short by the stop) goes out at once, the rest when its
   * retry time comes. An acknowledged delivery is recorded in the same transaction as its attempt, so it is never
   * sent again; an attempt the process died in the middle of was not recorded, so it is made again.
   */
  start(): void {
    const pending = this.d.outbox.pendingCount();
    if (pending > 0) this.d.log(`notify: ${pending} notifications pending from before this start; the due ones go out now`);
    this.timer = setInterval(() => this.tick(), this.d.tickMs ?? 200);
    this.timer.unref();
    this.kick();
  }

  /** Look for due notifications now (after one was queued or resent, or a clock advance), coalescing bursts. */
  kick(): void {
    if (this.stopped || this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.tick();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.abortInFlight();
  }

  /**
   * Runs `change` (e.g. emptying the outbox) with nothing in flight: sending pauses, what is in flight is aborted
   * (not an attempt, so not recorded), and sending resumes afterwards.
   */
  async whilePaused<T>(change: () => T): Promise<T> {
    this.paused += 1;
    try {
      await this.abortInFlight();
      return change();
    } finally {
      this.paused -= 1;
      this.kick();
    }
  }

  private async abortInFlight(): Promise<void> {
    while (this.inFlight.size > 0) {
      for (const f of this.inFlight.values()) f.abort.abort(new Error(SHUTDOWN));
      await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    }
  }

  private tick(): void {
    if (this.stopped || this.paused > 0) return;
    const room = (this.d.concurrency ?? 8) - this.inFlight.size;
    if (room <= 0) return;
    const due = this.d.outbox.due(this.d.clock.now(), room + this.inFlight.size).filter((n) => !this.inFlight.has(n.id)).slice(0, room);
    for (const n of due) {
      const abort = new AbortController();
      const done = this.deliver(n, abort.signal)
        .catch((err: unknown) => this.d.log(`notify: delivery of ${n.id} crashed: ${String(err)}`))
        .finally(() => {
          this.inFlight.delete(n.id);
          this.kick(); // a freed slot may unblock the next due notification
        });
      this.inFlight.set(n.id, { abort, done });
    }
  }

  /** One delivery of `n`: one attempt, two for DUPLICATE, or a fault that postpones it. */
  private async deliver(n: OutboxRow, signal: AbortSignal): Promise<void> {
    const { outbox } = this.d;
    const at = this.d.clock.now();
    const fault = n.channel === 'http' && n.fault === null && outbox.attemptCount(n.id) === 0 ? this.d.faults.takeNotification(n.event_type) : undefined;
    if (fault?.kind === 'DELAY') {
      outbox.applyFault(n.id, 'DELAY', { nextAttemptAt: at + Math.round((fault.seconds ?? 0) * 1000) });
      this.d.log(`notify ${n.event_type} ${n.id}: DELAY fault, first attempt at +${fault.seconds}s sandbox time`);
      return;
    }
    if (fault?.kind === 'REORDER') {
      outbox.applyFault(n.id, 'REORDER', { held: true });
      this.d.log(`notify ${n.event_type} ${n.id}: REORDER fault, held until the next notification has been attempted`);
      return;
    }
    if (fault) outbox.applyFault(n.id, fault.kind, {});

    const transport = this.d.transports[n.channel];
    const attempts: NewAttempt[] = [];
    const sends = fault?.kind === 'DUPLICATE' ? 2 : 1;
    for (let i = 0; i < sends; i++) {
      const req = transport.request(n, { probe: fault?.kind === 'PROBE' });
      const sent = { at, url: req.url, request_headers: JSON.stringify(req.headers), request_body: req.body, fault: fault?.kind ?? null };
      const unsent = fault?.kind === 'DROP' ? 'dropped by fault injection (DROP): not sent' : req.error;
      if (unsent !== undefined || req.url === null) {
        attempts.push({ ...sent, acked: 0, status_code: null, latency_ms: 0, error: unsent ?? 'nowhere to send it', response_headers: null, response_body: null });
        break;
      }
      const started = performance.now();
      const outcome = await postWithDeadline(req.url, req.body, req.headers, this.d.timeoutMs, signal);
      if (signal.aborted) return; // shutdown: not an attempt
      const verdict = transport.verdict(outcome);
      attempts.push({
        ...sent,
        acked: verdict.acked ? 1 : 0,
        status_code: outcome.statusCode,
        latency_ms: Math.round(performance.now() - started),
        error: verdict.error,
        response_headers: outcome.responseHeaders ? JSON.stringify(outcome.responseHeaders) : null,
        response_body: clip(outcome.responseBody),
      });
    }

    const next = outbox.recordAttempts(n.id, attempts, (failed, acked) => nextAfterAttempt(acked, failed, this.d.retryScheduleSeconds, at));
    const released = n.channel === 'http' ? outbox.releaseHeld(n.id, this.d.clock.now()) : 0;
    const summary = attempts.map((a) => `${a.status_code ?? a.error}${a.status_code !== null && a.error ? ` (${a.error})` : ''}${a.fault ? ` [${a.fault}]` : ''} in ${a.latency_ms} ms`).join(', ');
    this.d.log(`notify ${n.event_type} ${n.id} → ${n.url}: ${summary} → ${next.status}${released ? `; released ${released} held` : ''}`);
  }
}
