import type { BillType } from '../../wxpay';
import { Sql } from './db';
import type { RefundRow } from './refunds';
import type { TransactionRow } from './transactions';

/** Which bill: one per merchant, day and type. */
export interface BillKey {
  mchid: string;
  billDate: string;
  billType: BillType;
}

export interface StoredBill {
  sha1: string;
  /** Bytes of the (uncompressed) bill. */
  size: number;
}

export interface BillTokenRow {
  token: string;
  mchid: string;
  bill_date: string;
  bill_type: BillType;
  gzip: number;
  expires_at: number;
}

const PAYMENT_FIELDS = ['mchid', 'out_trade_no', 'appid', 'description', 'attach', 'amount_total', 'currency', 'payer_openid', 'device_id', 'trade_type', 'transaction_id', 'bank_type', 'success_time'] as const;
const PAYMENT_COLUMNS = PAYMENT_FIELDS.join(', ');
/** What a payment row of a bill is written from. */
export type BillPaymentRow = Pick<TransactionRow, (typeof PAYMENT_FIELDS)[number]>;

const REFUND_FIELDS = ['rowid', 'mchid', 'refund_id', 'out_refund_no', 'out_trade_no', 'transaction_id', 'amount_refund', 'status', 'create_time', 'success_time', 'created_at'] as const;
const REFUND_COLUMNS = REFUND_FIELDS.join(', ');
/** What a refund row of a bill is written from (`rowid`: the cursor's tie-break). */
export type BillRefundRow = Pick<RefundRow, Exclude<(typeof REFUND_FIELDS)[number], 'rowid'>> & { rowid: number };

/** Appends a bill's bytes a chunk at a time, then records the bill; run inside one transaction. */
export interface BillWriter {
  append(bytes: Buffer): void;
  commit(bill: StoredBill, at: number): void;
}

/**
 * Rows of `bills` (each day's bill frozen once generated, as WeChat's are), their bytes in `bill_chunks` (a bill of
 * any size is written and read a chunk at a time, never whole), and `bill_tokens`; plus the day's payments and
 * refunds in bill order, a page at a time. Bills stored before the chunks existed keep their bytes in
 * `bills.content`.
 */
export class BillStore {
  constructor(private readonly sql: Sql) {}

  get(k: BillKey): StoredBill | undefined {
    const r = this.sql.prepare('SELECT sha1, coalesce(size, length(content)) AS size FROM bills WHERE mchid = ? AND bill_date = ? AND bill_type = ?').get(k.mchid, k.billDate, k.billType) as StoredBill | undefined;
    return r ? { sha1: r.sha1, size: r.size } : undefined;
  }

  writer(k: BillKey): BillWriter {
    const insert = this.sql.prepare('INSERT INTO bill_chunks (mchid, bill_date, bill_type, seq, bytes) VALUES (?, ?, ?, ?, ?)');
    this.sql.prepare('DELETE FROM bill_chunks WHERE mchid = ? AND bill_date = ? AND bill_type = ?').run(k.mchid, k.billDate, k.billType);
    let seq = 0;
    return {
      append: (bytes) => { insert.run(k.mchid, k.billDate, k.billType, seq++, bytes); },
      commit: (bill, at) => {
        this.sql.prepare("INSERT INTO bills (mchid, bill_date, bill_type, content, sha1, size, created_at) VALUES (?, ?, ?, x'', ?, ?, ?)")
          .run(k.mchid, k.billDate, k.billType, bill.sha1, bill.size, at);
      },
    };
  }

  /**
   * The bill's bytes, chunk after chunk. Each chunk is its own lookup (no statement is left open between them), so
   * the caller may hand them to a slow reader while the sandbox goes on answering.
   */
  *chunks(k: BillKey): Generator<Buffer> {
    const chunk = this.sql.prepare('SELECT bytes FROM bill_chunks WHERE mchid = ? AND bill_date = ? AND bill_type = ? AND seq = ?');
    let seq = 0;
    for (let r = chunk.get(k.mchid, k.billDate, k.billType, seq) as { bytes: Buffer } | undefined; r; r = chunk.get(k.mchid, k.billDate, k.billType, ++seq) as { bytes: Buffer } | undefined) {
      yield r.bytes;
    }
    if (seq === 0) {
      const whole = this.sql.prepare('SELECT content FROM bills WHERE mchid = ? AND bill_date = ? AND bill_type = ?').get(k.mchid, k.billDate, k.billType) as { content: Buffer } | undefined;
      if (whole && whole.content.length) yield whole.content;
    }
  }

  /** The whole bill in memory: for the answers that carry it whole (CloudPay's `{data}`, the console's download). */
  content(k: BillKey): Buffer {
    return Buffer.concat([...this.chunks(k)]);
  }

  /**
   * Payments that succeeded in [from, to) (RFC 3339 +08:00 text, so text order is time order) after the cursor
   * (`after`, else from the day's start), in bill order, with the columns a bill row needs. Each page is one range of
   * the (success_time, out_trade_no) index; `+mchid` keeps the planner off the merchant's index, which would sort all
   * of a merchant's orders for every page.
   */
  paymentsPage(mchid: string, from: string, to: string, after: { time: string; outTradeNo: string } | null, limit: number): BillPaymentRow[] {
    return this.sql.prepare(`SELECT ${PAYMENT_COLUMNS} FROM transactions WHERE +mchid = ? AND (success_time, out_trade_no) > (?, ?) AND success_time < ? ORDER BY success_time, out_trade_no LIMIT ?`)
      .all(mchid, after?.time ?? from, after?.outTradeNo ?? '', to, limit) as BillPaymentRow[];
  }

  /** Refunds created in [from, to) (sandbox ms) after the cursor, in creation order: one range of the created_at index. */
  refundsPage(mchid: string, from: number, to: number, after: { createdAt: number; rowid: number } | null, limit: number): BillRefundRow[] {
    return this.sql.prepare(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE +mchid = ? AND (created_at, rowid) > (?, ?) AND created_at < ? ORDER BY created_at, rowid LIMIT ?`)
      .all(mchid, after?.createdAt ?? from, after?.rowid ?? 0, to, limit) as BillRefundRow[];
  }

  addToken(t: BillTokenRow): void {
    this.sql.prepare('INSERT INTO bill_tokens (token, mchid, bill_date, bill_type, gzip, expires_at) VALUES (@token, @mchid, @bill_date, @bill_type, @gzip, @expires_at)').run(t);
  }

  token(token: string): BillTokenRow | undefined {
    return this.sql.prepare('SELECT * FROM bill_tokens WHERE token = ?').get(token) as BillTokenRow | undefined;
  }

  pruneTokens(now: number): void {
    this.sql.prepare('DELETE FROM bill_tokens WHERE expires_at < ?').run(now - 86_400_000);
  }
}
