import { Sql } from './db';

/**
 * Faults on `/v3/*` requests: an error answer (signed, v3 body) instead of the real handling, added latency, or
 * (PROBE with a `path`) a normal answer whose signature is a `WECHATPAY/SIGNTEST/…` probe (wxpay-v3.md §3).
 */
export type HttpFaultKind = 'SYSTEM_ERROR' | 'FREQUENCY_LIMITED' | 'NOT_ENOUGH' | 'LATENCY' | 'PROBE';
/** Faults on the next v3 notifications' first delivery (see delivery/sender.ts). */
export type NotificationFaultKind = 'DROP' | 'DELAY' | 'DUPLICATE' | 'REORDER' | 'PROBE';
export type FaultKind = HttpFaultKind | NotificationFaultKind;

export interface FaultRow {
  id: number;
  kind: FaultKind;
  target: 'http' | 'notification';
  path: string | null;
  method: string | null;
  event_type: string | null;
  ms: number | null;
  seconds: number | null;
  remaining: number;
  created_at: number;
}

/** Pending faults, persisted (they survive a restart) and consumed one by one, oldest first. */
export class FaultStore {
  constructor(private readonly sql: Sql) {}

  add(f: Omit<FaultRow, 'id'>): FaultRow {
    const r = this.sql.prepare(`INSERT INTO faults (kind, target, path, method, event_type, ms, seconds, remaining, created_at)
      VALUES (@kind, @target, @path, @method, @event_type, @ms, @seconds, @remaining, @created_at)`).run(f);
    return this.sql.prepare('SELECT * FROM faults WHERE id = ?').get(r.lastInsertRowid) as FaultRow;
  }

  list(): FaultRow[] {
    return this.sql.prepare('SELECT * FROM faults WHERE remaining > 0 ORDER BY id').all() as FaultRow[];
  }

  clear(): number {
    return this.sql.prepare('DELETE FROM faults').run().changes;
  }

  remove(id: number): boolean {
    return this.sql.prepare('DELETE FROM faults WHERE id = ?').run(id).changes === 1;
  }

  /** True when no fault is pending: lets the hot path skip the lookups. */
  empty(): boolean {
    return this.sql.prepare('SELECT 1 FROM faults WHERE remaining > 0 LIMIT 1').get() === undefined;
  }

  /** Consumes one matching HTTP fault of the given kinds (the oldest), if any. */
  takeHttp(kinds: readonly HttpFaultKind[], method: string, path: string): FaultRow | undefined {
    const rows = this.sql.prepare(`SELECT * FROM faults WHERE target = 'http' AND remaining > 0 ORDER BY id`).all() as FaultRow[];
    const hit = rows.find((f) => (kinds as readonly string[]).includes(f.kind) && path.startsWith(f.path ?? '/') && (f.method === null || f.method === method));
    if (hit) this.consume(hit.id);
    return hit;
  }

  /** Consumes one notification fault matching the event type (the oldest), if any. */
  takeNotification(eventType: string): FaultRow | undefined {
    const rows = this.sql.prepare(`SELECT * FROM faults WHERE target = 'notification' AND remaining > 0 ORDER BY id`).all() as FaultRow[];
    const hit = rows.find((f) => f.event_type === null || eventType.startsWith(f.event_type));
    if (hit) this.consume(hit.id);
    return hit;
  }

  private consume(id: number): void {
    this.sql.prepare('UPDATE faults SET remaining = remaining - 1 WHERE id = ?').run(id);
    this.sql.prepare('DELETE FROM faults WHERE id = ? AND remaining <= 0').run(id);
  }
}
