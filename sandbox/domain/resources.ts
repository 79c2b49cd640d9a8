/** The v3 objects the sandbox answers with and notifies (wxpay-v3.md §1.2, §1.4, §4), built from stored rows. */
import type { RefundRow } from '../state/refunds';
import type { TradeState, TransactionRow } from '../state/transactions';

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

function amountOf(r: RefundRow): Record<string, unknown> {
  return {
    total: r.amount_total,
    refund: r.amount_refund,
    from: [],
    payer_total: r.amount_total, // no coupons in the sandbox: payer paid the total
    payer_refund: r.amount_refund,
    settlement_refund: r.amount_refund,
    settlement_total: r.amount_total,
    discount_refund: 0,
    currency: r.currency,
    refund_fee: 0,
  };
}

/** The Refund object (§1.4): body of refund create and refund query. `success_time` only once SUCCESS. */
export function refundResource(r: RefundRow): Record<string, unknown> {
  return {
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    transaction_id: r.transaction_id,
    out_trade_no: r.out_trade_no,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(r.success_time ? { success_time: r.success_time } : {}),
    create_time: r.create_time,
    status: r.status,
    funds_account: r.funds_account ?? 'AVAILABLE',
    amount: amountOf(r),
    promotion_detail: [],
  };
}

/** The decrypted resource of a REFUND.* notification (§4): note `refund_status`, not `status`. */
export function refundNotificationResource(r: RefundRow): Record<string, unknown> {
  return {
    mchid: r.mchid,
    transaction_id: r.transaction_id,
    out_trade_no: r.out_trade_no,
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    refund_status: r.status,
    ...(r.success_time ? { success_time: r.success_time } : {}),
    user_received_account: '支付用户零钱',
    channel: 'ORIGINAL',
    funds_account: r.funds_account ?? 'AVAILABLE',
    amount: { total: r.amount_total, refund: r.amount_refund, payer_total: r.amount_total, payer_refund: r.amount_refund },
  };
}
