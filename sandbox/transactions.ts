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
}

export type NewTransaction = Omit<TransactionRow, 'trade_state' | 'transaction_id' | 'bank_type' | 'payer_total' | 'success_time' | 'updated_at'>;

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
      (mchid, out_trade_no, appid, description, notify_url, attach, time_expire, amount_total, currency, payer_openid, device_id, request_json, trade_type, trade_state, created_at, updated_at)
      VALUES (@mchid, @out_trade_no, @appid, @description, @notify_url, @attach, @time_expire, @amount_total, @currency, @payer_openid, @device_id, @request_json, @trade_type, 'NOTPAY', @created_at, @created_at)`).run(t);
  }

  /** Compare-and-set on trade_state, so a racing close and pay cannot both win. Returns whether it applied. */
  markPaid(mchid: string, outTradeNo: string, p: { transactionId: string; bankType: string; payerTotal: number; successTime: string; at: number }): boolean {
    const r = this.db.prepare(`UPDATE transactions SET trade_state = 'SUCCESS', transaction_id = ?, bank_type = ?, payer_total = ?, success_time = ?, updated_at = ?
      WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'NOTPAY'`).run(p.transactionId, p.bankType, p.payerTotal, p.successTime, p.at, mchid, outTradeNo);
    return r.changes === 1;
  }

  markClosed(mchid: string, outTradeNo: string, at: number): boolean {
    const r = this.db.prepare(`UPDATE transactions SET trade_state = 'CLOSED', updated_at = ? WHERE mchid = ? AND out_trade_no = ? AND trade_state = 'NOTPAY'`).run(at, mchid, outTradeNo);
    return r.changes === 1;
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
