/**
 * `cloud.cloudPay` over HTTP: each call is `POST {baseUrl}/cloudpay/{api}` with the params as JSON, and the
 * answer is what wx-server-sdk's `cloud.cloudPay[api](params)` resolves (wxpay-v2-cloudpay.md §5.1): camelCase,
 * `errCode: 0`, `errMsg: 'cloudPay.<api>:ok'`. That surface applies the SDK's own key conversions, so params go
 * as the SDK takes them (camelCase). The local sandbox serves it; configuration points CloudPay at it
 * (production uses wx-server-sdk itself).
 * - Business failures (`returnCode` / `resultCode` FAIL) resolve, as with the SDK.
 * - Transport or platform failures reject with a `CloudPayCallError` carrying `errCode` and `errMsg`, shaped
 *   like the SDK's CloudSDKError.
 */
import { CLOUDPAY_API_NAMES, type CloudPayApiName } from '../../wxpay';
import type { CloudPayApi } from './cloudpay';

export interface HttpCloudPayOptions {
  /** The calling mini-program user's openid (CloudPay's context), sent as `X-WX-OPENID`. */
  openid?: string;
  /** Per-call deadline; default 15 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A transport or platform failure, shaped like wx-server-sdk's CloudSDKError. */
export class CloudPayCallError extends Error {
  constructor(readonly errCode: number | string, readonly errMsg: string, readonly status?: number) {
    super(errMsg);
    this.name = 'CloudSDKError';
  }
}

export function createHttpCloudPay(baseUrl: string, opts: HttpCloudPayOptions = {}): CloudPayApi {
  const base = baseUrl.replace(/\/+$/, '');
  const fetchImpl = opts.fetch ?? fetch;
  const call = async (api: CloudPayApiName, params: Record<string, unknown>): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetchImpl(`${base}/cloudpay/${api}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(opts.openid ? { 'X-WX-OPENID': opts.openid } : {}) },
        body: JSON.stringify(params ?? {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new CloudPayCallError(-1, `cloudPay.${api}:fail ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CloudPayCallError(-1, `cloudPay.${api}:fail HTTP ${res.status} with a non-JSON answer`, res.status);
    }
    if (!res.ok || typeof body !== 'object' || body === null || Array.isArray(body)) {
      const b = (body ?? {}) as { errCode?: number | string; errMsg?: string; message?: string };
      throw new CloudPayCallError(b.errCode ?? -1, `cloudPay.${api}:fail ${b.errMsg ?? b.message ?? `HTTP ${res.status}`}`, res.status);
    }
    const result = body as Record<string, unknown>;
    // downloadBill with tarType GZIP resolves {data: Buffer}; over JSON it travels in Node's Buffer form.
    const data = result.data as { type?: unknown; data?: unknown } | undefined;
    if (api === 'downloadBill' && data && data.type === 'Buffer' && Array.isArray(data.data)) result.data = Buffer.from(data.data as number[]);
    return result;
  };
  return Object.fromEntries(CLOUDPAY_API_NAMES.map((api) => [api, (params: Record<string, unknown>) => call(api, params)])) as CloudPayApi;
}
