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
   * the SHA-1 from the tradebill answer, checked by the caller (wxpay-v3.md §1.7). The body comes as a stream (a
   * day's bill can be hundreds of MB): `timeoutMs` bounds the wait for the answer and then each wait for more bytes.
   */
  async downloadStream(downloadUrl: string): Promise<AsyncIterable<Uint8Array>> {
    const url = new URL(downloadUrl, this.base);
    // Only follow URLs on the API host we were configured with: the token grants the merchant's bill.
    if (url.origin !== this.base.origin) {
      throw new PayError({ code: 'INVALID_REQUEST', message: `bill download URL ${url.origin} is not on ${this.base.origin}`, detail: { field: 'download_url', issue: 'foreign host' } });
    }
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), this.opts.timeoutMs);
    const res = await this.fetchWithErrors('GET', url, this.headers('GET', url), abort.signal).finally(() => clearTimeout(timer));
    const requestId = res.headers.get('Request-ID') ?? undefined;
    if (res.status < 200 || res.status > 299 || !res.body) {
      throw v3Failure(res.status, Buffer.from(await res.arrayBuffer()).toString('utf8'), requestId);
    }
    const body = res.body;
    const idle = this.opts.timeoutMs;
    return (async function* stream() {
      const reader = body.getReader();
      try {
        for (;;) {
          timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), idle);
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (err) {
            throw new PayError({ code: abort.signal.aborted ? 'TIMEOUT' : 'NETWORK_ERROR', message: `bill download ${url.pathname} stopped: ${(err as Error).message}`, retryable: true, cause: err });
          } finally {
            clearTimeout(timer);
          }
          if (next.done) return;
          yield next.value;
        }
      } finally {
        // The reader stopped early (an error, a page already full): let the connection go.
        await reader.cancel().catch(() => {});
      }
    })();
  }

  private headers(method: 'GET' | 'POST', url: URL, bodyText = '', json = false): Record<string, string> {
    return {
      Accept: 'application/json',
      'User-Agent': 'weda-wxpay',
      Authorization: buildAuthorization(this.opts.signer, { method, url: url.pathname + url.search, body: bodyText }),
      ...(json ? { 'Content-Type': 'application/json' } : {}),
      ...(this.opts.preferredPlatformSerial ? { 'Wechatpay-Serial': this.opts.preferredPlatformSerial } : {}),
    };
  }

  private async fetchWithErrors(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, signal: AbortSignal, bodyText?: string): Promise<Response> {
    try {
      return await this.fetchImpl(url, { method, headers, ...(bodyText !== undefined ? { body: bodyText } : {}), signal });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      throw new PayError({
        code: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
        message: timedOut ? `${method} ${url.pathname} timed out after ${this.opts.timeoutMs} ms` : `${method} ${url.pathname} failed: ${(err as Error).message}`,
        retryable: true,
        cause: err,
      });
    }
  }

  private async send(method: 'GET' | 'POST', url: URL, body?: unknown): Promise<{ res: Response; raw: Buffer; requestId: string | undefined }> {
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    const headers = this.headers(method, url, bodyText, body !== undefined);
    const res = await this.fetchWithErrors(method, url, headers, AbortSignal.timeout(this.opts.timeoutMs), body !== undefined ? bodyText : undefined);
    const raw = Buffer.from(await res.arrayBuffer());
    return { res, raw, requestId: res.headers.get('Request-ID') ?? undefined };
  }
}
