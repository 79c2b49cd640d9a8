import { Sql } from './db';

/** Refund `status` (wxpay-v3.md §1.4). */
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';
/** Final outcomes a PROCESSING refund can settle to. */
export type RefundOutcome = Exclude<RefundStatus, 'PROCESSING'>;

export interface RefundRow {
  refund_id: string;
  mchid: string;
  out_refund_no: string;
  out_trade_no: string;
  transaction_id: string;
  reason: string | null;
  notify_url: string;
  funds_account: string | null;
  request_json: string;
  amount_refund: number;
  amount_total: number;
  currency: string;
  status: RefundStatus;
  create_time: string;
  success_time: string | null;
  settle_at: number | null;
  source: string;
  created_at: number;
  updated_at: number;
}

/** Rows of the `refunds` table. Plain data access; the rules live in domain/refunds.ts. */
export class RefundStore {
  constructor(private readonly sql: Sql) {}

  find(mchid: string, outRefundNo: string): RefundRow | undefined {
    return this.sql.prepare('SELECT * FROM refunds WHERE mchid = ? AND out_refund_no = ?').get(mchid, outRefundNo) as RefundRow | undefined;
  }

  findById(mchid: string, refundId: string): RefundRow | undefined {
    return this.sql.prepare('SELECT * FROM refunds WHERE mchid = ? AND refund_id = ?').get(mchid, refundId) as RefundRow | undefined;
  }

  forOrder(mchid: string, outTradeNo: string): RefundRow[] {
    return this.sql.prepare('SELECT * FROM refunds WHERE mchid = ? AND out_trade_no = ? ORDER BY created_at, rowid').all(mchid, outTradeNo) as RefundRow[];
  }

  list(filter: { outTradeNo?: string; status?: RefundStatus; limit?: number } = {}): RefundRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.outTradeNo !== undefined) { where.push('out_trade_no = ?'); args.push(filter.outTradeNo); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    return this.sql.prepare(`SELECT * FROM refunds ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(...args, filter.limit ?? 200) as RefundRow[];
  }

  insert(r: RefundRow): void {
    this.sql.prepare(`INSERT INTO refunds (refund_id, mchid, out_refund_no, out_trade_no, transaction_id, reason, notify_url, funds_account, request_json,
      amount_refund, amount_total, currency, status, create_time, success_time, settle_at, source, created_at, updated_at)
      VALUES (@refund_id, @mchid, @out_refund_no, @out_trade_no, @transaction_id, @reason, @notify_url, @funds_account, @request_json,
      @amount_refund, @amount_total, @currency, @status, @create_time, @success_time, @settle_at, @source, @created_at, @updated_at)`).run(r);
  }

  /** Compare-and-set PROCESSING → outcome. Returns whether it applied. */
  settle(mchid: string, outRefundNo: string, status: RefundOutcome, successTime: string | null, at: number): boolean {
    return this.sql.prepare(`UPDATE refunds SET status = ?, success_time = ?, settle_at = NULL, updated_at = ? WHERE mchid = ? AND out_refund_no = ? AND status = 'PROCESSING'`)
      .run(status, successTime, at, mchid, outRefundNo).changes === 1;
  }

  due(now: number): RefundRow[] {
    return this.sql.prepare(`SELECT * FROM refunds WHERE status = 'PROCESSING' AND settle_at <= ? ORDER BY settle_at, rowid`).all(now) as RefundRow[];
  }

  nextSettle(): number | null {
    return (this.sql.prepare(`SELECT MIN(settle_at) AS t FROM refunds WHERE status = 'PROCESSING'`).get() as { t: number | null }).t;
  }

  /** Refunds created within [from, to) (create_time is RFC 3339 in +08:00, so text order is time order). */
  createdBetween(mchid: string, fromRfc3339: string, toRfc3339: string): RefundRow[] {
    return this.sql.prepare('SELECT * FROM refunds WHERE mchid = ? AND create_time >= ? AND create_time < ? ORDER BY create_time, rowid').all(mchid, fromRfc3339, toRfc3339) as RefundRow[];
  }
}
