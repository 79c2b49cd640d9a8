/**
 * refund, queryRefund and downloadBill on the shared refund and bill domain (domain/refunds.ts, domain/bills.ts):
 * a refund placed here is a v3 refund too (source 'cloudpay', no v3 notification: its settlement calls the
 * refund function instead), and v3 refunds show up in queryRefund.
 */
import { gzipSync } from 'node:zlib';
import { BillType, toChinaDateTime, parseWechatTime } from '../../wxpay';
import { SandboxError } from '../domain/errors';
import { OUT_REFUND_NO_PATTERN } from '../domain/refunds';
import type { RefundRow } from '../state/refunds';
import type { TransactionRow } from '../state/transactions';
import { v2RefundStatus } from './events';
import { ApiContext, fen, optString, paramFail, Params, RawResult, required } from './params';
import { businessFail, protocolFail, V2_TEXT } from './v2-errors';

/** refundquery pages by 10 when an order has more refunds (wxpay-v2-cloudpay.md §1.5). */
const PAGE = 10;

/** §1.4 / §5.3: accepted ≠ refunded; the same out_refund_no with the same amounts answers the same refund. */
export function refund(p: Params, c: ApiContext): Record<string, unknown> {
  const mchid = c.checkSubMch(p);
  const envId = required(p, 'env_id');
  const functionName = required(p, 'function_name');
  const transactionId = optString(p, 'transaction_id') || undefined;
  const outTradeNo = optString(p, 'out_trade_no') || undefined;
  if (!transactionId && !outTradeNo) throw businessFail('LACK_PARAMS', '缺少参数out_trade_no或transaction_id');
  const outRefundNo = required(p, 'out_refund_no');
  if (!OUT_REFUND_NO_PATTERN.test(outRefundNo)) throw paramFail('out_refund_no', '须为1-64位数字、大小写字母或_-|*@');
  const totalFee = fen(p, 'total_fee');
  const refundFee = fen(p, 'refund_fee');
  const feeType = optString(p, 'refund_fee_type') || 'CNY';
  if (feeType !== 'CNY') throw paramFail('refund_fee_type', '仅支持CNY');
  const reason = optString(p, 'refund_desc');
  if (reason !== undefined && [...reason].length > 80) throw paramFail('refund_desc', '长度不能超过80个字符');

  let refund: RefundRow;
  try {
    ({ refund } = c.refunds.create({
      mchid,
      ...(outTradeNo ? { outTradeNo } : {}),
      ...(transactionId ? { transactionId } : {}),
      outRefundNo,
      ...(reason ? { reason } : {}),
      notifyUrl: '', // CloudPay calls the refund function (index.ts, on 'refund.settled') instead of a v3 notification
      amount: { refund: refundFee, total: totalFee, currency: feeType },
      source: 'cloudpay',
    }));
  } catch (err) {
    throw refundFailure(err);
  }
  // The first request names the callback; a replay keeps it (the refund is the same refund).
  c.state.cloudpay.rememberRefund({ mchid, out_refund_no: outRefundNo, out_trade_no: refund.out_trade_no, env_id: envId, function_name: functionName, created_at: refund.created_at });
  const order = c.state.transactions.find(mchid, refund.out_trade_no);
  return c.ok({
    transaction_id: refund.transaction_id,
    out_trade_no: refund.out_trade_no,
    out_refund_no: refund.out_refund_no,
    refund_id: refund.refund_id,
    refund_fee: refund.amount_refund,
    settlement_refund_fee: refund.amount_refund,
    total_fee: refund.amount_total,
    settlement_total_fee: refund.amount_total,
    fee_type: refund.currency,
    cash_fee: order?.payer_total ?? refund.amount_total,
    cash_refund_fee: refund.amount_refund,
    coupon_refund_fee: 0,
    coupon_refund_count: 0,
    // Indexed coupon fields come back as lists in CloudPay (§5.3); there are no coupons in the sandbox.
    coupon_type_list: [],
    coupon_refund_id_list: [],
    coupon_refund_fee_list: [],
  }, order?.appid);
}

/**
 * §1.5 / §5.3: by refund_id > out_refund_no > transaction_id > out_trade_no. CloudPay answers list-shaped
 * (`refund_status_list` …, camelCased to `refundStatusList`). Queries by order also carry v2's indexed fields
 * (`refund_status_0` → `refundStatus_0`), which a community answer reports for such queries — a modelling choice.
 * With the `emptyRefundLists` setting the lists come back empty while refund_count says otherwise, as
 * developers report CloudPay doing.
 */
export function queryRefund(p: Params, c: ApiContext): Record<string, unknown> {
  const mchid = c.checkSubMch(p);
  const refundId = optString(p, 'refund_id') || undefined;
  const outRefundNo = optString(p, 'out_refund_no') || undefined;
  const transactionId = optString(p, 'transaction_id') || undefined;
  const outTradeNo = optString(p, 'out_trade_no') || undefined;
  const offsetRaw = optString(p, 'offset');
  const offset = offsetRaw === undefined || offsetRaw === '' ? 0 : Number(offsetRaw);
  if (!Number.isSafeInteger(offset) || offset < 0) throw paramFail('offset', '须为非负整数');

  let refunds: RefundRow[];
  let order: TransactionRow | undefined;
  let byOrder = false;
  if (refundId || outRefundNo) {
    const r = refundId ? c.state.refunds.findById(mchid, refundId) : c.state.refunds.find(mchid, outRefundNo!);
    if (!r) throw businessFail('REFUNDNOTEXIST', V2_TEXT.REFUNDNOTEXIST);
    refunds = [r];
    order = c.state.transactions.find(mchid, r.out_trade_no);
  } else if (transactionId || outTradeNo) {
    order = transactionId ? c.state.transactions.findByTransactionId(mchid, transactionId) : c.state.transactions.find(mchid, outTradeNo!);
    refunds = order ? c.state.refunds.forOrder(mchid, order.out_trade_no) : [];
    if (refunds.length === 0) throw businessFail('REFUNDNOTEXIST', V2_TEXT.REFUNDNOTEXIST);
    byOrder = true;
  } else {
    throw businessFail('LACK_PARAMS', '缺少参数refund_id、out_refund_no、transaction_id或out_trade_no');
  }
  const total = refunds.length;
  if (offset > 0 && offset >= total) throw businessFail('PARAM_ERROR', `offset参数错误：大于等于退款总笔数${total}`);
  const page = byOrder && total > PAGE ? refunds.slice(offset, offset + PAGE) : refunds;
  const empty = c.settings.emptyRefundLists;
  const list = <T>(f: (r: RefundRow) => T): T[] => (empty ? [] : page.map(f));
  const successTime = (r: RefundRow): string => {
    const t = r.status === 'SUCCESS' ? parseWechatTime(r.success_time) : undefined;
    return t === undefined ? '' : toChinaDateTime(t);
  };
  const first = refunds[0]!;
  const indexed: Record<string, unknown> = {};
  if (byOrder && !empty) {
    page.forEach((r, i) => {
      indexed[`out_refund_no_${i}`] = r.out_refund_no;
      indexed[`refund_id_${i}`] = r.refund_id;
      indexed[`refund_channel_${i}`] = 'ORIGINAL';
      indexed[`refund_fee_${i}`] = r.amount_refund;
      indexed[`settlement_refund_fee_${i}`] = r.amount_refund;
      indexed[`refund_status_${i}`] = v2RefundStatus(r.status);
      indexed[`refund_account_${i}`] = 'REFUND_SOURCE_UNSETTLED_FUNDS';
      indexed[`refund_recv_accout_${i}`] = '支付用户零钱';
      const t = successTime(r);
      if (t) indexed[`refund_success_time_${i}`] = t;
    });
  }
  return c.ok({
    transaction_id: first.transaction_id,
    out_trade_no: first.out_trade_no,
    total_fee: first.amount_total,
    settlement_total_fee: first.amount_total,
    fee_type: first.currency,
    cash_fee: order?.payer_total ?? first.amount_total,
    ...(byOrder ? { total_refund_count: total } : {}),
    refund_count: page.length,
    out_refund_no_list: list((r) => r.out_refund_no),
    refund_id_list: list((r) => r.refund_id),
    refund_channel: list(() => 'ORIGINAL'),
    refund_fee_list: list((r) => r.amount_refund),
    settlement_refund_fee_list: list((r) => r.amount_refund),
    coupon_type_array: list(() => []),
    coupon_refund_fee_list: list(() => 0),
    coupon_refund_count_list: list(() => 0),
    coupon_refund_id_array: list(() => []),
    coupon_refund_fee_array: list(() => []),
    refund_status_list: list((r) => v2RefundStatus(r.status)),
    refund_account_list: list(() => 'REFUND_SOURCE_UNSETTLED_FUNDS'),
    refund_recv_accout_list: list(() => '支付用户零钱'),
    refund_success_time_list: list(successTime),
    ...indexed,
  }, order?.appid);
}

/**
 * §4 / §5.1: the day's trade bill as text (`{data}`), or gzip bytes for tar_type GZIP; errors as the v2 JSON
 * `{return_code:'FAIL', return_msg:'No Bill Exist', error_code:'20002'}`. The bytes are the v3 bill of the same
 * day (same format, §1.7), so both APIs agree.
 */
export function downloadBill(p: Params, c: ApiContext): RawResult {
  const sub = optString(p, 'sub_mch_id');
  if (sub !== undefined && sub !== '' && sub !== c.merchant.mchid) throw protocolFail(V2_TEXT.SUB_MCH_UNAUTHORISED);
  const billDate = optString(p, 'bill_date');
  if (!billDate) throw protocolFail('missing parameter');
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(billDate);
  if (!m) throw protocolFail('data format error');
  const billType = optString(p, 'bill_type') || 'ALL';
  if (billType !== 'ALL' && billType !== 'SUCCESS' && billType !== 'REFUND') throw protocolFail('invalid bill_type');
  const tarType = optString(p, 'tar_type');
  if (tarType !== undefined && tarType !== '' && tarType !== 'GZIP') throw protocolFail('invalid tar_type');
  let content: Buffer;
  try {
    const key = { billDate: `${m[1]}-${m[2]}-${m[3]}`, billType: billType as BillType, mchid: c.merchant.mchid };
    c.bills.trade(key);
    // CloudPay answers the whole bill in one `{data}` (wxpay-v2-cloudpay.md §5.1): it is read whole here too.
    content = c.bills.content(key);
  } catch (err) {
    if (err instanceof SandboxError) {
      if (err.code === 'NO_STATEMENT_EXIST') return { kind: 'json', body: { return_code: 'FAIL', return_msg: 'No Bill Exist', error_code: '20002' } };
      if (err.code === 'STATEMENT_CREATING') return { kind: 'json', body: { return_code: 'FAIL', return_msg: 'Bill Creating' } };
      if (err.code === 'PARAM_ERROR') return { kind: 'json', body: { return_code: 'FAIL', return_msg: 'data format error' } };
      if (err.status >= 500) return { kind: 'json', body: { return_code: 'FAIL', return_msg: 'SYSTEMERROR' } };
    }
    throw err;
  }
  return { kind: 'bill', data: tarType === 'GZIP' ? gzipSync(content) : content.toString('utf8') };
}

/** v3 refund errors in v2 words (§1.7): the same rules, answered the way refund answers them. */
function refundFailure(err: unknown): unknown {
  if (!(err instanceof SandboxError) || err.code !== 'INVALID_REQUEST') return err;
  const issue = err.detail?.issue ?? '';
  if (err.message.includes('可退金额')) return businessFail('ERROR', /only 0 fen/.test(issue) ? V2_TEXT.FULLY_REFUNDED : V2_TEXT.REFUND_TOO_MUCH);
  if (err.message.includes('最大期限')) return businessFail('TRADE_OVERDUE', '订单已经超过退款期限');
  if (err.message.includes('退款次数')) return businessFail('ERROR', err.message);
  return businessFail('INVALID_REQUEST', V2_TEXT.REFUND_MISMATCH);
}
