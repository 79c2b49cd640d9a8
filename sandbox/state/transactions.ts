import { Sql } from './db';

/** `trade_state` values (wxpay-v3.md §1.2); JSAPI orders only ever reach NOTPAY, SUCCESS, REFUND, CLOSED. */
export type TradeState = 'NOTPAY' | 'SUCCESS' | 'REFUND' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export interface TransactionRow {
  mchid: string;
  out_trade_no: string;
  appid: string;
  description: string;
  notify_url: string;
  attach: string | null;
  time_expire: string | null;
  amount_total: number;
  currency: string;
  payer_openid: string;
  device_id: string | null;
  request_json: string;
  trade_type: string;
  trade_state: TradeState;
  transaction_id: string | null;
  bank_type: string | null;
  payer_total: number | null;
  success_time: string | null;
  created_at: number;
  updated_at: number;
  /** Effective time_expire (clamped, wxpay-v3.md §1.1), sandbox ms; null only on rows from before migration 2. */
  expires_at: number | null;
  /** When WeChat closes the order by itself if still unpaid, sandbox ms. */
  auto_close_at: number | null;
  /** JSON `{result, at, message}` of the last simulated payment attempt (control pay / cancel). */
  last_pay_attempt: string | null;
}

export type NewTransaction = Omit<TransactionRow, 'trade_state' | 'transaction_id' | 'bank_type' | 'payer_total' | 'success_time' | 'updated_at' | 'last_pay_attempt'>;

export interface PrepayIdRow {
  prepay_id: string;
  mchid: string;
  out_trade_no: string;
  created_at: number;
  expires_at: number;
}

/** Rows of the `transactions` and `prepay_ids` tables. Plain data access; the rules live in domain/payments.ts. */
export class TransactionStore {
  constructor(private readonly sql: Sql) {}

  find(mchid: string, outTradeNo: string): TransactionRow | undefined {
    return this.sql.prepare('SELECT * FROM transactions WHERE mchid = ? AND out_trade_no = ?').get(mchid, outTradeNo) as TransactionRow | undefined;
  }

  findByTransactionId(mchid: string, transactionId: string): TransactionRow | undefined {
    return this.sql.prepare('SELECT * FROM transactions WHERE mchid = ? AND transaction_id = ?').get(mchid, transactionId) as TransactionRow | undefined;
  }

  insert(t: NewTransaction): void {
    this.sql.prepare(`INSERT INTO transactions
      (mchid, out_trade_no, appid, description, notify_url, attach, time_expire, amount_total, currency, payer_openid, device_id, request_json, trade_type, trade_state, created_at, updated_at, expires_at, auto_close_at)
      VALUES (@mchid, @out_trade_no, @appid, @description, @notify_url, @attach, @time_expire, @amount_total, @currency, @payer_openid, @device_id, @request_json, @trade_type, 'NOTPAY', @created_at, @created_at, @expires_at, @auto_close_at)`).run(t);
  }

  /** Compare-and-set on trade_state, so a racing close and pay cannot both win. Returns whether it applied. */
  markPaid(mchid: string, outTradeNo: string, p: { transactionId: string; bankType: string; payerTotal: number; successTime: string; at: number }): boolean {
    const r = this.sql.prepare(`UPDATE transactions SET trade_state = 'SUCCESS', transaction_id = ?, bank_type = ?, payer_total = ?, success_time = ?, updated_at = ?
      WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'NOTPAY'`).run(p.transactionId, p.bankType, p.payerTotal, p.successTime, p.at, mchid, outTradeNo);
    return r.changes === 1;
  }

  /** Unpaid (NOTPAY, or PAYERROR after a failed payment) → CLOSED. */
  markClosed(mchid: string, outTradeNo: string, at: number): boolean {
    const r = this.sql.prepare(`UPDATE transactions SET trade_state = 'CLOSED', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state IN ('NOTPAY', 'PAYERROR')`).run(at, mchid, outTradeNo);
    return r.changes === 1;
  }

  /** NOTPAY → PAYERROR (a failed payment, control `{"result":"PAYERROR"}`). */
  markPayError(mchid: string, outTradeNo: string, at: number): boolean {
    const r = this.sql.prepare(`UPDATE transactions SET trade_state = 'PAYERROR', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'NOTPAY'`).run(at, mchid, outTradeNo);
    return r.changes === 1;
  }

  /** SUCCESS → REFUND once a refund has been accepted (wxpay-v3.md §1.2: partial refunds included). */
  markRefund(mchid: string, outTradeNo: string, at: number): void {
    this.sql.prepare(`UPDATE transactions SET trade_state = 'REFUND', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'SUCCESS'`).run(at, mchid, outTradeNo);
  }

  setLastPayAttempt(mchid: string, outTradeNo: string, attempt: { result: string; at: string; message: string }): void {
    this.sql.prepare('UPDATE transactions SET last_pay_attempt = ? WHERE mchid = ? AND out_trade_no = ?').run(JSON.stringify(attempt), mchid, outTradeNo);
  }

  /** Unpaid orders whose auto-close time has come, closed in one statement; returns them as they are now. */
  autoClose(now: number): TransactionRow[] {
    const due = this.sql.prepare(`SELECT mchid, out_trade_no FROM transactions WHERE trade_state IN ('NOTPAY', 'PAYERROR') AND auto_close_at <= ?`).all(now) as { mchid: string; out_trade_no: string }[];
    const closed: TransactionRow[] = [];
    for (const d of due) {
      if (this.markClosed(d.mchid, d.out_trade_no, now)) closed.push(this.find(d.mchid, d.out_trade_no)!);
    }
    return closed;
  }

  /** Earliest pending auto-close time, if any. */
  nextAutoClose(): number | null {
    const r = this.sql.prepare(`SELECT MIN(auto_close_at) AS t FROM transactions WHERE trade_state IN ('NOTPAY', 'PAYERROR')`).get() as { t: number | null };
    return r.t;
  }

  /** The newest prepay_id of an order. */
  latestPrepayId(mchid: string, outTradeNo: string): PrepayIdRow | undefined {
    return this.sql.prepare('SELECT * FROM prepay_ids WHERE mchid = ? AND out_trade_no = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(mchid, outTradeNo) as PrepayIdRow | undefined;
  }

  findPrepayId(prepayId: string): PrepayIdRow | undefined {
    return this.sql.prepare('SELECT * FROM prepay_ids WHERE prepay_id = ?').get(prepayId) as PrepayIdRow | undefined;
  }

  /** Orders paid within [fromRfc3339, toRfc3339) (success_time is RFC 3339 in +08:00, so text order is time order). */
  paidBetween(mchid: string, fromRfc3339: string, toRfc3339: string): TransactionRow[] {
    return this.sql.prepare('SELECT * FROM transactions WHERE mchid = ? AND success_time >= ? AND success_time < ? ORDER BY success_time, out_trade_no').all(mchid, fromRfc3339, toRfc3339) as TransactionRow[];
  }

  addPrepayId(p: { prepayId: string; mchid: string; outTradeNo: string; createdAt: number; expiresAt: number }): void {
    this.sql.prepare('INSERT INTO prepay_ids (prepay_id, mchid, out_trade_no, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(p.prepayId, p.mchid, p.outTradeNo, p.createdAt, p.expiresAt);
  }

  /** Newest first; `prepayId` narrows the list to the order that prepay_id was issued for. */
  list(filter: { prepayId?: string; limit?: number } = {}): TransactionRow[] {
    if (filter.prepayId !== undefined) {
      return this.sql.prepare(`SELECT t.* FROM prepay_ids p JOIN transactions t ON t.mchid = p.mchid AND t.out_trade_no = p.out_trade_no
        WHERE p.prepay_id = ? ORDER BY t.created_at DESC LIMIT ?`).all(filter.prepayId, filter.limit ?? 200) as TransactionRow[];
    }
    return this.sql.prepare('SELECT * FROM transactions ORDER BY created_at DESC LIMIT ?').all(filter.limit ?? 200) as TransactionRow[];
  }
}
