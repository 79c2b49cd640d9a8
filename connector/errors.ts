import { PayError } from '../wxpay';

/**
 * One vocabulary for both backends (issue 5 §3). v3 codes are kept; v2/CloudPay spellings and legacy v3
 * spellings (wxpay-v3.md §1.9 "a connector should accept both spellings") are mapped onto them.
 */
const CODE_ALIASES: Record<string, string> = {
  SYSTEMERROR: 'SYSTEM_ERROR',
  ORDERPAID: 'ORDER_PAID',
  ORDERCLOSED: 'ORDER_CLOSED',
  ORDERNOTEXIST: 'ORDER_NOT_EXIST',
  NOTENOUGH: 'NOT_ENOUGH',
  NOAUTH: 'NO_AUTH',
  USERPAYING: 'USER_PAYING',
  BANKERROR: 'BANK_ERROR',
  ACCOUNTERROR: 'ACCOUNT_ERROR',
  RULELIMIT: 'RULE_LIMIT',
  SIGNERROR: 'SIGN_ERROR',
  REFUNDNOTEXIST: 'REFUND_NOT_EXIST',
  ORDER_PAID_: 'ORDER_PAID',
  RATELIMIT_EXCEEDED: 'FREQUENCY_LIMITED',
  RATE_LIMITED: 'FREQUENCY_LIMITED',
  SERVICE_UNAVAILABLE: 'SYSTEM_ERROR',
};

export function normaliseCode(code: string): string {
  const upper = code.toUpperCase();
  return CODE_ALIASES[upper] ?? upper;
}

/** v3 answers RESOURCE_NOT_EXISTS for an unknown (or unpaid) order and for an unknown refund (wxpay-v3.md §1.4–1.5). */
export function withNotFoundMeaning(err: unknown, notFoundCode: 'ORDER_NOT_EXIST' | 'REFUND_NOT_EXIST'): unknown {
  if (err instanceof PayError && (err.code === 'RESOURCE_NOT_EXISTS' || err.code === 'ORDER_NOT_EXIST')) {
    return new PayError({ code: notFoundCode, message: err.message, ...(err.detail ? { detail: err.detail } : {}), ...(err.requestId ? { requestId: err.requestId } : {}), ...(err.httpStatus ? { httpStatus: err.httpStatus } : {}), retryable: false });
  }
  return err;
}

/** Re-labels a platform error in the shared vocabulary, keeping the platform's own code in `detail.platformCode`. */
export function inVocabulary(err: unknown): unknown {
  if (!(err instanceof PayError)) return err;
  const code = normaliseCode(err.code);
  if (code === err.code) return err;
  return new PayError({
    code,
    message: err.message,
    detail: { ...(err.detail ?? {}), platformCode: err.code },
    ...(err.requestId ? { requestId: err.requestId } : {}),
    ...(err.httpStatus ? { httpStatus: err.httpStatus } : {}),
  });
}

/**
 * CloudPay clobbers the v2 `err_code` with `errCode: 0` (wxpay-v2-cloudpay.md §5.1): only `errCodeDes`,
 * `returnMsg` and `resultCode` survive, so the failure is classified from their text.
 */
const CLOUDPAY_TEXT_RULES: Array<[RegExp, string]> = [
  [/ORDERPAID|已支付/i, 'ORDER_PAID'],
  [/ORDERCLOSED|已关闭|已撤销/i, 'ORDER_CLOSED'],
  [/ORDERNOTEXIST|订单不存在|交易不存在/i, 'ORDER_NOT_EXIST'],
  // v2 refundquery's REFUNDNOTEXIST text is "退款订单查询失败" (wxpay-v2-cloudpay.md §1.7).
  [/REFUNDNOTEXIST|退款.*不存在|退款订单查询失败|No Refund/i, 'REFUND_NOT_EXIST'],
  [/NOTENOUGH|余额不足/i, 'NOT_ENOUGH'],
  [/FREQUENCY_LIMITED|频率/i, 'FREQUENCY_LIMITED'],
  [/SIGN|签名/i, 'SIGN_ERROR'],
  [/No Bill Exist|账单不存在|20002/i, 'NO_STATEMENT_EXIST'],
  [/Bill Creating|账单未生成/i, 'STATEMENT_CREATING'],
  [/OUT_TRADE_NO_USED|订单号重复/i, 'OUT_TRADE_NO_USED'],
  [/NOAUTH|无权限|未授权/i, 'NO_AUTH'],
  [/APPID_MCHID_NOT_MATCH|不匹配/i, 'APPID_MCHID_NOT_MATCH'],
  [/INVALID_REQUEST|参数.*不一致|无效请求|累计退款金额|全额退款/i, 'INVALID_REQUEST'],
  // downloadbill's return_msg values (wxpay-v2-cloudpay.md §4).
  [/PARAM_ERROR|参数错误|缺少参数|missing parameter|data format error|invalid bill_type|invalid tar_type/i, 'PARAM_ERROR'],
  [/SYSTEMERROR|SYSTEM_ERROR|系统(错误|超时|繁忙|异常)/i, 'SYSTEM_ERROR'],
  [/BANKERROR|银行/i, 'BANK_ERROR'],
];

export function cloudPayFailure(api: string, result: Record<string, unknown>): PayError {
  const text = [result.errCodeDes, result.returnMsg, result.errorCode, result.resultMsg].filter((v) => typeof v === 'string' && v).join(' · ');
  const code = CLOUDPAY_TEXT_RULES.find(([re]) => re.test(text))?.[1] ?? 'SYSTEM_ERROR';
  return new PayError({
    code,
    message: `CloudPay ${api} failed: ${text || 'returnCode/resultCode FAIL'}`,
    detail: { platformCode: String(result.errCodeDes ?? result.returnMsg ?? ''), returnCode: result.returnCode, resultCode: result.resultCode },
  });
}
