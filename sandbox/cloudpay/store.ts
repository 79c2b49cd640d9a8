import { createNonce } from '../../wxpay';
import { Db, getMeta, setMeta } from '../state';

/**
 * CloudPay's own tables, beside (not inside) the v3 schema: the cloud-function registry, what CloudPay knows of
 * the orders and refunds it placed (which function to call back), and the cloud-function delivery outbox with
 * its attempt log. Versioned by the meta key `cloudpay_schema_version`, independently of `PRAGMA user_version`,
 * so the v3 migrations and these can evolve without stepping on each other. The orders and refunds themselves
 * live in the v3 tables: one state underneath both APIs.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS cloudpay_functions (
    env_id           TEXT NOT NULL,
    function_name    TEXT NOT NULL,
    url              TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (env_id, function_name)
  );

  CREATE TABLE IF NOT EXISTS cloudpay_orders (
    mchid            TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    sub_appid        TEXT NOT NULL,
    env_id           TEXT NOT NULL,
    function_name    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (mchid, out_trade_no)
  );

  CREATE TABLE IF NOT EXISTS cloudpay_refunds (
    mchid            TEXT NOT NULL,
    out_refund_no    TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    env_id           TEXT NOT NULL,
    function_name    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (mchid, out_refund_no)
  );

  CREATE TABLE IF NOT EXISTS cloudpay_deliveries (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    env_id           TEXT NOT NULL,
    function_name    TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    out_refund_no    TEXT,
    source_id        TEXT,                    -- the v3 notification (WeChat Pay → CloudPay) this came from
    event_json       TEXT NOT NULL,
    create_time      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_attempt_at  INTEGER,
    created_at       INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS cloudpay_deliveries_due ON cloudpay_deliveries (status, next_attempt_at);

  CREATE TABLE IF NOT EXISTS cloudpay_delivery_attempts (
    delivery_id      TEXT NOT NULL REFERENCES cloudpay_deliveries (id),
    attempt          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    url              TEXT,
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    response_body    TEXT,
    PRIMARY KEY (delivery_id, attempt)
  );
  `,
];

const VERSION_KEY = 'cloudpay_schema_version';
const V2_KEY = 'cloudpay_v2_key';
const SETTINGS_KEY = 'cloudpay_settings';

export function migrateCloudPay(db: Db): void {
  const current = Number(getMeta(db, VERSION_KEY) ?? 0);
  if (current > MIGRATIONS.length) throw new Error(`sandbox.sqlite has CloudPay schema version ${current}, newer than this sandbox (${MIGRATIONS.length})`);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      setMeta(db, VERSION_KEY, String(v + 1));
    })();
  }
}

/** The sandbox's APIv2 key (32 chars, §0 "Key"): signs CloudPay responses and the MD5 `paySign`. Made once, kept. */
export function cloudPayV2Key(db: Db): string {
  let key = getMeta(db, V2_KEY);
  if (!key) {
    key = createNonce(32);
    setMeta(db, V2_KEY, key);
  }
  return key;
}

/** Modelling switches (wxpay-v2-cloudpay.md §7, §8 item 9). */
export interface CloudPaySettings {
  /** closeOrder within 5 minutes of creation: accept (default), or answer SYSTEMERROR so retries get exercised. */
  earlyClose: 'accept' | 'SYSTEMERROR';
  /** queryRefund answers refundCount but empty lists, as developers report CloudPay doing (§5.3). */
  emptyRefundLists: boolean;
}

const DEFAULT_SETTINGS: CloudPaySettings = { earlyClose: 'accept', emptyRefundLists: false };

export function readSettings(db: Db): CloudPaySettings {
  const raw = getMeta(db, SETTINGS_KEY);
  return { ...DEFAULT_SETTINGS, ...(raw ? (JSON.parse(raw) as Partial<CloudPaySettings>) : {}) };
}

export function writeSettings(db: Db, s: CloudPaySettings): void {
  setMeta(db, SETTINGS_KEY, JSON.stringify(s));
}

export interface FunctionRow { env_id: string; function_name: string; url: string; updated_at: number }
export interface CloudPayOrderRow { mchid: string; out_trade_no: string; sub_appid: string; env_id: string; function_name: string; created_at: number }
export interface CloudPayRefundRow { mchid: string; out_refund_no: string; out_trade_no: string; env_id: string; function_name: string; created_at: number }
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export interface DeliveryRow {
  id: string;
  kind: 'payment' | 'refund';
  env_id: string;
  function_name: string;
  out_trade_no: string;
  out_refund_no: string | null;
  source_id: string | null;
  event_json: string;
  create_time: string;
  status: DeliveryStatus;
  next_attempt_at: number | null;
  created_at: number;
}
export interface DeliveryAttemptRow {
  delivery_id: string;
  attempt: number;
  at: number;
  url: string | null;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
}

/** Plain data access for the tables above; statements are prepared once. */
export class CloudPayStore {
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(private readonly db: Db) {
    this.s = prepareStatements(db);
  }

  registerFunction(envId: string, functionName: string, url: string, at: number): void {
    this.s.upsertFunction.run(envId, functionName, url, at);
  }

  findFunction(envId: string, functionName: string): FunctionRow | undefined {
    return this.s.findFunction.get(envId, functionName) as FunctionRow | undefined;
  }

  listFunctions(): FunctionRow[] {
    return this.s.listFunctions.all() as FunctionRow[];
  }

  deleteFunction(envId: string, functionName: string): boolean {
    return this.s.deleteFunction.run(envId, functionName).changes === 1;
  }

  /** First unifiedOrder wins: re-entry with the same out_trade_no keeps the original callback. */
  rememberOrder(o: CloudPayOrderRow): void {
    this.s.insertOrder.run(o.mchid, o.out_trade_no, o.sub_appid, o.env_id, o.function_name, o.created_at);
  }

  findOrder(mchid: string, outTradeNo: string): CloudPayOrderRow | undefined {
    return this.s.findOrder.get(mchid, outTradeNo) as CloudPayOrderRow | undefined;
  }

  rememberRefund(r: CloudPayRefundRow): void {
    this.s.insertRefund.run(r.mchid, r.out_refund_no, r.out_trade_no, r.env_id, r.function_name, r.created_at);
  }

  findRefund(mchid: string, outRefundNo: string): CloudPayRefundRow | undefined {
    return this.s.findRefund.get(mchid, outRefundNo) as CloudPayRefundRow | undefined;
  }

  enqueue(d: Omit<DeliveryRow, 'status' | 'next_attempt_at'>): void {
    this.s.insertDelivery.run(d);
  }

  get(id: string): DeliveryRow | undefined {
    return this.s.getDelivery.get(id) as DeliveryRow | undefined;
  }

  due(now: number, limit: number): DeliveryRow[] {
    return this.s.due.all(now, limit) as DeliveryRow[];
  }

  attemptCount(id: string): number {
    return (this.s.attemptCount.get(id) as { n: number }).n;
  }

  /** Records one attempt and the resulting state atomically; returns the attempt number. */
  recordAttempt(a: Omit<DeliveryAttemptRow, 'attempt'>, next: { status: DeliveryStatus; nextAttemptAt: number | null }): number {
    return this.db.transaction(() => {
      const attempt = this.attemptCount(a.delivery_id) + 1;
      this.s.insertAttempt.run(a.delivery_id, attempt, a.at, a.url, a.status_code, a.latency_ms, a.error, a.response_body);
      this.s.setStatus.run(next.status, next.nextAttemptAt, a.delivery_id);
      return attempt;
    })();
  }

  /** Manual resend: due now, whatever the state (a resend of a delivered event is a duplicate, as on WeChat). */
  resend(id: string, now: number): boolean {
    return this.s.setStatus.run('pending', now, id).changes === 1;
  }

  list(filter: { outTradeNo?: string; status?: DeliveryStatus; limit?: number } = {}): DeliveryRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.outTradeNo !== undefined) { where.push('out_trade_no = ?'); args.push(filter.outTradeNo); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    const sql = `SELECT * FROM cloudpay_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, rowid LIMIT ?`;
    return this.db.prepare(sql).all(...args, filter.limit ?? 500) as DeliveryRow[];
  }

  attempts(id: string): DeliveryAttemptRow[] {
    return this.s.attempts.all(id) as DeliveryAttemptRow[];
  }
}

function prepareStatements(db: Db) {
  return {
    upsertFunction: db.prepare(`INSERT INTO cloudpay_functions (env_id, function_name, url, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (env_id, function_name) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at`),
    findFunction: db.prepare('SELECT * FROM cloudpay_functions WHERE env_id = ? AND function_name = ?'),
    listFunctions: db.prepare('SELECT * FROM cloudpay_functions ORDER BY env_id, function_name'),
    deleteFunction: db.prepare('DELETE FROM cloudpay_functions WHERE env_id = ? AND function_name = ?'),
    insertOrder: db.prepare(`INSERT INTO cloudpay_orders (mchid, out_trade_no, sub_appid, env_id, function_name, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (mchid, out_trade_no) DO NOTHING`),
    findOrder: db.prepare('SELECT * FROM cloudpay_orders WHERE mchid = ? AND out_trade_no = ?'),
    insertRefund: db.prepare(`INSERT INTO cloudpay_refunds (mchid, out_refund_no, out_trade_no, env_id, function_name, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (mchid, out_refund_no) DO NOTHING`),
    findRefund: db.prepare('SELECT * FROM cloudpay_refunds WHERE mchid = ? AND out_refund_no = ?'),
    insertDelivery: db.prepare(`INSERT INTO cloudpay_deliveries (id, kind, env_id, function_name, out_trade_no, out_refund_no, source_id, event_json, create_time, status, next_attempt_at, created_at)
      VALUES (@id, @kind, @env_id, @function_name, @out_trade_no, @out_refund_no, @source_id, @event_json, @create_time, 'pending', @created_at, @created_at)`),
    getDelivery: db.prepare('SELECT * FROM cloudpay_deliveries WHERE id = ?'),
    due: db.prepare(`SELECT * FROM cloudpay_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`),
    attemptCount: db.prepare('SELECT COUNT(*) AS n FROM cloudpay_delivery_attempts WHERE delivery_id = ?'),
    insertAttempt: db.prepare(`INSERT INTO cloudpay_delivery_attempts (delivery_id, attempt, at, url, status_code, latency_ms, error, response_body)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    setStatus: db.prepare('UPDATE cloudpay_deliveries SET status = ?, next_attempt_at = ? WHERE id = ?'),
    attempts: db.prepare('SELECT * FROM cloudpay_delivery_attempts WHERE delivery_id = ? ORDER BY attempt'),
  };
}
