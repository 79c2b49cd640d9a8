import { Db } from './state';

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

/** Rows of the `transactions` and `prepay_ids` tables. Plain data access; rules live in payments.ts. */
export class TransactionStore {
  constructor(private readonly db: Db) {}

  find(mchid: string, outTradeNo: string): TransactionRow | undefined {
    return this.db.prepare('SELECT * FROM transactions WHERE mchid = ? AND out_trade_no = ?').get(mchid, outTradeNo) as TransactionRow | undefined;
  }

  findByTransactionId(mchid: string, transactionId: string): TransactionRow | undefined {
    return this.db.prepare('SELECT * FROM transactions WHERE mchid = ? AND transaction_id = ?').get(mchid, transactionId) as TransactionRow | undefined;
  }

  insert(t: NewTransaction): void {
    this.db.prepare(`INSERT INTO transactions
      (mchid, out_trade_no, appid, description, notify_url, attach, time_expire, amount_total, currency, payer_openid, device_id, request_json, trade_type, trade_state, created_at, updated_at, expires_at, auto_close_at)
      VALUES (@mchid, @out_trade_no, @appid, @description, @notify_url, @attach, @time_expire, @amount_total, @currency, @payer_openid, @device_id, @request_json, @trade_type, 'NOTPAY', @created_at, @created_at, @expires_at, @auto_close_at)`).run(t);
  }

  /** Compare-and-set on trade_state, so a racing close and pay cannot both win. Returns whether it applied. */
  markPaid(mchid: string, outTradeNo: string, p: { transactionId: string; bankType: string; payerTotal: number; successTime: string; at: number }): boolean {
    const r = this.db.prepare(`UPDATE transactions SET trade_state = 'SUCCESS', transaction_id = ?, bank_type = ?, payer_total = ?, success_time = ?, updated_at = ?
      WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'NOTPAY'`).run(p.transactionId, p.bankType, p.payerTotal, p.successTime, p.at, mchid, outTradeNo);
    return r.changes === 1;
  }

  /** Unpaid (NOTPAY, or PAYERROR after a failed payment) → CLOSED. */
  markClosed(mchid: string, outTradeNo: string, at: number): boolean {
    const r = this.db.prepare(`UPDATE transactions SET trade_state = 'CLOSED', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state IN ('NOTPAY', 'PAYERROR')`).run(at, mchid, outTradeNo);
    return r.changes === 1;
  }

  /** NOTPAY → PAYERROR (a failed payment, control `{"result":"PAYERROR"}`). */
  markPayError(mchid: string, outTradeNo: string, at: number): boolean {
    const r = this.db.prepare(`UPDATE transactions SET trade_state = 'PAYERROR', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'NOTPAY'`).run(at, mchid, outTradeNo);
    return r.changes === 1;
  }

  /** SUCCESS → REFUND once a refund has been accepted (wxpay-v3.md §1.2: partial refunds included). */
  markRefund(mchid: string, outTradeNo: string, at: number): void {
    this.db.prepare(`UPDATE transactions SET trade_state = 'REFUND', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'SUCCESS'`).run(at, mchid, outTradeNo);
  }

  setLastPayAttempt(mchid: string, outTradeNo: string, attempt: { result: string; at: string; message: string }): void {
    this.db.prepare('UPDATE transactions SET last_pay_attempt = ? WHERE mchid = ? AND out_trade_no = ?').run(JSON.stringify(attempt), mchid, outTradeNo);
  }

  /** Unpaid orders whose auto-close time has come, closed in one statement; returns them as they are now. */
  autoClose(now: number): TransactionRow[] {
    const due = this.db.prepare(`SELECT mchid, out_trade_no FROM transactions WHERE trade_state IN ('NOTPAY', 'PAYERROR') AND auto_close_at <= ?`).all(now) as { mchid: string; out_trade_no: string }[];
    const closed: TransactionRow[] = [];
    for (const d of due) {
      if (this.markClosed(d.mchid, d.out_trade_no, now)) closed.push(this.find(d.mchid, d.out_trade_no)!);
    }
    return closed;
  }

  /** Earliest pending auto-close time, if any. */
  nextAutoClose(): number | null {
    const r = this.db.prepare(`SELECT MIN(auto_close_at) AS t FROM transactions WHERE trade_state IN ('NOTPAY', 'PAYERROR')`).get() as { t: number | null };
    return r.t;
  }

  /** The newest prepay_id of an order. */
  latestPrepayId(mchid: string, outTradeNo: string): PrepayIdRow | undefined {
    return this.db.prepare('SELECT * FROM prepay_ids WHERE mchid = ? AND out_trade_no = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(mchid, outTradeNo) as PrepayIdRow | undefined;
  }

  findPrepayId(prepayId: string): PrepayIdRow | undefined {
    return this.db.prepare('SELECT * FROM prepay_ids WHERE prepay_id = ?').get(prepayId) as PrepayIdRow | undefined;
  }

  /** Orders paid within [fromRfc3339, toRfc3339) (success_time is RFC 3339 in +08:00, so text order is time order). */
  paidBetween(mchid: string, fromRfc3339: string, toRfc3339: string): TransactionRow[] {
    return this.db.prepare('SELECT * FROM transactions WHERE mchid = ? AND success_time >= ? AND success_time < ? ORDER BY success_time, out_trade_no').all(mchid, fromRfc3339, toRfc3339) as TransactionRow[];
  }

  addPrepayId(p: { prepayId: string; mchid: string; outTradeNo: string; createdAt: number; expiresAt: number }): void {
    this.db.prepare('INSERT INTO prepay_ids (prepay_id, mchid, out_trade_no, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(p.prepayId, p.mchid, p.outTradeNo, p.createdAt, p.expiresAt);
  }

  list(limit = 200): TransactionRow[] {
    return this.db.prepare('SELECT * FROM transactions ORDER BY created_at DESC LIMIT ?').all(limit) as TransactionRow[];
  }
}

/** Trade-state descriptions as the API words them. */
const STATE_DESC: Record<TradeState, string> = {
  NOTPAY: '订单未支付',
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  CLOSED: '订单已关闭',
  REVOKED: '已撤销',
  USERPAYING: '用户支付中',
  PAYERROR: '支付失败',
};

/**
 * The v3 Transaction object (wxpay-v3.md §1.2), the body of a query and the decrypted resource of a
 * TRANSACTION.SUCCESS notification. Payment fields (transaction_id, payer, success_time, attach, …) appear only
 * once the order has been paid; `attach` is echoed only then (§1.1).
 */
export function transactionResource(t: TransactionRow): Record<string, unknown> {
  const base: Record<string, unknown> = {
    appid: t.appid,
    mchid: t.mchid,
    out_trade_no: t.out_trade_no,
    trade_state: t.trade_state,
    trade_state_desc: STATE_DESC[t.trade_state],
  };
  if (t.transaction_id === null) {
    return { ...base, amount: { total: t.amount_total, currency: t.currency, payer_currency: t.currency } };
  }
  return {
    ...base,
    transaction_id: t.transaction_id,
    trade_type: t.trade_type,
    bank_type: t.bank_type,
    attach: t.attach ?? '',
    success_time: t.success_time,
    payer: { openid: t.payer_openid },
    amount: { total: t.amount_total, payer_total: t.payer_total, currency: t.currency, payer_currency: t.currency },
    ...(t.device_id ? { scene_info: { device_id: t.device_id } } : {}),
  };
}
