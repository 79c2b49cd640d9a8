import { Db } from './state';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface NotificationRow {
  id: string;
  event_type: string;
  url: string;
  out_trade_no: string | null;
  out_refund_no: string | null;
  resource_json: string;
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
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  request_headers: string;
  request_body: string;
  response_body: string | null;
  /** Fault injected into this attempt (DROP: not sent; PROBE: WECHATPAY/SIGNTEST signature; DUPLICATE: sent twice). */
  fault: string | null;
  response_headers: string | null;
}

export interface NewNotification {
  id: string;
  eventType: string;
  url: string;
  outTradeNo?: string;
  outRefundNo?: string;
  resource: unknown;
  createTime: string;
  createdAt: number;
}

/** The notification outbox and its attempt log (persisted, so deliveries survive a restart). */
export class NotificationStore {
  constructor(private readonly db: Db) {}

  /** Queues a notification for immediate delivery (first attempt due now). */
  enqueue(n: NewNotification): void {
    this.db.prepare(`INSERT INTO notifications (id, event_type, url, out_trade_no, out_refund_no, resource_json, create_time, status, next_attempt_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`).run(n.id, n.eventType, n.url, n.outTradeNo ?? null, n.outRefundNo ?? null, JSON.stringify(n.resource), n.createTime, n.createdAt, n.createdAt);
  }

  get(id: string): NotificationRow | undefined {
    return this.db.prepare('SELECT * FROM notifications WHERE id = ?').get(id) as NotificationRow | undefined;
  }

  /** Pending notifications whose next attempt is due at `now` (sandbox clock), oldest first. */
  due(now: number, limit: number): NotificationRow[] {
    return this.db.prepare(`SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`).all(now, limit) as NotificationRow[];
  }

  attemptCount(id: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM notification_attempts WHERE notification_id = ?').get(id) as { n: number }).n;
  }

  /** Records one attempt and the resulting state in one transaction. */
  /** Attempts that were not acknowledged (failures, drops, probes): the position in the retry schedule. */
  failedAttemptCount(id: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM notification_attempts WHERE notification_id = ? AND (status_code IS NULL OR status_code NOT IN (200, 204))').get(id) as { n: number }).n;
  }

  /** Records attempts (one, or two for DUPLICATE) and the resulting state in one transaction. */
  recordAttempts(attempts: Omit<AttemptRow, 'attempt' | 'notification_id'>[], id: string, outcome: (failedSoFar: number, acked: boolean) => { status: DeliveryStatus; nextAttemptAt: number | null }): { status: DeliveryStatus; nextAttemptAt: number | null } {
    return this.db.transaction(() => {
      let attempt = this.attemptCount(id);
      for (const a of attempts) {
        attempt += 1;
        this.db.prepare(`INSERT INTO notification_attempts (notification_id, attempt, at, status_code, latency_ms, error, request_headers, request_body, response_body, fault, response_headers)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(id, attempt, a.at, a.status_code, a.latency_ms, a.error, a.request_headers, a.request_body, a.response_body, a.fault, a.response_headers);
      }
      const acked = attempts.some((a) => a.status_code === 200 || a.status_code === 204);
      const next = outcome(this.failedAttemptCount(id), acked);
      this.db.prepare('UPDATE notifications SET status = ?, next_attempt_at = ?, held = 0 WHERE id = ?').run(next.status, next.nextAttemptAt, id);
      return next;
    })();
  }

  /** Marks the fault applied to a notification's first delivery; DELAY moves its due time, REORDER holds it. */
  applyFault(id: string, fault: string, change: { nextAttemptAt?: number; held?: boolean }): void {
    if (change.held) this.db.prepare('UPDATE notifications SET fault = ?, held = 1, next_attempt_at = NULL WHERE id = ?').run(fault, id);
    else if (change.nextAttemptAt !== undefined) this.db.prepare('UPDATE notifications SET fault = ?, next_attempt_at = ? WHERE id = ?').run(fault, change.nextAttemptAt, id);
    else this.db.prepare('UPDATE notifications SET fault = ? WHERE id = ?').run(fault, id);
  }

  /** REORDER: once another notification has been attempted, the held ones become due. Returns how many. */
  releaseHeld(exceptId: string, now: number): number {
    return this.db.prepare(`UPDATE notifications SET held = 0, next_attempt_at = ? WHERE held = 1 AND status = 'pending' AND id != ?`).run(now, exceptId).changes;
  }

  /** Manual resend: due now again, whatever its state (a resend of a delivered notification is a duplicate, as on WeChat). */
  resend(id: string, now: number): boolean {
    return this.db.prepare(`UPDATE notifications SET status = 'pending', held = 0, next_attempt_at = ? WHERE id = ?`).run(now, id).changes === 1;
  }

  list(filter: { outTradeNo?: string; outRefundNo?: string; eventType?: string; status?: DeliveryStatus; limit?: number }): NotificationRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.outTradeNo !== undefined) { where.push('out_trade_no = ?'); args.push(filter.outTradeNo); }
    if (filter.outRefundNo !== undefined) { where.push('out_refund_no = ?'); args.push(filter.outRefundNo); }
    if (filter.eventType !== undefined) { where.push('substr(event_type, 1, ?) = ?'); args.push(filter.eventType.length, filter.eventType); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    const sql = `SELECT * FROM notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, rowid LIMIT ?`;
    return this.db.prepare(sql).all(...args, filter.limit ?? 500) as NotificationRow[];
  }

  attempts(id: string): AttemptRow[] {
    return this.db.prepare('SELECT * FROM notification_attempts WHERE notification_id = ? ORDER BY attempt').all(id) as AttemptRow[];
  }
}
