import { toRfc3339Cst } from '../wxpay';
import { clip, Db } from './state';

export interface LoggedRequest {
  requestId: string;
  method: string;
  url: string;
  status: number;
  code?: string;
  /** Injected HTTP fault(s), e.g. "LATENCY 200 ms, SYSTEM_ERROR". */
  fault?: string;
  at: number;
  durationMs: number;
  requestBody?: string;
  responseBody?: string;
}

/** Every `/v3/*` request the sandbox received, so a test can prove what was (or was not) sent. */
export class RequestLog {
  constructor(private readonly db: Db) {}

  add(r: LoggedRequest): void {
    this.db.prepare(`INSERT INTO requests (request_id, method, url, status, code, fault, at, duration_ms, request_body, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.requestId, r.method, r.url, r.status, r.code ?? null, r.fault ?? null, r.at, r.durationMs, clip(r.requestBody), clip(r.responseBody));
  }

  /** Oldest first; `sinceSeq` pages forward. */
  list(opts: { sinceSeq?: number; limit?: number } = {}): Record<string, unknown>[] {
    const rows = this.db.prepare('SELECT * FROM requests WHERE seq > ? ORDER BY seq LIMIT ?').all(opts.sinceSeq ?? 0, opts.limit ?? 1000) as {
      seq: number; request_id: string; method: string; url: string; status: number; code: string | null; fault: string | null; at: number; duration_ms: number; request_body: string | null; response_body: string | null;
    }[];
    return rows.map((r) => {
      const q = r.url.indexOf('?');
      return {
        seq: r.seq,
        requestId: r.request_id,
        method: r.method,
        path: q < 0 ? r.url : r.url.slice(0, q),
        url: r.url,
        status: r.status,
        ...(r.code ? { code: r.code } : {}),
        ...(r.fault ? { fault: r.fault } : {}),
        at: toRfc3339Cst(r.at),
        durationMs: r.duration_ms,
        requestBody: r.request_body,
        responseBody: r.response_body,
      };
    });
  }
}
