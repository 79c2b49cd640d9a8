import http from 'node:http';
import https from 'node:https';
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

/** What one delivery attempt got back; `error` says why there is no usable answer. */
export interface HttpOutcome {
  statusCode: number | null;
  responseBody: string | null;
  responseHeaders: Record<string, string | string[]> | null;
  error: string | null;
}

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

/** One POST with a hard deadline; never throws. A fresh connection each time (no pooled sockets outlive close()). */
export function postWithDeadline(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: HttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(o);
    };
    let req: http.ClientRequest;
    try {
      const target = new URL(url);
      const transport = target.protocol === 'https:' ? https : http;
      req = transport.request(target, { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } });
    } catch (err) {
      resolve({ statusCode: null, responseBody: null, responseHeaders: null, error: `bad URL: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      finish({ statusCode: null, responseBody: null, responseHeaders: null, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const onAbort = (): void => {
      finish({ statusCode: null, responseBody: null, responseHeaders: null, error: SHUTDOWN });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      const responseHeaders = res.headers as Record<string, string | string[]>;
      res.on('end', () => finish({ statusCode: res.statusCode ?? null, responseBody: Buffer.concat(chunks).toString('utf8'), responseHeaders, error: null }));
      res.on('error', (err) => finish({ statusCode: res.statusCode ?? null, responseBody: null, responseHeaders, error: err.message }));
    });
    req.on('error', (err) => finish({ statusCode: null, responseBody: null, responseHeaders: null, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(body);
  });
}
