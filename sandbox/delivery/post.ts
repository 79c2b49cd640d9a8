import http from 'node:http';
import https from 'node:https';

/** What one POST got back; `error` says why there is no usable answer. */
export interface HttpOutcome {
  statusCode: number | null;
  responseBody: string | null;
  responseHeaders: Record<string, string | string[]> | null;
  error: string | null;
}

/** The error of an attempt cut short by `stop()`: not an attempt at all. */
export const SHUTDOWN = 'sandbox shutting down';

/** One POST with a hard deadline; never throws. A fresh connection each time (no pooled sockets outlive close()). */
export function postWithDeadline(url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: HttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(o);
    };
    let req: http.ClientRequest;
    try {
      const target = new URL(url);
      const transport = target.protocol === 'https:' ? https : http;
      req = transport.request(target, { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } });
    } catch (err) {
      resolve({ statusCode: null, responseBody: null, responseHeaders: null, error: `bad URL: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      finish({ statusCode: null, responseBody: null, responseHeaders: null, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const onAbort = (): void => {
      finish({ statusCode: null, responseBody: null, responseHeaders: null, error: SHUTDOWN });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      const responseHeaders = res.headers as Record<string, string | string[]>;
      res.on('end', () => finish({ statusCode: res.statusCode ?? null, responseBody: Buffer.concat(chunks).toString('utf8'), responseHeaders, error: null }));
      res.on('error', (err) => finish({ statusCode: res.statusCode ?? null, responseBody: null, responseHeaders, error: err.message }));
    });
    req.on('error', (err) => finish({ statusCode: null, responseBody: null, responseHeaders: null, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(body);
  });
}
