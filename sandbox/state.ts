import Database from 'better-sqlite3';
import path from 'node:path';

export type Db = Database.Database;

/**
 * Schema migrations, applied in order and tracked by `PRAGMA user_version`, so issue 4 adds steps (refunds,
 * bills, faults, CloudPay) without losing a user's state. Times are sandbox-clock epoch milliseconds.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE transactions (
    mchid            TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    appid            TEXT NOT NULL,
    description      TEXT NOT NULL,
    notify_url       TEXT NOT NULL,
    attach           TEXT,
    time_expire      TEXT,
    amount_total     INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    payer_openid     TEXT NOT NULL,
    device_id        TEXT,
    request_json     TEXT NOT NULL,           -- canonical first request, for the re-entry comparison (§1.1)
    trade_type       TEXT NOT NULL,
    trade_state      TEXT NOT NULL,
    transaction_id   TEXT UNIQUE,
    bank_type        TEXT,
    payer_total      INTEGER,
    success_time     TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (mchid, out_trade_no)
  );

  CREATE TABLE prepay_ids (
    prepay_id        TEXT PRIMARY KEY,
    mchid            TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
  );
  CREATE INDEX prepay_ids_order ON prepay_ids (mchid, out_trade_no);

  CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    event_type       TEXT NOT NULL,
    url              TEXT NOT NULL,
    out_trade_no     TEXT,
    out_refund_no    TEXT,
    resource_json    TEXT NOT NULL,           -- plaintext resource; each attempt re-encrypts and re-signs it
    create_time      TEXT NOT NULL,           -- the envelope's create_time, identical on every attempt
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_attempt_at  INTEGER,                 -- null once delivered or given up
    created_at       INTEGER NOT NULL
  );
  CREATE INDEX notifications_due ON notifications (status, next_attempt_at);

  CREATE TABLE notification_attempts (
    notification_id  TEXT NOT NULL REFERENCES notifications (id),
    attempt          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    request_headers  TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    response_body    TEXT,
    PRIMARY KEY (notification_id, attempt)
  );

  CREATE TABLE requests (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id       TEXT NOT NULL,
    method           TEXT NOT NULL,
    url              TEXT NOT NULL,
    status           INTEGER NOT NULL,
    code             TEXT,
    at               INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    request_body     TEXT,
    response_body    TEXT
  );
  `,
  // 2 (issue 4): time_expire / auto-close, refunds, bills, fault injection, notification faults.
  `
  ALTER TABLE transactions ADD COLUMN expires_at INTEGER;      -- effective time_expire (clamped), sandbox ms
  ALTER TABLE transactions ADD COLUMN auto_close_at INTEGER;   -- WeChat closes unpaid orders by itself then
  ALTER TABLE transactions ADD COLUMN last_pay_attempt TEXT;   -- JSON {result, at, message} of the last control pay/cancel
  UPDATE transactions SET auto_close_at = created_at + 604800000;
  UPDATE transactions SET expires_at = created_at + 604800000 WHERE time_expire IS NULL;
  CREATE INDEX transactions_auto_close ON transactions (trade_state, auto_close_at);
  CREATE INDEX transactions_success_time ON transactions (success_time);

  CREATE TABLE refunds (
    refund_id        TEXT PRIMARY KEY,
    mchid            TEXT NOT NULL,
    out_refund_no    TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    transaction_id   TEXT NOT NULL,
    reason           TEXT,
    notify_url       TEXT NOT NULL,           -- '' = no v3 notification (e.g. CloudPay delivers its own)
    funds_account    TEXT,
    request_json     TEXT NOT NULL,           -- canonical idempotency key material (order, amounts)
    amount_refund    INTEGER NOT NULL,
    amount_total     INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
    create_time      TEXT NOT NULL,
    success_time     TEXT,
    settle_at        INTEGER,                 -- automatic settlement due (sandbox ms); null = manual only / settled
    source           TEXT NOT NULL,           -- 'v3' or the façade that created it ('cloudpay')
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (mchid, out_refund_no)
  );
  CREATE INDEX refunds_order ON refunds (mchid, out_trade_no);
  CREATE INDEX refunds_settle ON refunds (status, settle_at);
  CREATE INDEX refunds_created ON refunds (created_at);

  CREATE TABLE bills (
    mchid            TEXT NOT NULL,
    bill_date        TEXT NOT NULL,
    bill_type        TEXT NOT NULL,
    content          BLOB NOT NULL,           -- uncompressed CSV bytes, frozen when first generated
    sha1             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (mchid, bill_date, bill_type)
  );

  CREATE TABLE bill_tokens (
    token            TEXT PRIMARY KEY,
    mchid            TEXT NOT NULL,
    bill_date        TEXT NOT NULL,
    bill_type        TEXT NOT NULL,
    gzip             INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
  );

  CREATE TABLE faults (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    target           TEXT NOT NULL CHECK (target IN ('http', 'notification')),
    path             TEXT,                    -- http: request path prefix
    method           TEXT,                    -- http: optional method
    event_type       TEXT,                    -- notification: optional event_type prefix
    ms               INTEGER,                 -- LATENCY
    seconds          REAL,                    -- DELAY
    remaining        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
  );

  ALTER TABLE notifications ADD COLUMN fault TEXT;                      -- notification fault applied to it, if any
  ALTER TABLE notifications ADD COLUMN held INTEGER NOT NULL DEFAULT 0; -- REORDER: waits for the next notification
  ALTER TABLE notification_attempts ADD COLUMN fault TEXT;
  ALTER TABLE notification_attempts ADD COLUMN response_headers TEXT;
  ALTER TABLE requests ADD COLUMN fault TEXT;                           -- HTTP fault injected into this request
  `,
  `
  CREATE TABLE messages (                   -- subscribe messages sent to payers (recorded, not delivered)
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    touser TEXT NOT NULL,
    body   TEXT NOT NULL,
    at     INTEGER NOT NULL
  );
  CREATE INDEX messages_touser ON messages (touser);
  `,
];

/** Opens (creating if needed) `dataDir/sandbox.sqlite` in WAL mode and brings its schema up to date. */
export function openStateDb(dataDir: string): Db {
  const db = new Database(path.join(dataDir, 'sandbox.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  cacheStatements(db);
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) throw new Error(`sandbox.sqlite has schema version ${current}, newer than this sandbox (${MIGRATIONS.length})`);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/**
 * Compiles each SQL text once: `db.prepare(sql)` then returns the same Statement every time. Compiling costs about
 * as much as running a lookup (~14 µs), and the request hot path prepares several per request (bench/). Safe here
 * because no caller changes a statement's mode (`pluck`/`raw`/`expand`) or keeps one iterating.
 */
function cacheStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const compiled = new Map<string, Database.Statement>();
  db.prepare = ((source: string) => {
    let statement = compiled.get(source);
    if (!statement) {
      statement = compile(source);
      compiled.set(source, statement);
    }
    return statement;
  }) as Db['prepare'];
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** Clips stored request/response text so the logs stay small. */
export function clip(text: string | undefined | null, max = 4096): string | null {
  if (text === undefined || text === null) return null;
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more chars]` : text;
}
