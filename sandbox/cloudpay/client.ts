/**
 * A `cloud.cloudPay` stand-in for the dev server (in-process, not production code): each call goes to the
 * sandbox's CloudPay emulation over loopback HTTP and behaves like wx-server-sdk's (wxpay-v2-cloudpay.md §5.1):
 * params are snake_cased as the SDK does, the result comes back camelCased with `errCode: 0` and
 * `errMsg: 'cloudPay.<api>:ok'`; business failures (`returnCode`/`resultCode` FAIL) resolve; only transport or
 * platform failures reject, with an Error carrying `errCode` and `errMsg` like the SDK's CloudSDKError.
 */
import { toSnakeCase } from './case';

export const CLOUDPAY_APIS = ['unifiedOrder', 'queryOrder', 'closeOrder', 'refund', 'queryRefund', 'downloadBill'] as const;
export type CloudPayApiName = (typeof CLOUDPAY_APIS)[number];
export type CloudPayApi = Record<CloudPayApiName, (params: Record<string, unknown>) => Promise<Record<string, unknown>>>;

export interface SandboxCloudPayOptions {
  /** The calling mini-program user's openid (CloudPay's context); sent as `X-WX-OPENID`. */
  openid?: string;
  /** Per-call deadline; default 15 s. */
  timeoutMs?: number;
}

/** Error thrown for transport / platform failures, shaped like wx-server-sdk's CloudSDKError. */
export class CloudPayCallError extends Error {
  constructor(readonly errCode: number | string, readonly errMsg: string, readonly status?: number) {
    super(errMsg);
    this.name = 'CloudSDKError';
  }
}

export function createSandboxCloudPay(baseUrl: string, opts: SandboxCloudPayOptions = {}): CloudPayApi {
  const base = baseUrl.replace(/\/+$/, '');
  const call = async (api: CloudPayApiName, params: Record<string, unknown>): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetch(`${base}/cloudpay/${api}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(opts.openid ? { 'X-WX-OPENID': opts.openid } : {}) },
        body: JSON.stringify(toSnakeCase(params ?? {})),
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
      throw new CloudPayCallError(-1, `cloudPay.${api}:fail the sandbox answered HTTP ${res.status} with non-JSON`, res.status);
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
  return {
    unifiedOrder: (p) => call('unifiedOrder', p),
    queryOrder: (p) => call('queryOrder', p),
    closeOrder: (p) => call('closeOrder', p),
    refund: (p) => call('refund', p),
    queryRefund: (p) => call('queryRefund', p),
    downloadBill: (p) => call('downloadBill', p),
  };
}
