import { chinaTimeToRfc3339, createNonce, isCloudPayApiName, toChinaCompact, unixSeconds, parseWechatTime } from '../../wxpay';
import type { Bills } from '../domain/bills';
import type { SandboxClock } from '../domain/clock';
import { SandboxError } from '../domain/errors';
import type { Merchant } from '../domain/merchant';
import type { Payments } from '../domain/payments';
import { canonicalJson, JsapiPrepayRequest, OUT_TRADE_NO_PATTERN } from '../domain/prepay-validation';
import type { Refunds } from '../domain/refunds';
import type { TransactionRow } from '../state/transactions';
import { CONTEXT_OPENID, PROVIDER_APPID, PROVIDER_MCHID, providerOpenid } from './format';
import { ApiContext, fen, optString, paramFail, Params, RawResult, required } from './params';
import { downloadBill, queryRefund, refund } from './refund-api';
import { businessFail, protocolFail, V2_TEXT, V2Failure, v2FailureOf } from './v2-errors';
import { v2PaySign, v2Sign } from './v2-sign';

/** The v2 closeOrder rule: not within 5 minutes of creation (wxpay-v2-cloudpay.md §7). */
const EARLY_CLOSE_MS = 5 * 60_000;

export interface CloudPayBackendDeps {
  state: ApiContext['state'];
  clock: SandboxClock;
  merchant: Merchant;
  payments: Payments;
  refunds: Refunds;
  bills: Bills;
  v2Key: string;
}

export interface CallContext {
  /** The calling mini-program user (the `X-WX-OPENID` header); CloudPay fills sub_openid from it. */
  openid?: string;
  /** An injected API fault to answer with instead of the handling (see index.ts). */
  fault?: 'SYSTEM_ERROR' | 'FREQUENCY_LIMITED' | 'NOT_ENOUGH' | undefined;
}

/**
 * The CloudPay backend (what `wx.wxPayApi` reaches, wxpay-v2-cloudpay.md §5): v2 semantics and error codes in
 * snake_case JSON, on the same state as the v3 API — an order placed here is visible to v3 queries and the
 * console, and a v3 order can be queried, closed and refunded here. The merchant is the sandbox merchant, in
 * CloudPay's service-provider mode: `sub_mch_id` must be the sandbox mchid; appid / mch_id in answers are the
 * Cloud provider's.
 */
export class CloudPayBackend {
  constructor(private readonly d: CloudPayBackendDeps) {}

  call(api: string, params: Params, ctx: CallContext = {}): RawResult | undefined {
    if (!isCloudPayApiName(api)) return undefined;
    const c = this.context();
    try {
      if (ctx.fault) {
        const status = ctx.fault === 'SYSTEM_ERROR' ? 500 : ctx.fault === 'FREQUENCY_LIMITED' ? 429 : 403;
        throw new SandboxError(status, ctx.fault, `injected fault ${ctx.fault}`);
      }
      switch (api) {
        case 'unifiedOrder': return json(this.unifiedOrder(params, c, ctx));
        case 'queryOrder': return json(this.queryOrder(params, c));
        case 'closeOrder': return json(this.closeOrder(params, c));
        case 'refund': return json(refund(params, c));
        case 'queryRefund': return json(queryRefund(params, c));
        case 'downloadBill': return downloadBill(params, c);
      }
    } catch (err) {
      const failure = err instanceof V2Failure ? err : err instanceof SandboxError ? v2FailureOf(err, api) : undefined;
      if (!failure) throw err;
      // downloadbill errors are unsigned `return_code=FAIL` + `return_msg` (e.g. SYSTEMERROR), never result_code (§4).
      if (api === 'downloadBill') return json({ return_code: 'FAIL', return_msg: failure.level === 'business' && failure.errCode === 'SYSTEMERROR' ? 'SYSTEMERROR' : failure.errCodeDes });
      return json(this.failure(failure, params, c));
    }
  }

  private context(): ApiContext {
    const { state, clock, merchant, payments, refunds, bills, v2Key } = this.d;
    return {
      state,
      clock,
      merchant,
      payments,
      refunds,
      bills,
      settings: state.cloudpay.settings(),
      ok: (fields, subAppid) => signed({ return_code: 'SUCCESS', return_msg: 'OK', ...common(merchant.mchid, subAppid), result_code: 'SUCCESS', ...fields }, v2Key),
      checkSubMch: (p) => {
        const sub = optString(p, 'sub_mch_id');
        if (sub === undefined || sub === '') throw protocolFail(V2_TEXT.SUB_MCH_MISSING);
        if (sub !== merchant.mchid) throw protocolFail(V2_TEXT.SUB_MCH_UNAUTHORISED);
        return sub;
      },
    };
  }

  private failure(f: V2Failure, p: Params, c: ApiContext): Record<string, unknown> {
    if (f.level === 'protocol') return { return_code: 'FAIL', return_msg: f.errCodeDes };
    const sub = typeof p.sub_appid === 'string' ? p.sub_appid : undefined;
    return signed({ return_code: 'SUCCESS', return_msg: 'OK', ...common(c.merchant.mchid, sub), result_code: 'FAIL', err_code: f.errCode, err_code_des: f.errCodeDes }, this.d.v2Key);
  }

  /** §1.1 / §5.2: place (or re-enter) a JSAPI order and return the `payment` for wx.requestPayment, MD5-signed. */
  private unifiedOrder(p: Params, c: ApiContext, ctx: CallContext): Record<string, unknown> {
    const mchid = c.checkSubMch(p);
    const subAppid = optString(p, 'sub_appid') || c.merchant.appid;
    if (subAppid !== c.merchant.appid) throw protocolFail(V2_TEXT.SUB_APPID_MISMATCH);
    const envId = required(p, 'env_id');
    const functionName = required(p, 'function_name');
    const body = required(p, 'body');
    if ([...body].length > 128) throw paramFail('body', '长度不能超过128个字符');
    const outTradeNo = required(p, 'out_trade_no');
    if (!OUT_TRADE_NO_PATTERN.test(outTradeNo)) throw paramFail('out_trade_no', '须为6-32位数字、大小写字母或_-|*');
    const totalFee = fen(p, 'total_fee');
    const spbillCreateIp = required(p, 'spbill_create_ip');
    if ([...spbillCreateIp].length > 64) throw paramFail('spbill_create_ip', '长度不能超过64个字符');
    const tradeType = optString(p, 'trade_type') || 'JSAPI';
    if (tradeType !== 'JSAPI') throw paramFail('trade_type', `沙箱仅支持JSAPI(小程序)支付，收到${tradeType}`);
    const feeType = optString(p, 'fee_type') || 'CNY';
    if (feeType !== 'CNY') throw paramFail('fee_type', '仅支持CNY');
    const attach = optString(p, 'attach');
    if (attach !== undefined && [...attach].length > 127) throw paramFail('attach', '长度不能超过127个字符');
    const timeExpireV2 = optString(p, 'time_expire');
    const timeExpire = timeExpireV2 ? chinaTimeToRfc3339(timeExpireV2) : undefined;
    if (timeExpireV2 && !timeExpire) throw paramFail('time_expire', '格式须为yyyyMMddHHmmss');
    const payer = optString(p, 'sub_openid') || optString(p, 'openid') || ctx.openid || CONTEXT_OPENID;

    const req: JsapiPrepayRequest = {
      appid: subAppid,
      mchid,
      description: body,
      out_trade_no: outTradeNo,
      ...(timeExpire ? { time_expire: timeExpire } : {}),
      ...(attach ? { attach } : {}),
      notify_url: '', // no v3 notification: CloudPay calls the cloud function instead (index.ts, on 'transaction.paid')
      amount: { total: totalFee, currency: feeType },
      payer: { openid: payer },
      scene_info: { payer_client_ip: spbillCreateIp },
    };
    // "Identical key params" for re-entry (§1.1): what the order is, not how it is delivered or signed.
    const keyParams = canonicalJson({
      via: 'cloudpay', body, out_trade_no: outTradeNo, total_fee: totalFee, fee_type: feeType, trade_type: tradeType, payer, attach: attach ?? null,
      time_expire: timeExpireV2 ?? null, goods_tag: optString(p, 'goods_tag') ?? null, detail: p.detail ?? null, limit_pay: optString(p, 'limit_pay') ?? null,
    });
    const { prepay_id: prepayId } = c.payments.prepay(req, keyParams);
    c.state.cloudpay.rememberOrder({ mchid, out_trade_no: outTradeNo, sub_appid: subAppid, env_id: envId, function_name: functionName, created_at: c.clock.now() });

    const payment = { appId: subAppid, timeStamp: String(unixSeconds(c.clock.now())), nonceStr: createNonce(32), package: `prepay_id=${prepayId}`, signType: 'MD5' as const };
    const answer = c.ok({ trade_type: 'JSAPI', prepay_id: prepayId }, subAppid);
    // `payment` sits beside the signed v2 fields; snake_case here, camelCased by the SDK like everything else.
    return {
      ...answer,
      payment: { app_id: payment.appId, time_stamp: payment.timeStamp, nonce_str: payment.nonceStr, package: payment.package, sign_type: payment.signType, pay_sign: v2PaySign(payment, this.d.v2Key) },
    };
  }

  /** §1.2: transaction_id wins over out_trade_no; unpaid orders answer SUCCESS with trade_state NOTPAY. */
  private queryOrder(p: Params, c: ApiContext): Record<string, unknown> {
    const mchid = c.checkSubMch(p);
    const transactionId = optString(p, 'transaction_id');
    const outTradeNo = optString(p, 'out_trade_no');
    let row: TransactionRow | undefined;
    if (transactionId) {
      c.payments.queryByTransactionId(mchid, transactionId); // throws ORDER_NOT_EXIST
      row = c.state.transactions.findByTransactionId(mchid, transactionId);
    } else if (outTradeNo) {
      c.payments.queryByOutTradeNo(mchid, outTradeNo);
      row = c.state.transactions.find(mchid, outTradeNo);
    } else {
      throw businessFail('LACK_PARAMS', '缺少参数out_trade_no或transaction_id');
    }
    if (!row) throw businessFail('ORDERNOTEXIST', V2_TEXT.ORDERNOTEXIST);
    return c.ok(orderFields(row), row.appid);
  }

  /** §1.3 + §7: only unpaid orders; a closed one cannot be closed again (v2, unlike v3's re-entrant 204). */
  private closeOrder(p: Params, c: ApiContext): Record<string, unknown> {
    const mchid = c.checkSubMch(p);
    const outTradeNo = required(p, 'out_trade_no');
    const row = c.state.transactions.find(mchid, outTradeNo);
    if (!row) throw businessFail('ORDERNOTEXIST', V2_TEXT.ORDERNOTEXIST);
    if (row.trade_state === 'SUCCESS' || row.trade_state === 'REFUND') throw businessFail('ORDERPAID', V2_TEXT.ORDERPAID);
    if (row.trade_state === 'CLOSED') throw businessFail('ORDERCLOSED', V2_TEXT.CLOSE_CLOSED);
    if (c.settings.earlyClose === 'SYSTEMERROR' && c.clock.now() - row.created_at < EARLY_CLOSE_MS) {
      throw businessFail('SYSTEMERROR', '订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟');
    }
    c.payments.close(mchid, outTradeNo);
    return c.ok({ result_msg: 'OK' }, row.appid);
  }
}

/** The v3 request the same operation would be (method and path), to match API faults against (index.ts). */
export function v3Equivalent(api: string, p: Params): { method: string; path: string } | undefined {
  const str = (k: string): string => encodeURIComponent(typeof p[k] === 'string' || typeof p[k] === 'number' ? String(p[k]) : '');
  switch (api) {
    case 'unifiedOrder': return { method: 'POST', path: '/v3/pay/transactions/jsapi' };
    case 'queryOrder': return p.transaction_id ? { method: 'GET', path: `/v3/pay/transactions/id/${str('transaction_id')}` } : { method: 'GET', path: `/v3/pay/transactions/out-trade-no/${str('out_trade_no')}` };
    case 'closeOrder': return { method: 'POST', path: `/v3/pay/transactions/out-trade-no/${str('out_trade_no')}/close` };
    case 'refund': return { method: 'POST', path: '/v3/refund/domestic/refunds' };
    case 'queryRefund': return { method: 'GET', path: `/v3/refund/domestic/refunds/${str('out_refund_no')}` };
    case 'downloadBill': return { method: 'GET', path: '/v3/bill/tradebill' };
    default: return undefined;
  }
}

/** The v2 orderquery fields of an order (§1.2), fee fields as JSON numbers (§5.1). */
export function orderFields(row: TransactionRow): Record<string, unknown> {
  const base = { out_trade_no: row.out_trade_no, total_fee: row.amount_total, fee_type: row.currency, trade_state: row.trade_state, trade_state_desc: TRADE_STATE_DESC[row.trade_state] ?? row.trade_state };
  if (row.transaction_id === null) return base;
  const paidAt = parseWechatTime(row.success_time);
  return {
    ...base,
    transaction_id: row.transaction_id,
    openid: providerOpenid(row.payer_openid),
    is_subscribe: 'N',
    sub_openid: row.payer_openid,
    sub_is_subscribe: 'N',
    trade_type: row.trade_type,
    bank_type: row.bank_type ?? 'OTHERS',
    cash_fee: row.payer_total ?? row.amount_total,
    cash_fee_type: row.currency,
    time_end: paidAt === undefined ? '' : toChinaCompact(paidAt),
    ...(row.attach ? { attach: row.attach } : {}),
  };
}

/** v2 trade_state_desc wording (§1.2). */
const TRADE_STATE_DESC: Record<string, string> = {
  SUCCESS: '支付成功', REFUND: '转入退款', NOTPAY: '订单未支付', CLOSED: '订单已关闭', REVOKED: '已撤销（付款码支付）', USERPAYING: '用户支付中（付款码支付）', PAYERROR: '支付失败',
};

function json(body: Record<string, unknown>): RawResult {
  return { kind: 'json', body };
}

function common(mchid: string, subAppid: string | undefined): Record<string, unknown> {
  return { appid: PROVIDER_APPID, mch_id: PROVIDER_MCHID, ...(subAppid ? { sub_appid: subAppid } : {}), sub_mch_id: mchid, nonce_str: createNonce(32) };
}

/** Adds `sign` (MD5, §2) over the flat fields. */
export function signed(fields: Record<string, unknown>, v2Key: string): Record<string, unknown> {
  return { ...fields, sign: v2Sign(fields, v2Key) };
}
