import { Sql } from './db';

/**
 * How a notification travels: `http` = a v3 notification POSTed, encrypted and signed, to a notify URL
 * (wxpay-v3.md §4); `cloud-function` = a CloudPay callback, the event invoked as a cloud function
 * (wxpay-v2-cloudpay.md §5.4–5.5).
 */
export type DeliveryChannel = 'http' | 'cloud-function';
export const DELIVERY_CHANNELS: readonly DeliveryChannel[] = ['http', 'cloud-function'];

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

export interface OutboxRow {
  id: string;
  channel: DeliveryChannel;
  event_type: string;
  /** http: the notify URL; cloud-function: `cloudfunction://{envId}/{functionName}` ({@link cloudFunctionUri}). */
  url: string;
  out_trade_no: string | null;
  out_refund_no: string | null;
  /** JSON. http: the plaintext resource (each attempt encrypts and signs it afresh); cloud-function: the event. */
  payload: string;
  create_time: string;
  status: DeliveryStatus;
  next_attempt_at: number | null;
  created_at: number;
  /** Notification fault applied to its first delivery (DROP, DELAY, DUPLICATE, REORDER, PROBE), if any. */
  fault: string | null;
  /** 1 while a REORDER fault holds it back until the next notification has been attempted. */
  held: number;
}

export interface AttemptRow {
  notification_id: string;
  attempt: number;
  at: number;
  /** Where it was (or, dropped, would have been) POSTed; null when there was nowhere to send it. */
  url: string | null;
  /** 1 when the answer acknowledged the notification by its channel's rule. */
  acked: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** Fault injected into this attempt (DROP: not sent; PROBE: WECHATPAY/SIGNTEST signature; DUPLICATE: sent twice). */
  fault: string | null;
  request_headers: string;
  request_body: string;
  response_headers: string | null;
  response_body: string | null;
}

export type NewAttempt = Omit<AttemptRow, 'attempt' | 'notification_id'>;

export interface NewNotification {
  id: string;
  channel: DeliveryChannel;
  eventType: string;
  url: string;
  outTradeNo?: string;
  outRefundNo?: string;
  /** Serialised as the row's `payload`. */
  payload: unknown;
  createTime: string;
  createdAt: number;
}

export interface OutboxFilter {
  channel?: DeliveryChannel;
  outTradeNo?: string;
  outRefundNo?: string;
  /** A prefix: "REFUND." matches every refund result. */
  eventType?: string;
  status?: DeliveryStatus;
  limit?: number;
}

const CLOUD_FUNCTION_URI = /^cloudfunction:\/\/([^/]+)\/(.+)$/;

/** The outbox `url` of a cloud function: what the log shows, and how the cloud-function channel finds it again. */
export function cloudFunctionUri(envId: string, functionName: string): string {
  return `cloudfunction://${envId}/${functionName}`;
}

export function parseCloudFunctionUri(url: string): { envId: string; functionName: string } | undefined {
  const m = CLOUD_FUNCTION_URI.exec(url);
  return m ? { envId: m[1]!, functionName: m[2]! } : undefined;
}

/** The notification outbox of both channels and its attempt log, persisted so deliveries survive a restart. */
export class OutboxStore {
  constructor(private readonly sql: Sql) {}

  /** Queues a notification for immediate delivery (first attempt due now). */
  enqueue(n: NewNotification): void {
    this.sql.prepare(`INSERT INTO outbox (id, channel, event_type, url, out_trade_no, out_refund_no, payload, create_time, status, next_attempt_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`)
      .run(n.id, n.channel, n.eventType, n.url, n.outTradeNo ?? null, n.outRefundNo ?? null, JSON.stringify(n.payload), n.createTime, n.createdAt, n.createdAt);
  }

  get(id: string): OutboxRow | undefined {
    return this.sql.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as OutboxRow | undefined;
  }

  /** Pending notifications whose next attempt is due at `now` (sandbox clock), oldest first. */
  due(now: number, limit: number): OutboxRow[] {
    return this.sql.prepare(`SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`).all(now, limit) as OutboxRow[];
  }

  attemptCount(id: string): number {
    return (this.sql.prepare('SELECT COUNT(*) AS n FROM outbox_attempts WHERE notification_id = ?').get(id) as { n: number }).n;
  }

  /** Attempts that were not acknowledged (failures, drops, probes): the position in the retry schedule. */
  failedAttemptCount(id: string): number {
    return (this.sql.prepare('SELECT COUNT(*) AS n FROM outbox_attempts WHERE notification_id = ? AND acked = 0').get(id) as { n: number }).n;
  }

  /**
   * Records attempts (one, or two for DUPLICATE) and the resulting state in one transaction; `outcome` gets the
   * number of unacknowledged attempts so far and whether one of these was acknowledged.
   */
  recordAttempts(id: string, attempts: readonly NewAttempt[], outcome: (failedSoFar: number, acked: boolean) => { status: DeliveryStatus; nextAttemptAt: number | null }): { status: DeliveryStatus; nextAttemptAt: number | null } {
    return this.sql.transaction(() => {
      let attempt = this.attemptCount(id);
      for (const a of attempts) {
        attempt += 1;
        this.sql.prepare(`INSERT INTO outbox_attempts (notification_id, attempt, at, url, acked, status_code, latency_ms, error, fault, request_headers, request_body, response_headers, response_body)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(id, attempt, a.at, a.url, a.acked, a.status_code, a.latency_ms, a.error, a.fault, a.request_headers, a.request_body, a.response_headers, a.response_body);
      }
      const next = outcome(this.failedAttemptCount(id), attempts.some((a) => a.acked === 1));
      this.sql.prepare('UPDATE outbox SET status = ?, next_attempt_at = ?, held = 0 WHERE id = ?').run(next.status, next.nextAttemptAt, id);
      return next;
    });
  }

  /** Marks the fault applied to a notification's first delivery; DELAY moves its due time, REORDER holds it. */
  applyFault(id: string, fault: string, change: { nextAttemptAt?: number; held?: boolean }): void {
    if (change.held) this.sql.prepare('UPDATE outbox SET fault = ?, held = 1, next_attempt_at = NULL WHERE id = ?').run(fault, id);
    else if (change.nextAttemptAt !== undefined) this.sql.prepare('UPDATE outbox SET fault = ?, next_attempt_at = ? WHERE id = ?').run(fault, change.nextAttemptAt, id);
    else this.sql.prepare('UPDATE outbox SET fault = ? WHERE id = ?').run(fault, id);
  }

  /** REORDER: once another notification has been attempted, the held ones become due. Returns how many. */
  releaseHeld(exceptId: string, now: number): number {
    return this.sql.prepare(`UPDATE outbox SET held = 0, next_attempt_at = ? WHERE held = 1 AND status = 'pending' AND id != ?`).run(now, exceptId).changes;
  }

  /** Manual resend: due now again, whatever its state (a resend of a delivered notification is a duplicate, as on WeChat). */
  resend(id: string, now: number): boolean {
    return this.sql.prepare(`UPDATE outbox SET status = 'pending', held = 0, next_attempt_at = ? WHERE id = ?`).run(now, id).changes === 1;
  }

  /** The newest `limit` (default 500) matching, oldest first: a log that keeps growing still shows what just happened. */
  list(filter: OutboxFilter = {}): OutboxRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.channel !== undefined) { where.push('channel = ?'); args.push(filter.channel); }
    if (filter.outTradeNo !== undefined) { where.push('out_trade_no = ?'); args.push(filter.outTradeNo); }
    if (filter.outRefundNo !== undefined) { where.push('out_refund_no = ?'); args.push(filter.outRefundNo); }
    if (filter.eventType !== undefined) { where.push('substr(event_type, 1, ?) = ?'); args.push(filter.eventType.length, filter.eventType); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    const newest = `SELECT rowid FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    const sql = `SELECT * FROM outbox WHERE rowid IN (${newest}) ORDER BY created_at, rowid`;
    return this.sql.prepare(sql).all(...args, filter.limit ?? 500) as OutboxRow[];
  }

  attempts(id: string): AttemptRow[] {
    return this.sql.prepare('SELECT * FROM outbox_attempts WHERE notification_id = ? ORDER BY attempt').all(id) as AttemptRow[];
  }

  pendingCount(): number {
    return (this.sql.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'`).get() as { n: number }).n;
  }

  /** Every attempt in the log. */
  attemptTotal(): number {
    return (this.sql.prepare('SELECT COUNT(*) AS n FROM outbox_attempts').get() as { n: number }).n;
  }

  /**
   * Retention, one batch in one transaction: looks at up to `batch` notifications after `afterRowid`, oldest first,
   * and deletes — with their attempts — the settled ones (delivered or given up) whose last attempt is older than
   * `before` (sandbox ms), and, while `excessAttempts` > 0, settled ones regardless of age. A pending notification
   * is never deleted: its attempts are its place in the retry schedule. `done` once nothing further can qualify.
   */
  prune(afterRowid: number, before: number, excessAttempts: number, batch: number): { lastRowid: number; deletedAttempts: number; deletedNotifications: number; done: boolean } {
    return this.sql.transaction(() => {
      const rows = this.sql.prepare('SELECT rowid, id, status, created_at FROM outbox WHERE rowid > ? ORDER BY rowid LIMIT ?').all(afterRowid, batch) as { rowid: number; id: string; status: DeliveryStatus; created_at: number }[];
      let lastRowid = afterRowid;
      let deletedAttempts = 0;
      let deletedNotifications = 0;
      for (const n of rows) {
        // Notifications are appended in time order: past `before`, only the count limit can still delete.
        if (n.created_at >= before && excessAttempts - deletedAttempts <= 0) return { lastRowid, deletedAttempts, deletedNotifications, done: true };
        lastRowid = n.rowid;
        if (n.status === 'pending') continue;
        const activity = this.sql.prepare('SELECT COUNT(*) AS attempts, MAX(at) AS last FROM outbox_attempts WHERE notification_id = ?').get(n.id) as { attempts: number; last: number | null };
        if ((activity.last ?? n.created_at) >= before && excessAttempts - deletedAttempts <= 0) continue;
        this.sql.prepare('DELETE FROM outbox_attempts WHERE notification_id = ?').run(n.id);
        this.sql.prepare(`DELETE FROM outbox WHERE id = ? AND status != 'pending'`).run(n.id);
        deletedAttempts += activity.attempts;
        deletedNotifications += 1;
      }
      return { lastRowid, deletedAttempts, deletedNotifications, done: rows.length < batch };
    });
  }
}
