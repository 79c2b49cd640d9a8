/**
 * A data directory from before the one outbox (v3 notifications and CloudPay deliveries in separate tables, the
 * CloudPay tables versioned on their own) opens in this sandbox with every notification, attempt and registered
 * function carried over: the log shows them in the one shape, and the pending ones are delivered as before.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { startSandbox } from '../sandbox';
import { MIGRATIONS, migrate } from '../sandbox/state';
import { startCloudFunction } from './helpers/cloudpay-functions';
import { notificationLog, startReceiver, tempDataDir, waitFor } from './helpers/sandbox-harness';

/** The CloudPay tables as the previous sandbox created them, under its own meta version key. */
const PREVIOUS_CLOUDPAY_SCHEMA = `
  CREATE TABLE cloudpay_functions (env_id TEXT NOT NULL, function_name TEXT NOT NULL, url TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (env_id, function_name));
  CREATE TABLE cloudpay_orders (mchid TEXT NOT NULL, out_trade_no TEXT NOT NULL, sub_appid TEXT NOT NULL, env_id TEXT NOT NULL, function_name TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (mchid, out_trade_no));
  CREATE TABLE cloudpay_refunds (mchid TEXT NOT NULL, out_refund_no TEXT NOT NULL, out_trade_no TEXT NOT NULL, env_id TEXT NOT NULL, function_name TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (mchid, out_refund_no));
  CREATE TABLE cloudpay_deliveries (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund')), env_id TEXT NOT NULL, function_name TEXT NOT NULL,
    out_trade_no TEXT NOT NULL, out_refund_no TEXT, source_id TEXT, event_json TEXT NOT NULL, create_time TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')), next_attempt_at INTEGER, created_at INTEGER NOT NULL);
  CREATE TABLE cloudpay_delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES cloudpay_deliveries (id), attempt INTEGER NOT NULL, at INTEGER NOT NULL, url TEXT,
    status_code INTEGER, latency_ms INTEGER NOT NULL, error TEXT, response_body TEXT, PRIMARY KEY (delivery_id, attempt));
  INSERT INTO meta (key, value) VALUES ('cloudpay_schema_version', '1');
`;

test('v3 notifications and CloudPay deliveries of an earlier sandbox move into the one outbox, attempts and all', async () => {
  const data = tempDataDir();
  const rx = await startReceiver(() => 204);
  const fn = await startCloudFunction();
  try {
    const now = Date.now();
    const t0 = now - 60_000;
    const db = new Database(path.join(data.dir, 'sandbox.sqlite'));
    migrate(db, MIGRATIONS.slice(0, 3));
    db.exec(PREVIOUS_CLOUDPAY_SCHEMA);
    const v3 = db.prepare(`INSERT INTO notifications (id, event_type, url, out_trade_no, out_refund_no, resource_json, create_time, status, next_attempt_at, created_at, fault, held)
      VALUES (?, ?, ?, ?, ?, ?, '2024-05-01T10:00:00+08:00', ?, ?, ?, ?, 0)`);
    const v3Attempt = db.prepare(`INSERT INTO notification_attempts (notification_id, attempt, at, status_code, latency_ms, error, request_headers, request_body, response_body, fault, response_headers)
      VALUES (?, ?, ?, ?, 3, ?, '{"Wechatpay-Serial":"PUB_KEY_ID_1"}', '{"ciphertext":"…"}', ?, ?, '{"content-type":"text/plain"}')`);
    v3.run('v3-delivered', 'TRANSACTION.SUCCESS', rx.url, 'OLD1', null, '{"out_trade_no":"OLD1"}', 'delivered', null, t0, null);
    v3Attempt.run('v3-delivered', 1, t0, null, 'no answer within 5000 ms', null, 'DROP');
    v3Attempt.run('v3-delivered', 2, t0 + 15_000, 204, null, '', null);
    v3.run('v3-pending', 'REFUND.SUCCESS', rx.url, 'OLD2', 'ROLD2', '{"out_refund_no":"ROLD2","refund_status":"SUCCESS"}', 'pending', now, t0 + 1, null);
    v3Attempt.run('v3-pending', 1, t0 + 1, 500, null, 'busy', null);

    db.prepare('INSERT INTO cloudpay_functions VALUES (?, ?, ?, ?)').run('env-1', 'payCallback', fn.url, t0);
    const cp = db.prepare(`INSERT INTO cloudpay_deliveries (id, kind, env_id, function_name, out_trade_no, out_refund_no, source_id, event_json, create_time, status, next_attempt_at, created_at)
      VALUES (?, ?, 'env-1', 'payCallback', ?, ?, NULL, ?, '2024-05-01T10:00:01+08:00', ?, ?, ?)`);
    const cpAttempt = db.prepare('INSERT INTO cloudpay_delivery_attempts (delivery_id, attempt, at, url, status_code, latency_ms, error, response_body) VALUES (?, ?, ?, ?, ?, 4, ?, ?)');
    cp.run('cloudpay-delivered', 'payment', 'OLD3', null, '{"outTradeNo":"OLD3"}', 'delivered', null, t0 + 2);
    cpAttempt.run('cloudpay-delivered', 1, t0 + 2, null, null, 'FUNCTION_NOT_FOUND: no cloud function payCallback registered in env env-1', null);
    cpAttempt.run('cloudpay-delivered', 2, t0 + 17_000, fn.url, 200, null, '{"errcode":0}');
    cp.run('cloudpay-pending', 'refund', 'OLD4', 'ROLD4', '{"outRefundNo":"ROLD4"}', 'pending', now, t0 + 3);
    db.close();

    const sandbox = await startSandbox({ dataDir: data.dir });
    try {
      const log = await notificationLog(sandbox.info);
      expect(log.map((n) => [n.id, n.kind, n.channel, n.event_type, n.url])).toEqual([
        ['v3-delivered', 'v3', 'http', 'TRANSACTION.SUCCESS', rx.url],
        ['v3-pending', 'v3', 'http', 'REFUND.SUCCESS', rx.url],
        ['cloudpay-delivered', 'cloudpay', 'cloud-function', 'CLOUDPAY.PAYMENT', 'cloudfunction://env-1/payCallback'],
        ['cloudpay-pending', 'cloudpay', 'cloud-function', 'CLOUDPAY.REFUND', 'cloudfunction://env-1/payCallback'],
      ]);
      expect(log[0]).toMatchObject({ out_trade_no: 'OLD1', status: 'delivered', create_time: '2024-05-01T10:00:00+08:00', nextRetryAt: null });
      expect(log[0].attempts).toEqual([
        { attempt: 1, at: expect.any(String), url: rx.url, statusCode: null, acked: false, latencyMs: 3, error: 'no answer within 5000 ms', fault: 'DROP' },
        { attempt: 2, at: expect.any(String), url: rx.url, statusCode: 204, acked: true, latencyMs: 3 },
      ]);
      expect(log[2]).toMatchObject({ out_trade_no: 'OLD3', status: 'delivered' });
      expect(log[2].attempts).toEqual([
        { attempt: 1, at: expect.any(String), url: null, statusCode: null, acked: false, latencyMs: 4, error: expect.stringContaining('FUNCTION_NOT_FOUND') },
        { attempt: 2, at: expect.any(String), url: fn.url, statusCode: 200, acked: true, latencyMs: 4, responseBody: '{"errcode":0}' },
      ]);
      const full = (await (await fetch(`${sandbox.baseUrl}/sandbox/notifications/cloudpay-delivered`)).json()) as any;
      expect(full.attempts[1].request).toEqual({ headers: { 'Content-Type': 'application/json' }, body: '{"outTradeNo":"OLD3"}' });

      // The pending ones go out: the v3 refund result (its second attempt) and the CloudPay refund event.
      await waitFor(() => rx.received.length === 1 && fn.events.length === 1, 'the carried-over pending notifications');
      expect(JSON.parse(rx.received[0]!.rawBody)).toMatchObject({ id: 'v3-pending', event_type: 'REFUND.SUCCESS' });
      expect(fn.events[0]).toEqual({ outRefundNo: 'ROLD4' });
      const after = await waitFor(async () => {
        const l = await notificationLog(sandbox.info);
        return l.every((n) => n.status === 'delivered') && l;
      }, 'all delivered');
      expect(after[1].attempts.map((a: any) => [a.statusCode, a.acked])).toEqual([[500, false], [204, true]]);
      expect(after[3].attempts.map((a: any) => [a.url, a.acked])).toEqual([[fn.url, true]]);
    } finally {
      await sandbox.close();
    }

    const reopened = new Database(path.join(data.dir, 'sandbox.sqlite'), { readonly: true });
    try {
      const tables = (reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      expect(tables).toEqual(expect.arrayContaining(['outbox', 'outbox_attempts', 'cloudpay_functions', 'cloudpay_orders', 'cloudpay_refunds']));
      expect(tables.filter((t) => ['notifications', 'notification_attempts', 'cloudpay_deliveries', 'cloudpay_delivery_attempts'].includes(t))).toEqual([]);
      expect(reopened.prepare("SELECT value FROM meta WHERE key = 'cloudpay_schema_version'").get()).toBeUndefined();
      expect(reopened.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      reopened.close();
    }
  } finally {
    await rx.close();
    await fn.close();
    data.remove();
  }
});
