import http from 'node:http';
import https from 'node:https';
import { KeyObject } from 'node:crypto';
import { buildNotification } from '../wxpay';
import { SandboxClock } from './clock';
import { DeliveryStatus, NotificationRow, NotificationStore } from './notifications';
import { clip } from './state';

export interface NotifierDeps {
  store: NotificationStore;
  clock: SandboxClock;
  apiV3Key: string;
  signingKey: KeyObject;
  /** `Wechatpay-Serial` of notifications: the WeChat Pay public key id (issue 4 makes it configurable). */
  serial: string;
  retryScheduleSeconds: readonly number[];
  timeoutMs: number;
  log: (line: string) => void;
  /** How often due deliveries are looked for; `kick()` also looks at once. */
  tickMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
}

interface HttpOutcome {
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
}

const SHUTDOWN = 'sandbox shutting down';

/**
 * Delivers queued notifications the way WeChat Pay does (wxpay-v3.md §4): POST the encrypted, signed envelope
 * to notify_url; HTTP 200/204 is an ack; any other status, a network error or no answer within 5 s is a failure,
 * retried on the schedule measured on the *sandbox* clock. Every attempt is persisted with status and latency.
 * Each attempt is freshly encrypted and signed (real-time Wechatpay-Timestamp, so a retry hours of sandbox time
 * later still passes the receiver's ±300 s check), with the same notification id and create_time.
 */
export class Notifier {
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private kickScheduled = false;
  private stopped = false;

  constructor(private readonly d: NotifierDeps) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.d.tickMs ?? 200);
    this.timer.unref();
    this.kick();
  }

  /** Look for due deliveries now (after a payment or a clock advance), coalescing bursts. */
  kick(): void {
    if (this.stopped || this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.tick();
    });
  }

  /** Stops the timer and aborts deliveries in flight; an aborted attempt is not logged and stays due, so it is sent again after a restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const f of this.inFlight.values()) f.abort.abort(new Error(SHUTDOWN));
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
  }

  private tick(): void {
    if (this.stopped) return;
    const room = (this.d.concurrency ?? 8) - this.inFlight.size;
    if (room <= 0) return;
    const due = this.d.store.due(this.d.clock.now(), room + this.inFlight.size).filter((n) => !this.inFlight.has(n.id)).slice(0, room);
    for (const n of due) {
      const abort = new AbortController();
      const done = this.deliver(n, abort.signal)
        .catch((err: unknown) => this.d.log(`notifier: delivery of ${n.id} crashed: ${String(err)}`))
        .finally(() => {
          this.inFlight.delete(n.id);
          this.kick(); // a freed slot may unblock the next due delivery
        });
      this.inFlight.set(n.id, { abort, done });
    }
  }

  private async deliver(n: NotificationRow, signal: AbortSignal): Promise<void> {
    const at = this.d.clock.now();
    const { body, headers } = buildNotification({
      id: n.id,
      eventType: n.event_type,
      resource: JSON.parse(n.resource_json) as unknown,
      createTime: n.create_time,
      apiV3Key: this.d.apiV3Key,
      signingKey: this.d.signingKey,
      serial: this.d.serial,
    });
    const started = performance.now();
    const outcome = await post(n.url, body, { ...headers, 'User-Agent': 'Mozilla/4.0' }, this.d.timeoutMs, signal);
    if (signal.aborted) return; // shutdown: not an attempt
    const latencyMs = Math.round(performance.now() - started);
    const acked = outcome.statusCode === 200 || outcome.statusCode === 204;
    const attemptNo = this.d.store.attemptCount(n.id) + 1;
    const retryDelay = this.d.retryScheduleSeconds[attemptNo - 1];
    const next: { status: DeliveryStatus; nextAttemptAt: number | null } = acked
      ? { status: 'delivered', nextAttemptAt: null }
      : retryDelay === undefined
        ? { status: 'failed', nextAttemptAt: null }
        : { status: 'pending', nextAttemptAt: at + retryDelay * 1000 };
    this.d.store.recordAttempt({
      notification_id: n.id,
      at,
      status_code: outcome.statusCode,
      latency_ms: latencyMs,
      error: outcome.error,
      request_headers: JSON.stringify(headers),
      request_body: body,
      response_body: clip(outcome.responseBody),
    }, next);
    this.d.log(`notify ${n.event_type} ${n.id} → ${n.url}: attempt ${attemptNo} ${outcome.statusCode ?? outcome.error} in ${latencyMs} ms → ${next.status}`);
  }
}

/** One POST with a hard deadline; never throws. A fresh connection each time (no pooled sockets outlive close()). */
function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<HttpOutcome> {
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
      resolve({ statusCode: null, responseBody: null, error: `bad notify_url: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      finish({ statusCode: null, responseBody: null, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const onAbort = (): void => {
      finish({ statusCode: null, responseBody: null, error: SHUTDOWN });
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
      res.on('end', () => finish({ statusCode: res.statusCode ?? null, responseBody: Buffer.concat(chunks).toString('utf8'), error: null }));
      res.on('error', (err) => finish({ statusCode: res.statusCode ?? null, responseBody: null, error: err.message }));
    });
    req.on('error', (err) => finish({ statusCode: null, responseBody: null, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(body);
  });
}
