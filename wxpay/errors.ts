/**
 * One error model for the whole project (issue 5 §3): a stable `code` from WeChat Pay's v3 vocabulary,
 * a human message, optional `detail` (field + issue, as in v3 error bodies, wxpay-v3.md §1.8), the
 * platform `requestId` when there was one, and whether retrying with the *same* order/refund number
 * can help (wxpay-v3.md §1.9: 5xx and FREQUENCY_LIMITED are retryable, 4xx are not).
 */
export interface PayErrorDetail {
  /** JSON field name (connector input names) or header/param name. */
  field?: string;
  /** What is wrong, e.g. "must match ^[0-9A-Za-z_\\-|*]{6,32}$". */
  issue?: string;
  value?: unknown;
  location?: string;
  [extra: string]: unknown;
}

export interface PayErrorInit {
  code: string;
  message: string;
  detail?: PayErrorDetail;
  requestId?: string;
  retryable?: boolean;
  httpStatus?: number;
  cause?: unknown;
}

/** Codes that are worth retrying with identical parameters (wxpay-v3.md §1.9). */
const RETRYABLE_CODES = new Set(['SYSTEM_ERROR', 'BANK_ERROR', 'FREQUENCY_LIMITED', 'SERVICE_UNAVAILABLE', 'TIMEOUT', 'NETWORK_ERROR']);

export class PayError extends Error {
  readonly code: string;
  readonly detail?: PayErrorDetail;
  readonly requestId?: string;
  readonly retryable: boolean;
  readonly httpStatus?: number;

  constructor(init: PayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'PayError';
    this.code = init.code;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
    this.retryable = init.retryable ?? RETRYABLE_CODES.has(init.code);
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

/** Signature / authenticity failures: never retryable, never to be treated as success. */
export function signError(issue: string, field = 'signature'): PayError {
  return new PayError({ code: 'SIGN_ERROR', message: `signature verification failed: ${issue}`, detail: { field, issue } });
}
