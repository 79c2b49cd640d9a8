import { ParsedBill, parseBill, yuanToFen } from '../wxpay';
import type { DownloadBillOutput } from '../schemas/types.generated';

/**
 * Bill rows in the builder's words: camelCase keys, amounts in fen as integers (bills are in yuan,
 * wxpay-v3.md §1.7), backticks already stripped by the core parser. The service fee (手续费) has five
 * decimals — thousandths of a fen — so it stays the exact yuan text rather than a rounded number.
 */
const COLUMN_KEYS: Record<string, [string, 'text' | 'fen' | 'count']> = {
  交易时间: ['tradeTime', 'text'], 公众账号ID: ['appid', 'text'], 商户号: ['mchid', 'text'], 特约商户号: ['subMchid', 'text'],
  设备号: ['deviceInfo', 'text'], 微信订单号: ['transactionId', 'text'], 商户订单号: ['outTradeNo', 'text'], 用户标识: ['openid', 'text'],
  交易类型: ['tradeType', 'text'], 交易状态: ['tradeState', 'text'], 付款银行: ['bankType', 'text'], 货币种类: ['currency', 'text'],
  应结订单金额: ['settlementTotalFee', 'fen'], 代金券金额: ['couponFee', 'fen'], 退款申请时间: ['refundApplyTime', 'text'],
  退款成功时间: ['refundSuccessTime', 'text'], 微信退款单号: ['refundId', 'text'], 商户退款单号: ['outRefundNo', 'text'],
  退款金额: ['refundFee', 'fen'], 充值券退款金额: ['rechargeCouponRefundFee', 'fen'], 退款类型: ['refundType', 'text'],
  退款状态: ['refundStatus', 'text'], 商品名称: ['body', 'text'], 商户数据包: ['attach', 'text'], 手续费: ['serviceFeeYuan', 'text'],
  费率: ['rate', 'text'], 订单金额: ['totalFee', 'fen'], 申请退款金额: ['requestedRefundFee', 'fen'], 费率备注: ['rateRemark', 'text'],
  // summary
  总交易单数: ['count', 'count'], 应结订单总金额: ['settlementTotalFee', 'fen'], 退款总金额: ['refundFee', 'fen'],
  充值券退款总金额: ['rechargeCouponRefundFee', 'fen'], 手续费总金额: ['serviceFeeYuan', 'text'], 订单总金额: ['totalFee', 'fen'],
  申请退款总金额: ['requestedRefundFee', 'fen'],
};

function convert(row: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [column, value] of Object.entries(row)) {
    const [key, kind] = COLUMN_KEYS[column] ?? [column, 'text'];
    if (kind === 'fen') out[key] = value === '' ? 0 : yuanToFen(value);
    else if (kind === 'count') out[key] = Math.round(Number(value));
    else out[key] = value;
  }
  return out;
}

export function billOutput(text: string, billDate: string, billType: DownloadBillOutput['billType'], raw: boolean): DownloadBillOutput {
  const parsed: ParsedBill = parseBill(text);
  return {
    billDate,
    billType,
    rows: parsed.rows.map(convert),
    summary: convert(parsed.summary),
    ...(raw ? { raw: text } : {}),
  };
}

/** yyyyMMdd or yyyy-MM-dd → yyyy-MM-dd. */
export function isoBillDate(billDate: string): string {
  const digits = billDate.replace(/-/g, '');
  return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
}
