import { CloudPayApiName, isPayErrorCode, PayError, PayErrorCode } from '../wxpay';

/**
 * Platform failures in the one vocabulary (PAY_ERROR_CODES, wxpay/errors.ts), whichever backend answered.
 * v3 codes are kept; v2/CloudPay spellings and legacy v3 spellings (wxpay-v3.md §1.9 "a connector should
 * accept both spellings") and the generic page's names for 429/503 (§1.8) are mapped onto them.
 */
const CODE_ALIASES: Record<string, PayErrorCode> = {
  SYSTEMERROR: 'SYSTEM_ERROR',
  ORDERPAID: 'ORDER_PAID',
  ORDERCLOSED: 'ORDER_CLOSED',
  ORDERNOTEXIST: 'ORDER_NOT_EXIST',
  NOTENOUGH: 'NOT_ENOUGH',
  NOAUTH: 'NO_AUTH',
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

/** A platform code in the vocabulary: itself, its alias, else PLATFORM_ERROR (the caller keeps the original). */
export function vocabularyCode(platformCode: string): PayErrorCode {
  const upper = platformCode.toUpperCase();
  const code = CODE_ALIASES[upper] ?? upper;
  return isPayErrorCode(code) ? code : 'PLATFORM_ERROR';
}

/** What "not found" means on a v3 endpoint: RESOURCE_NOT_EXISTS names no resource (wxpay-v3.md §1.4–1.5). */
export type NotFoundCode = 'ORDER_NOT_EXIST' | 'REFUND_NOT_EXIST';

/**
 * A v3 error answer `{code, message, detail}` (wxpay-v3.md §1.8) as a PayError in the vocabulary. Without a
 * JSON body, the status says what it can: 5xx SYSTEM_ERROR, 429 FREQUENCY_LIMITED, else PLATFORM_ERROR.
 * `notFound` is what RESOURCE_NOT_EXISTS / ORDER_NOT_EXIST mean on this endpoint (an unknown or unpaid order
 * on refund, an unknown refund on refund query, §1.4–1.5).
 */
export function v3Failure(status: number, rawBody: string, requestId: string | undefined, notFound?: NotFoundCode): PayError {
  let parsed: { code?: unknown; message?: unknown; detail?: Record<string, unknown> } = {};
  try { parsed = JSON.parse(rawBody); } catch { /* non-JSON error page */ }
  const platformCode = typeof parsed.code === 'string' ? parsed.code : undefined;
  let code: PayErrorCode;
  if (platformCode === undefined) code = status >= 500 ? 'SYSTEM_ERROR' : status === 429 ? 'FREQUENCY_LIMITED' : 'PLATFORM_ERROR';
  else if (notFound && (platformCode === 'RESOURCE_NOT_EXISTS' || vocabularyCode(platformCode) === 'ORDER_NOT_EXIST')) code = notFound;
  else code = vocabularyCode(platformCode);
  const detail = { ...(parsed.detail ?? {}), ...(platformCode !== undefined && platformCode !== code ? { platformCode } : {}) };
  return new PayError({
    code,
    message: typeof parsed.message === 'string' ? parsed.message : `HTTP ${status}`,
    ...(Object.keys(detail).length ? { detail } : {}),
    ...(requestId ? { requestId } : {}),
    httpStatus: status,
  });
}

/**
 * CloudPay clobbers the v2 `err_code` with `errCode: 0` (wxpay-v2-cloudpay.md §5.1): only `errCodeDes`,
 * `returnMsg` and `resultCode` survive, so the failure is classified from their text.
 */
const CLOUDPAY_TEXT_RULES: Array<[RegExp, PayErrorCode]> = [
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

const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/**
 * A CloudPay answer with returnCode or resultCode FAIL as a PayError in the vocabulary. v2 has two levels
 * (wxpay-v2-cloudpay.md §0): returnCode FAIL is said by `returnMsg` (downloadBill adds `errorCode`, §4);
 * a business failure (returnCode SUCCESS, resultCode FAIL) by `errCodeDes` — its returnMsg is then "OK" and
 * says nothing. Unclassified text is PLATFORM_ERROR; the text is kept in `detail.platformCode` either way.
 */
export function cloudPayFailure(api: CloudPayApiName, result: Record<string, unknown>): PayError {
  const said = result.returnCode === 'SUCCESS' ? text(result.errCodeDes) ?? text(result.resultMsg) : text(result.returnMsg);
  const errorCode = text(result.errorCode);
  const description = [said, errorCode && `(error_code ${errorCode})`].filter(Boolean).join(' ');
  const code = CLOUDPAY_TEXT_RULES.find(([re]) => re.test(description))?.[1] ?? 'PLATFORM_ERROR';
  return new PayError({
    code,
    message: `CloudPay ${api} failed: ${description || 'returnCode/resultCode FAIL'}`,
    detail: { platformCode: said ?? '', returnCode: result.returnCode, resultCode: result.resultCode },
  });
}

/** closeOrder on a paid order, the same from both backends (wxpay-v3.md §1.3: a paid order is refunded, not closed). */
export function paidOrderNotClosable(err: PayError): PayError {
  const platformCode = err.detail?.platformCode;
  return new PayError({
    code: 'ORDER_PAID',
    message: 'the order is already paid and cannot be closed; refund it instead',
    detail: { field: 'outTradeNo', issue: 'paid', ...(platformCode ? { platformCode } : {}) },
    ...(err.requestId ? { requestId: err.requestId } : {}),
    cause: err,
  });
}
