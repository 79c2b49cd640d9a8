/**
 * The sandbox's schema, one migration per step, applied in order by `migrate()` (db.ts) and counted by
 * `PRAGMA user_version`, so a later sandbox opens an earlier one's state without losing it. Never edit a step
 * that has shipped: add one. Times are sandbox-clock epoch milliseconds.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: orders, prepay ids, v3 notifications and their attempts, the request log.
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
  // 2: time_expire / auto-close, refunds, bills, fault injection, notification faults.
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
  // 3: subscribe messages the payment callbacks send.
  `
  CREATE TABLE messages (                   -- subscribe messages sent to payers (recorded, not delivered)
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    touser TEXT NOT NULL,
    body   TEXT NOT NULL,
    at     INTEGER NOT NULL
  );
  CREATE INDEX messages_touser ON messages (touser);
  `,

  // 4: CloudPay's tables (until now created by a runner of their own, versioned in meta), and ONE notification
  // outbox for both delivery channels: v3 notifications POSTed to a notify URL ('http') and CloudPay callbacks
  // invoked as cloud functions ('cloud-function'). Existing rows of both old outboxes are carried over.
  `
  CREATE TABLE IF NOT EXISTS cloudpay_functions (
    env_id           TEXT NOT NULL,
    function_name    TEXT NOT NULL,
    url              TEXT NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (env_id, function_name)
  );

  CREATE TABLE IF NOT EXISTS cloudpay_orders (   -- the callback named at unifiedOrder
    mchid            TEXT NOT NULL,
    out_trade_no     TEXT NOT NULL,
    sub_appid        TEXT NOT NULL,
    env_id           TEXT NOT NULL,
    function_name    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (mchid, out_trade_no)
  );

  CREATE TABLE IF NOT EXISTS cloudpay_refunds (  -- the callback named at refund
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
    source_id        TEXT,
    event_json       TEXT NOT NULL,
    create_time      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_attempt_at  INTEGER,
    created_at       INTEGER NOT NULL
  );

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

  CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    channel          TEXT NOT NULL CHECK (channel IN ('http', 'cloud-function')),
    event_type       TEXT NOT NULL,           -- TRANSACTION.SUCCESS, REFUND.*, CLOUDPAY.PAYMENT, CLOUDPAY.REFUND
    url              TEXT NOT NULL,           -- http: the notify URL; cloud-function: cloudfunction://{env_id}/{function_name}
    out_trade_no     TEXT,
    out_refund_no    TEXT,
    payload          TEXT NOT NULL,           -- http: the plaintext resource, encrypted and signed afresh per attempt; cloud-function: the event
    create_time      TEXT NOT NULL,           -- identical on every attempt
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_attempt_at  INTEGER,                 -- null once delivered, given up or held
    created_at       INTEGER NOT NULL,
    fault            TEXT,                    -- notification fault applied to its first delivery, if any
    held             INTEGER NOT NULL DEFAULT 0 -- REORDER: waits for the next notification
  );
  CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

  CREATE TABLE outbox_attempts (
    notification_id  TEXT NOT NULL REFERENCES outbox (id),
    attempt          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    url              TEXT,                    -- where it was (or, dropped, would have been) POSTed; null: nowhere to send it
    acked            INTEGER NOT NULL,        -- 1 when the answer acknowledged it by the channel's rule
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    fault            TEXT,
    request_headers  TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    response_headers TEXT,
    response_body    TEXT,
    PRIMARY KEY (notification_id, attempt)
  );

  INSERT INTO outbox (id, channel, event_type, url, out_trade_no, out_refund_no, payload, create_time, status, next_attempt_at, created_at, fault, held)
    SELECT id, 'http', event_type, url, out_trade_no, out_refund_no, resource_json, create_time, status, next_attempt_at, created_at, fault, held
    FROM notifications ORDER BY rowid;
  INSERT INTO outbox_attempts (notification_id, attempt, at, url, acked, status_code, latency_ms, error, fault, request_headers, request_body, response_headers, response_body)
    SELECT a.notification_id, a.attempt, a.at, n.url, COALESCE(a.status_code IN (200, 204), 0), a.status_code, a.latency_ms, a.error, a.fault,
      a.request_headers, a.request_body, a.response_headers, a.response_body
    FROM notification_attempts a JOIN notifications n ON n.id = a.notification_id ORDER BY a.rowid;

  INSERT INTO outbox (id, channel, event_type, url, out_trade_no, out_refund_no, payload, create_time, status, next_attempt_at, created_at)
    SELECT id, 'cloud-function', CASE kind WHEN 'payment' THEN 'CLOUDPAY.PAYMENT' ELSE 'CLOUDPAY.REFUND' END,
      'cloudfunction://' || env_id || '/' || function_name, out_trade_no, out_refund_no, event_json, create_time, status, next_attempt_at, created_at
    FROM cloudpay_deliveries ORDER BY rowid;
  INSERT INTO outbox_attempts (notification_id, attempt, at, url, acked, status_code, latency_ms, error, request_headers, request_body, response_body)
    SELECT a.delivery_id, a.attempt, a.at, a.url, a.error IS NULL, a.status_code, a.latency_ms, a.error,
      '{"Content-Type":"application/json"}', d.event_json, a.response_body
    FROM cloudpay_delivery_attempts a JOIN cloudpay_deliveries d ON d.id = a.delivery_id ORDER BY a.rowid;

  DROP TABLE notification_attempts;
  DROP TABLE notifications;
  DROP TABLE cloudpay_delivery_attempts;
  DROP TABLE cloudpay_deliveries;
  DELETE FROM meta WHERE key = 'cloudpay_schema_version';
  `,
  // 5: a bill's bytes in chunks, so a day of any size is written and served a piece at a time (bills stored
  // before keep theirs in bills.content; new ones leave it empty and record their size).
  `
  CREATE TABLE bill_chunks (
    mchid            TEXT NOT NULL,
    bill_date        TEXT NOT NULL,
    bill_type        TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    bytes            BLOB NOT NULL,
    PRIMARY KEY (mchid, bill_date, bill_type, seq)
  );
  ALTER TABLE bills ADD COLUMN size INTEGER;   -- bytes of the uncompressed bill; null for bills stored whole in content
  -- a day's payments in bill order, read a page at a time from a cursor (success_time, out_trade_no)
  CREATE INDEX transactions_success_order ON transactions (success_time, out_trade_no);
  `,
];
