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

/**
 * Every `/v3/*` request the sandbox received, so a test can prove what was (or was not) sent.
 *
 * Durable before answered: `add()` resolves once the entry is committed, and the pipeline writes the answer only
 * then, so a request its client saw answered is in the log even if the process is killed the next instant. Group
 * commit keeps it cheap: the entries added in one turn of the event loop are written in one transaction at the
 * end of it (an autocommitted insert per request cost more than all the rest of the request's bookkeeping,
 * bench/sandbox-roundtrip.ts). `close()` of the state writes what is still waiting.
 */
export class RequestLog {
  private rows: unknown[][] = [];
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly sql: Sql) {}

  add(r: LoggedRequest): Promise<void> {
    this.rows.push([r.requestId, r.method, r.url, r.status, r.code ?? null, r.fault ?? null, r.at, r.durationMs, clip(r.requestBody), clip(r.responseBody)]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Writes the waiting entries in one transaction and lets their answers go (a no-op once the database is closed). */
  flush(): void {
    this.scheduled = false;
    const rows = this.rows;
    const waiting = this.waiting;
    this.rows = [];
    this.waiting = [];
    try {
      if (rows.length > 0 && this.sql.open) {
        const insert = this.sql.prepare(`INSERT INTO requests (request_id, method, url, status, code, fault, at, duration_ms, request_body, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
        this.sql.transaction(() => {
          for (const row of rows) insert.run(...row);
        });
      }
    } catch (err) {
      for (const w of waiting) w.reject(err);
      return;
    }
    for (const w of waiting) w.resolve();
  }

  /** Oldest first; `sinceSeq` pages forward; `last` keeps only the newest that many (a console showing the latest). */
  list(opts: { sinceSeq?: number; limit?: number; last?: number } = {}): Record<string, unknown>[] {
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

  /**
   * Retention: deletes up to `batch` of the oldest entries that are older than `before` (sandbox ms) or beyond the
   * newest `keep`; returns how many went. Entries are appended in time order, so only the oldest end is looked at.
   */
  prune(before: number, keep: number, batch: number): number {
    const bounds = this.sql.prepare('SELECT MIN(seq) AS first, MAX(seq) AS last FROM requests').get() as { first: number | null; last: number | null };
    if (bounds.first === null || bounds.last === null) return 0;
    // seq has no gaps but those of deleted entries, so last − keep bounds the excess from above.
    const excessUpTo = bounds.last - keep;
    return this.sql.prepare('DELETE FROM requests WHERE seq < ? AND (seq <= ? OR at < ?)').run(bounds.first + batch, excessUpTo, before).changes;
  }
}
