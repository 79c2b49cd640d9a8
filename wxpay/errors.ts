/**
 * One error model for the whole project: a stable `code` from the vocabulary below, a human message,
 * optional `detail` (field + issue, as in v3 error bodies, wxpay-v3.md §1.8), the platform `requestId` when
 * there was one, and whether retrying with the *same* order/refund number can help (wxpay-v3.md §1.9: 5xx
 * and FREQUENCY_LIMITED are retryable, 4xx are not).
 */
export interface PayErrorDetail {
  /** JSON field name (connector input names) or header/param name. */
  field?: string;
  /** What is wrong, e.g. "must match ^[0-9A-Za-z_\\-|*]{6,32}$". */
  issue?: string;
  value?: unknown;
  location?: string;
  /** The platform's own code (v3 `code`, v2 spelling, CloudPay `errCodeDes` text) when it differs from `code`. */
  platformCode?: string;
  [extra: string]: unknown;
}

interface CodeRow {
  /** The HTTP status a server answering in this vocabulary uses (the connector function, the dev server). */
  status: number;
  /** Default for `PayError.retryable`: a retry with identical parameters can succeed (wxpay-v3.md §1.9). */
  retryable: boolean;
  meaning: string;
}

/**
 * The vocabulary: every `code` a PayError carries, whichever backend runs. Codes are WeChat Pay v3's
 * (wxpay-v3.md §1.9) — the connector maps v2/CloudPay and legacy spellings onto them — plus the project's
 * own (CONFIG_ERROR, TIMEOUT, NETWORK_ERROR, BILL_*, DECRYPT_ERROR, REFUND_STATUS_UNKNOWN).
 *
 * A platform code outside the vocabulary becomes PLATFORM_ERROR, with the platform's code kept in
 * `detail.platformCode` (and, for v3, its HTTP status in `httpStatus`): it is never guessed into a known
 * code, and never retried, since nothing says a retry is safe.
 *
 * Status: one per code, by what the caller can do about it — 400 fix the request, 401 a signature did not
 * verify, 403 not allowed for this merchant/payer, 404 no such order/refund/bill, 409 the order's state
 * forbids it, 429 slow down, 500 the server side (WeChat Pay's or ours, configuration included), 502 the
 * platform's answer is unusable, 504 no answer in time. v3's own status where it says the same (§1.8–1.9).
 */
export const PAY_ERROR_CODES = {
  PARAM_ERROR: { status: 400, retryable: false, meaning: 'the input breaks the method\'s schema (nothing was sent), or the platform\'s 参数错误' },
  INVALID_REQUEST: { status: 400, retryable: false, meaning: 'well-formed but against the platform\'s rules: parameters differ from the first request with this number, refund above what is left' },
  OPENID_MISMATCH: { status: 400, retryable: false, meaning: 'the openid does not belong to the appid' },
  INVALID_TRANSACTIONID: { status: 400, retryable: false, meaning: 'the transaction id is not valid' },
  DECRYPT_ERROR: { status: 400, retryable: false, meaning: 'a notification\'s resource does not decrypt with the APIv3 key' },
  SIGN_ERROR: { status: 401, retryable: false, meaning: 'a signature did not verify: WeChat Pay refused ours, or its answer or notification failed verification' },
  NO_AUTH: { status: 403, retryable: false, meaning: 'the merchant has no permission for this API' },
  ACCOUNT_ERROR: { status: 403, retryable: false, meaning: 'the payer\'s account is abnormal' },
  USER_ACCOUNT_ABNORMAL: { status: 403, retryable: false, meaning: 'refund refused: the payer\'s account is closed; refund offline' },
  NOT_ENOUGH: { status: 403, retryable: false, meaning: 'balance too low: the payer\'s on payment, the merchant\'s on refund' },
  RULE_LIMIT: { status: 403, retryable: false, meaning: 'a business rule of the platform forbids it' },
  TRADE_ERROR: { status: 403, retryable: false, meaning: 'the platform refused the trade' },
  ORDER_NOT_EXIST: { status: 404, retryable: false, meaning: 'no such order (for a refund: or not paid)' },
  REFUND_NOT_EXIST: { status: 404, retryable: false, meaning: 'no such refund' },
  NO_STATEMENT_EXIST: { status: 404, retryable: false, meaning: 'no bill for that day (no trades): stop asking' },
  ORDER_PAID: { status: 409, retryable: false, meaning: 'the order is already paid: refund it instead of closing it' },
  ORDER_CLOSED: { status: 409, retryable: false, meaning: 'the order is closed: place a new one with a new order number' },
  OUT_TRADE_NO_USED: { status: 409, retryable: false, meaning: 'the order number is already used' },
  STATEMENT_CREATING: { status: 409, retryable: false, meaning: 'the bill is being generated: ask again after 10:00 the next day' },
  FREQUENCY_LIMITED: { status: 429, retryable: true, meaning: 'rate limit: retry later with the same parameters' },
  SYSTEM_ERROR: { status: 500, retryable: true, meaning: 'a system error, WeChat Pay\'s or ours: retry with the same parameters' },
  BANK_ERROR: { status: 500, retryable: true, meaning: 'the bank\'s system failed: retry with the same parameters' },
  CONFIG_ERROR: { status: 500, retryable: false, meaning: 'the server\'s configuration is missing or wrong' },
  MCH_NOT_EXISTS: { status: 500, retryable: false, meaning: 'the configured merchant number is unknown to WeChat Pay' },
  APPID_MCHID_NOT_MATCH: { status: 500, retryable: false, meaning: 'the configured appid is not bound to the merchant number' },
  NETWORK_ERROR: { status: 502, retryable: true, meaning: 'WeChat Pay could not be reached' },
  PLATFORM_ERROR: { status: 502, retryable: false, meaning: 'the platform answered a failure outside this vocabulary: see detail.platformCode' },
  BILL_HASH_MISMATCH: { status: 502, retryable: true, meaning: 'the downloaded bill does not match its SHA-1 (or an unsupported hash type)' },
  BILL_FORMAT_ERROR: { status: 502, retryable: false, meaning: 'the bill is not in the documented format' },
  REFUND_STATUS_UNKNOWN: { status: 502, retryable: true, meaning: 'CloudPay answered a refund query without a status: query again or wait for the callback' },
  TIMEOUT: { status: 504, retryable: true, meaning: 'no answer within the configured timeout: retry with the same parameters' },
} as const satisfies Record<string, CodeRow>;

export type PayErrorCode = keyof typeof PAY_ERROR_CODES;

export function isPayErrorCode(code: string): code is PayErrorCode {
  return Object.prototype.hasOwnProperty.call(PAY_ERROR_CODES, code);
}

/**
 * The one HTTP status a server answers for a code, whichever backend produced it. A code outside the
 * vocabulary (only a platform double's own errors have one) answers as PLATFORM_ERROR.
 */
export function httpStatusFor(code: PayErrorCode): number {
  return (isPayErrorCode(code) ? PAY_ERROR_CODES[code] : PAY_ERROR_CODES.PLATFORM_ERROR).status;
}

/**
 * `C` is the vocabulary for the product. A platform double that speaks the platform's own codes on the wire
 * (the sandbox) extends `PayError<string>`.
 */
export interface PayErrorInit<C extends string = PayErrorCode> {
  code: C;
  message: string;
  detail?: PayErrorDetail;
  requestId?: string;
  /** Defaults to the code's `retryable` in PAY_ERROR_CODES. */
  retryable?: boolean;
  /** The platform's HTTP status, when the failure was an HTTP answer (informative: see httpStatusFor). */
  httpStatus?: number;
  cause?: unknown;
}

export class PayError<C extends string = PayErrorCode> extends Error {
  readonly code: C;
  readonly detail?: PayErrorDetail;
  readonly requestId?: string;
  readonly retryable: boolean;
  readonly httpStatus?: number;

  // NoInfer: `new PayError({ code: 'TYPO' })` must not infer C = 'TYPO'; it is checked against the vocabulary.
  constructor(init: PayErrorInit<NoInfer<C>>) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'PayError';
    this.code = init.code;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
    this.retryable = init.retryable ?? (isPayErrorCode(init.code) && PAY_ERROR_CODES[init.code].retryable);
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(this.requestId ? { requestId: this.requestId } : {}),
      retryable: this.retryable,
    };
  }
}

/**
 * Whether `err` is a PayError, and of `code` when given — as wechatpay-go's `core.IsAPIError`. Compare codes
 * through this rather than `err.code === '…'`: the code is checked against the vocabulary at compile time.
 */
export function isPayError(err: unknown, code?: PayErrorCode): err is PayError {
  return err instanceof PayError && (code === undefined || err.code === code);
}

/** Signature / authenticity failures: never retryable, never to be treated as success. */
export function signError(issue: string, field = 'signature'): PayError {
  return new PayError({ code: 'SIGN_ERROR', message: `signature verification failed: ${issue}`, detail: { field, issue } });
}
