import type { OutboxStore } from './outbox';
import type { RequestLog } from './request-log';

/** How much of its logs the sandbox keeps (every notification attempt holds ~1.5 KB of headers and ciphertext). */
export interface RetentionLimits {
  /** Settled notifications (with their attempts) and logged requests older than this many days of sandbox time go. */
  days: number;
  /** At most this many notification attempts: the oldest settled notifications go first. */
  attempts: number;
  /** At most this many logged `/v3/*` requests: the oldest go first. */
  requests: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionLimits> = Object.freeze({ days: 7, attempts: 50_000, requests: 100_000 });

/** Rows looked at per transaction: small enough that a request never waits long behind one. */
const BATCH = 200;

export interface RetentionDeps {
  outbox: OutboxStore;
  requests: RequestLog;
  limits: RetentionLimits;
  /** The sandbox clock (epoch ms): the logs' times are on it. */
  now: () => number;
  log: (line: string) => void;
  /** How often it prunes (real ms); it also prunes once at start. */
  everyMs?: number;
}

/**
 * Keeps the notification attempt log and the request log bounded by age and count. Prunes in the background: one
 * small transaction at a time, yielding to the event loop between them, so requests are served meanwhile. A
 * notification still pending delivery is never pruned (see {@link OutboxStore.prune}).
 */
export class LogRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly d: RetentionDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.prune(), this.d.everyMs ?? 60_000);
    this.timer.unref();
    void this.prune();
  }

  /** Waits for a pass in progress; no new pass starts. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass over both logs (a pass already running is joined, not doubled). */
  prune(): Promise<void> {
    this.running ??= this.pass()
      .catch((err: unknown) => this.d.log(`retention: pruning failed: ${String(err)}`)) // the next pass tries again
      .finally(() => { this.running = undefined; });
    return this.running;
  }

  private async pass(): Promise<void> {
    const before = this.d.now() - this.d.limits.days * 86_400_000;
    let notifications = 0;
    let attempts = 0;
    let excess = this.d.outbox.attemptTotal() - this.d.limits.attempts;
    for (let after = 0; !this.stopped;) {
      const r = this.d.outbox.prune(after, before, excess, BATCH);
      notifications += r.deletedNotifications;
      attempts += r.deletedAttempts;
      excess -= r.deletedAttempts;
      after = r.lastRowid;
      if (r.done) break;
      await yieldToRequests();
    }
    let requests = 0;
    while (!this.stopped) {
      const n = this.d.requests.prune(before, this.d.limits.requests, BATCH);
      requests += n;
      if (n === 0) break;
      await yieldToRequests();
    }
    if (notifications || requests) this.d.log(`retention: pruned ${notifications} notifications (${attempts} attempts) and ${requests} logged requests`);
  }
}

const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
