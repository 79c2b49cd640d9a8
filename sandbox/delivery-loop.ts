import { SandboxClock } from './clock';

/** Where a delivery stands after an attempt. */
export interface NextDelivery {
  status: 'pending' | 'delivered' | 'failed';
  nextAttemptAt: number | null;
}

/**
 * WeChat Pay's retry rule, shared by v3 notifications and CloudPay callbacks (wxpay-v3.md §4): after the n-th
 * failed attempt wait schedule[n−1] seconds of sandbox time; past the end of the schedule, give up.
 */
export function nextAfterAttempt(acked: boolean, failedAttempts: number, schedule: readonly number[], at: number): NextDelivery {
  if (acked) return { status: 'delivered', nextAttemptAt: null };
  const delay = schedule[failedAttempts - 1];
  return delay === undefined ? { status: 'failed', nextAttemptAt: null } : { status: 'pending', nextAttemptAt: at + delay * 1000 };
}

export interface DeliveryLoopOptions<T extends { id: string }> {
  /** Items whose next attempt is due at `now`, at most `limit`. */
  due(now: number, limit: number): T[];
  /** One attempt; must resolve (not reject) when `signal` aborts, leaving the item due. */
  deliver(item: T, signal: AbortSignal): Promise<void>;
  clock: SandboxClock;
  /** Prefix of log lines. */
  name: string;
  log: (line: string) => void;
  /** How often due items are looked for; `kick()` also looks at once. */
  tickMs?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
  /** Called on every tick before looking for due items. */
  onTick?: () => void;
}

const SHUTDOWN = 'sandbox shutting down';

/**
 * Runs due deliveries on a timer and on demand, at most `concurrency` at a time, never the same item twice at
 * once. `stop()` aborts what is in flight: an aborted attempt is not an attempt, so it stays due and is sent
 * again after a restart.
 */
export class DeliveryLoop<T extends { id: string }> {
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private kickScheduled = false;
  private stopped = false;

  constructor(private readonly o: DeliveryLoopOptions<T>) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 200);
    this.timer.unref();
    this.kick();
  }

  /** Look for due items now (after a payment or a clock advance), coalescing bursts. */
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
    for (const f of this.inFlight.values()) f.abort.abort(new Error(SHUTDOWN));
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
  }

  private tick(): void {
    if (this.stopped) return;
    try {
      this.o.onTick?.();
    } catch (err) {
      this.o.log(`${this.o.name}: housekeeping failed: ${String(err)}`);
    }
    const room = (this.o.concurrency ?? 8) - this.inFlight.size;
    if (room <= 0) return;
    const due = this.o.due(this.o.clock.now(), room + this.inFlight.size).filter((n) => !this.inFlight.has(n.id)).slice(0, room);
    for (const n of due) {
      const abort = new AbortController();
      const done = this.o.deliver(n, abort.signal)
        .catch((err: unknown) => this.o.log(`${this.o.name}: delivery of ${n.id} crashed: ${String(err)}`))
        .finally(() => {
          this.inFlight.delete(n.id);
          this.kick(); // a freed slot may unblock the next due delivery
        });
      this.inFlight.set(n.id, { abort, done });
    }
  }
}
