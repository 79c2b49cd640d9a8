import { buildAuthorization, PayError, RequestSigner, WechatpayVerifier } from '../../wxpay';
import { NotFoundCode, v3Failure } from '../errors';

export interface V3ClientOptions {
  baseUrl: string;
  signer: RequestSigner;
  verifier: WechatpayVerifier;
  /** Sent as `Wechatpay-Serial` so WeChat Pay signs with a key we hold (wxpay-v3.md §2). */
  preferredPlatformSerial?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface V3Response<T> {
  status: number;
  data: T;
  requestId?: string;
}

/**
 * Signed HTTP to WeChat Pay v3: signs every request over the exact bytes sent, verifies every 2xx response
 * (a 2xx without a valid signature is treated as forged, wxpay-v3.md §3), and turns error bodies
 * `{code, message, detail}` into PayError in the vocabulary with the platform's Request-ID (v3Failure).
 */
export class V3Client {
  private readonly base: URL;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: V3ClientOptions) {
    this.base = new URL(opts.baseUrl);
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** `notFound`: what RESOURCE_NOT_EXISTS means on this endpoint (see v3Failure). */
  async request<T>(method: 'GET' | 'POST', pathAndQuery: string, body?: unknown, opts: { notFound?: NotFoundCode } = {}): Promise<V3Response<T>> {
    const { res, raw, requestId } = await this.send(method, new URL(pathAndQuery, this.base), body);
    const text = raw.toString('utf8');
    if (res.status < 200 || res.status > 299) throw v3Failure(res.status, text, requestId, opts.notFound);
    this.opts.verifier.verify(res.headers, raw);
    return { status: res.status, data: (text ? JSON.parse(text) : undefined) as T, ...(requestId ? { requestId } : {}) };
  }

  /**
   * Bill download: the request is signed, the response is the raw file and is NOT signed — its integrity is
   * the SHA-1 from the tradebill answer, checked by the caller (wxpay-v3.md §1.7).
   */
  async download(downloadUrl: string): Promise<Buffer> {
    const url = new URL(downloadUrl, this.base);
    // Only follow URLs on the API host we were configured with: the token grants the merchant's bill.
    if (url.origin !== this.base.origin) {
      throw new PayError({ code: 'INVALID_REQUEST', message: `bill download URL ${url.origin} is not on ${this.base.origin}`, detail: { field: 'download_url', issue: 'foreign host' } });
    }
    const { res, raw, requestId } = await this.send('GET', url);
    if (res.status < 200 || res.status > 299) throw v3Failure(res.status, raw.toString('utf8'), requestId);
    return raw;
  }

  private async send(method: 'GET' | 'POST', url: URL, body?: unknown): Promise<{ res: Response; raw: Buffer; requestId: string | undefined }> {
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': 'weda-wxpay',
      Authorization: buildAuthorization(this.opts.signer, { method, url: url.pathname + url.search, body: bodyText }),
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.opts.preferredPlatformSerial) headers['Wechatpay-Serial'] = this.opts.preferredPlatformSerial;

    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, ...(body !== undefined ? { body: bodyText } : {}), signal: AbortSignal.timeout(this.opts.timeoutMs) });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      throw new PayError({
        code: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
        message: timedOut ? `${method} ${url.pathname} timed out after ${this.opts.timeoutMs} ms` : `${method} ${url.pathname} failed: ${(err as Error).message}`,
        retryable: true,
        cause: err,
      });
    }
    const raw = Buffer.from(await res.arrayBuffer());
    return { res, raw, requestId: res.headers.get('Request-ID') ?? undefined };
  }
}
