import { toRfc3339Cst } from '../../wxpay';
import { clip, Sql } from './db';

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

/** Pending entries are written at most this long after the request, or at once when this many are waiting. */
const FLUSH_MS = 25;
const FLUSH_ROWS = 256;

/**
 * Every `/v3/*` request the sandbox received, so a test can prove what was (or was not) sent. Entries are written in
 * batches, one transaction per {@link FLUSH_MS} (an autocommitted insert per request cost more than all the rest of
 * the request's bookkeeping, bench/sandbox-roundtrip.ts); `list()` writes what is pending first, so a reader never
 * misses one, and the server flushes before closing the database.
 */
export class RequestLog {
  private pending: unknown[][] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sql: Sql) {}

  add(r: LoggedRequest): void {
    this.pending.push([r.requestId, r.method, r.url, r.status, r.code ?? null, r.fault ?? null, r.at, r.durationMs, clip(r.requestBody), clip(r.responseBody)]);
    if (this.pending.length >= FLUSH_ROWS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes the pending entries (a no-op once the database is closed). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.pending;
    this.pending = [];
    if (rows.length === 0 || !this.sql.open) return;
    const insert = this.sql.prepare(`INSERT INTO requests (request_id, method, url, status, code, fault, at, duration_ms, request_body, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.sql.transaction(() => {
      for (const row of rows) insert.run(...row);
    });
  }

  /** Oldest first; `sinceSeq` pages forward; `last` keeps only the newest that many (a console showing the latest). */
  list(opts: { sinceSeq?: number; limit?: number; last?: number } = {}): Record<string, unknown>[] {
    this.flush();
    const query = opts.last !== undefined
      ? 'SELECT * FROM (SELECT * FROM requests WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq'
      : 'SELECT * FROM requests WHERE seq > ? ORDER BY seq LIMIT ?';
    const rows = this.sql.prepare(query).all(opts.sinceSeq ?? 0, opts.last ?? opts.limit ?? 1000) as {
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
