import { SandboxError } from '../domain/errors';

/**
 * A v2 failure, thrown inside a CloudPay API and turned into the v2 answer (wxpay-v2-cloudpay.md §0 "two-level
 * result"): `protocol` = `return_code=FAIL` + `return_msg` (nothing else); `business` = `return_code=SUCCESS`,
 * `result_code=FAIL`, `err_code` + `err_code_des` (the code is then clobbered by the SDK's `errCode: 0`, §5.1).
 */
export class V2Failure extends Error {
  constructor(readonly level: 'protocol' | 'business', readonly errCode: string, readonly errCodeDes: string) {
    super(`${errCode}: ${errCodeDes}`);
    this.name = 'V2Failure';
  }
}

export const protocolFail = (returnMsg: string): V2Failure => new V2Failure('protocol', '', returnMsg);
export const businessFail = (code: string, des: string): V2Failure => new V2Failure('business', code, des);

/** Words of the v2 docs / community for each failure (§1.7). */
export const V2_TEXT = {
  ORDERPAID: '该订单已支付',
  ORDERCLOSED: '该订单已关闭',
  CLOSE_CLOSED: '订单已关闭，无法重复关闭',
  ORDERNOTEXIST: '订单不存在',
  REFUND_ORDERNOTEXIST: '订单不存在，只有支付成功的订单才能退款',
  REFUNDNOTEXIST: '退款订单查询失败',
  OUT_TRADE_NO_USED: '201 商户订单号重复',
  REFUND_MISMATCH: '订单金额或退款金额与之前请求不一致,请核实后再试',
  REFUND_TOO_MUCH: '累计退款金额大于支付金额',
  FULLY_REFUNDED: '订单已全额退款',
  NOTENOUGH_PAY: '用户帐号余额不足',
  NOTENOUGH_REFUND: '基本账户余额不足，请充值后重新发起',
  SYSTEMERROR: '系统超时',
  FREQUENCY_LIMITED: '频率限制',
  SUB_MCH_MISSING: '受理机构必须传入sub_mch_id',
  SUB_MCH_UNAUTHORISED: '特约子商户商户号未授权服务商的产品权限',
  SUB_APPID_MISMATCH: 'sub_mch_id与sub_appid不匹配',
} as const;

/**
 * Maps a v3 SandboxError from the shared domain (payments, refunds) to the v2 failure CloudPay would answer.
 * `api` selects the wording where v2 differs per endpoint (NOT_ENOUGH means the user's balance on unifiedOrder,
 * the merchant's on refund; an unknown order is REFUNDNOTEXIST on queryRefund).
 */
export function v2FailureOf(err: SandboxError, api: string): V2Failure {
  const text = `${err.message} ${err.detail?.issue ?? ''}`;
  switch (err.code) {
    case 'ORDER_PAID': return businessFail('ORDERPAID', V2_TEXT.ORDERPAID);
    case 'ORDER_CLOSED': return businessFail('ORDERCLOSED', api === 'closeOrder' ? V2_TEXT.CLOSE_CLOSED : V2_TEXT.ORDERCLOSED);
    case 'ORDER_NOT_EXIST': return businessFail('ORDERNOTEXIST', api === 'refund' ? V2_TEXT.REFUND_ORDERNOTEXIST : V2_TEXT.ORDERNOTEXIST);
    case 'RESOURCE_NOT_EXISTS':
      if (api === 'queryRefund') return businessFail('REFUNDNOTEXIST', V2_TEXT.REFUNDNOTEXIST);
      return businessFail('ORDERNOTEXIST', api === 'refund' ? V2_TEXT.REFUND_ORDERNOTEXIST : V2_TEXT.ORDERNOTEXIST);
    case 'NOT_ENOUGH': return businessFail('NOTENOUGH', api === 'refund' ? V2_TEXT.NOTENOUGH_REFUND : V2_TEXT.NOTENOUGH_PAY);
    case 'SYSTEM_ERROR': return businessFail('SYSTEMERROR', V2_TEXT.SYSTEMERROR);
    case 'FREQUENCY_LIMITED': return businessFail('FREQUENCY_LIMITED', V2_TEXT.FREQUENCY_LIMITED);
    case 'APPID_MCHID_NOT_MATCH': return protocolFail(V2_TEXT.SUB_APPID_MISMATCH);
    case 'MCH_NOT_EXISTS': return protocolFail(V2_TEXT.SUB_MCH_UNAUTHORISED);
    case 'USER_ACCOUNT_ABNORMAL': return businessFail('USER_ACCOUNT_ABNORMAL', '退款请求失败，用户帐号已注销');
    case 'NO_AUTH': return businessFail('NOAUTH', '商户无此接口权限');
    case 'INVALID_REQUEST':
      if (api === 'unifiedOrder') return businessFail('INVALID_REQUEST', V2_TEXT.OUT_TRADE_NO_USED);
      if (api === 'refund') {
        if (/全额|fully/i.test(text)) return businessFail('ERROR', V2_TEXT.FULLY_REFUNDED);
        if (/大于|超过|exceed|more than|remaining|refundable/i.test(text)) return businessFail('ERROR', V2_TEXT.REFUND_TOO_MUCH);
        return businessFail('INVALID_REQUEST', V2_TEXT.REFUND_MISMATCH);
      }
      return businessFail('INVALID_REQUEST', err.message);
    case 'PARAM_ERROR': return businessFail('PARAM_ERROR', err.message);
    default:
      if (err.status >= 500) return businessFail('SYSTEMERROR', V2_TEXT.SYSTEMERROR);
      if (err.status === 429) return businessFail('FREQUENCY_LIMITED', V2_TEXT.FREQUENCY_LIMITED);
      return businessFail(err.code.replace(/_/g, ''), err.message);
  }
}
