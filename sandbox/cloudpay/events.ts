import { createNonce, toChinaCompact, toChinaDateTime, parseWechatTime } from '../../wxpay';
import { PROVIDER_APPID, PROVIDER_MCHID, providerOpenid } from './format';

/** What a paid order looks like to the payment event (a TransactionRow of state/transactions.ts, structurally). */
export interface PaidOrder {
  appid: string;
  mchid: string;
  out_trade_no: string;
  transaction_id: string | null;
  bank_type: string | null;
  amount_total: number;
  payer_total: number | null;
  currency: string;
  payer_openid: string;
  attach: string | null;
  success_time: string | null;
  trade_type: string;
}

/**
 * The payment callback's `event` (wxpay-v2-cloudpay.md §5.4): the v2 payment notification, verified by CloudPay
 * and camelCased; no `sign`. `openid` is under the provider's appid, `subOpenid` is the mini-program's payer.
 */
export function paymentEvent(t: PaidOrder): Record<string, unknown> {
  const paidAt = parseWechatTime(t.success_time);
  return {
    returnCode: 'SUCCESS',
    appid: PROVIDER_APPID,
    mchId: PROVIDER_MCHID,
    subAppid: t.appid,
    subMchId: t.mchid,
    nonceStr: createNonce(32),
    resultCode: 'SUCCESS',
    openid: providerOpenid(t.payer_openid),
    isSubscribe: 'N',
    subOpenid: t.payer_openid,
    subIsSubscribe: 'N',
    tradeType: t.trade_type,
    bankType: t.bank_type ?? 'OTHERS',
    totalFee: t.amount_total,
    feeType: t.currency,
    cashFee: t.payer_total ?? t.amount_total,
    transactionId: t.transaction_id ?? '',
    outTradeNo: t.out_trade_no,
    timeEnd: paidAt === undefined ? '' : toChinaCompact(paidAt),
    ...(t.attach ? { attach: t.attach } : {}),
  };
}

/** What a settled refund looks like to the refund event (a RefundRow, structurally). */
export interface SettledRefund {
  mchid: string;
  out_trade_no: string;
  transaction_id: string;
  refund_id: string;
  out_refund_no: string;
  amount_total: number;
  amount_refund: number;
  status: string;
  success_time: string | null;
}

/** v3 refund status → v2 `refund_status` (§1.5, §3.2): ABNORMAL is v2's CHANGE, CLOSED is REFUNDCLOSE. */
export function v2RefundStatus(v3: string): string {
  switch (v3) {
    case 'ABNORMAL': return 'CHANGE';
    case 'CLOSED': return 'REFUNDCLOSE';
    default: return v3; // SUCCESS, PROCESSING
  }
}

/**
 * The refund callback's `event` (wxpay-v2-cloudpay.md §5.5): the decrypted `req_info` fields, flat and camelCased,
 * with the outer envelope. No attach (refund notifications carry none). `successTime` only for SUCCESS.
 */
export function refundEvent(r: SettledRefund): Record<string, unknown> {
  const doneAt = parseWechatTime(r.success_time);
  return {
    returnCode: 'SUCCESS',
    appid: PROVIDER_APPID,
    mchId: PROVIDER_MCHID,
    subMchId: r.mchid,
    nonceStr: createNonce(32),
    transactionId: r.transaction_id,
    outTradeNo: r.out_trade_no,
    refundId: r.refund_id,
    outRefundNo: r.out_refund_no,
    totalFee: r.amount_total,
    settlementTotalFee: r.amount_total,
    refundFee: r.amount_refund,
    settlementRefundFee: r.amount_refund,
    refundStatus: v2RefundStatus(r.status),
    ...(r.status === 'SUCCESS' && doneAt !== undefined ? { successTime: toChinaDateTime(doneAt) } : {}),
    refundRecvAccout: '支付用户零钱',
    refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
    refundRequestSource: 'API',
  };
}
