import { PayError, PayErrorDetail } from '../../wxpay';

/**
 * A business/protocol error the sandbox answers with, in WeChat Pay's v3 vocabulary: HTTP status + body
 * `{code, message, detail?}` (wxpay-v3.md §1.8–1.9). `internalCode` becomes the `Request-ID` suffix (§0): the
 * numbers the reference documents where it has one (268498688, 268449538, 268512771, 268501013, 268443699), else 1.
 * v3 is the canonical vocabulary; the CloudPay façade maps these codes to v2 ones (cloudpay/v2-errors.ts).
 */
export class SandboxError extends PayError<string> {
  readonly status: number;
  readonly internalCode: number;

  constructor(status: number, code: string, message: string, detail?: PayErrorDetail, internalCode = 1) {
    super({ code, message, httpStatus: status, ...(detail ? { detail } : {}) });
    this.name = 'SandboxError';
    this.status = status;
    this.internalCode = internalCode;
  }

  /** The wire body (wxpay-v3.md §1.8). */
  body(): { code: string; message: string; detail?: PayErrorDetail } {
    return { code: this.code, message: this.message, ...(this.detail ? { detail: this.detail } : {}) };
  }
}

/** 400 PARAM_ERROR with `detail.field` a JSON pointer into the body, or a query/path parameter name (§1.8). */
export function paramError(field: string, issue: string, location: 'body' | 'query' | 'path' = 'body', value?: unknown): SandboxError {
  const where = location === 'body' ? `/body${field}` : field;
  return new SandboxError(400, 'PARAM_ERROR', `参数错误：输入源“${where}”校验失败，${issue}`, { field, location, issue, ...(value !== undefined ? { value } : {}) });
}

/** 401 SIGN_ERROR; message as the real API words it (§1.8), the reason in `detail.issue`. */
export function signFailure(field: string, issue: string): SandboxError {
  // 268443699 is the documented code of a stale timestamp (§2); other signature failures have none we know.
  return new SandboxError(401, 'SIGN_ERROR', '错误的签名，验签失败', { field, location: 'authorization', issue }, field === 'timestamp' ? 268443699 : 1);
}

export const orderNotExist = (): SandboxError => new SandboxError(404, 'ORDER_NOT_EXIST', '订单不存在', undefined, 268512771);
/** The paid-order code is not printed verbatim in the docs we have (wxpay-v3.md §1.1, §7: "ORDER_PAID?") [unconfirmed]. */
export const orderPaid = (): SandboxError => new SandboxError(400, 'ORDER_PAID', '该订单已支付', undefined, 268449538);
export const orderClosed = (): SandboxError => new SandboxError(400, 'ORDER_CLOSED', '订单已关闭');
