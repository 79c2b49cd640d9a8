import Database from 'better-sqlite3';
import path from 'node:path';
import { BillStore } from './bills';
import { CloudPayStore } from './cloudpay';
import { migrate, Sql } from './db';
import { FaultStore } from './faults';
import { MessageStore } from './messages';
import { MetaStore } from './meta';
import { MIGRATIONS } from './migrations';
import { OutboxStore } from './outbox';
import { RefundStore } from './refunds';
import { RequestLog } from './request-log';
import { TransactionStore } from './transactions';

/**
 * The sandbox's persistent state: one SQLite database (`dataDir/sandbox.sqlite`) and a store per table group.
 * Stores are plain data access; the rules that use them live in domain/, delivery/ and cloudpay/.
 */
export interface SandboxState {
  sql: Sql;
  meta: MetaStore;
  transactions: TransactionStore;
  refunds: RefundStore;
  bills: BillStore;
  faults: FaultStore;
  outbox: OutboxStore;
  messages: MessageStore;
  requests: RequestLog;
  cloudpay: CloudPayStore;
  /**
   * Reset: forgets everything the sandbox did — orders, prepay ids, refunds, bills, faults, the outbox and its
   * attempts, payer messages, the request log, CloudPay's order and refund callbacks — in one transaction. Keeps who
   * it is: the `meta` values (keys, CloudPay's key and settings; the clock offset is the clock's to reset) and
   * CloudPay's function registry.
   */
  clear(): void;
  /** Writes the request log's waiting entries, then closes the database. */
  close(): void;
}

/** The tables {@link SandboxState.clear} empties, children before parents. */
const ACTIVITY_TABLES = ['outbox_attempts', 'outbox', 'requests', 'faults', 'bill_tokens', 'bill_chunks', 'bills', 'refunds', 'prepay_ids', 'transactions', 'messages', 'cloudpay_orders', 'cloudpay_refunds'] as const;

/** Opens (creating if needed) `dataDir/sandbox.sqlite` in WAL mode and brings its schema up to date. */
export function openState(dataDir: string): SandboxState {
  const db = new Database(path.join(dataDir, 'sandbox.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  const sql = new Sql(db);
  const meta = new MetaStore(sql);
  const requests = new RequestLog(sql);
  return {
    sql,
    meta,
    transactions: new TransactionStore(sql),
    refunds: new RefundStore(sql),
    bills: new BillStore(sql),
    faults: new FaultStore(sql),
    outbox: new OutboxStore(sql),
    messages: new MessageStore(sql),
    requests,
    cloudpay: new CloudPayStore(sql, meta),
    clear() {
      sql.transaction(() => {
        for (const table of ACTIVITY_TABLES) sql.prepare(`DELETE FROM ${table}`).run();
      });
    },
    close() {
      requests.flush();
      db.close();
    },
  };
}

export type { Db } from './db';
export { clip, migrate, Sql } from './db';
export { MIGRATIONS } from './migrations';
export { DEFAULT_RETENTION, LogRetention } from './retention';
export type { RetentionLimits } from './retention';
