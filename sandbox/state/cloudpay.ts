import { Sql } from './db';
import { MetaStore } from './meta';

/**
 * What only CloudPay knows, beside the shared orders and refunds (which live in the v3 tables: one state
 * underneath both APIs): the cloud-function registry, which function each CloudPay order and refund calls back,
 * the sandbox's APIv2 key and CloudPay's modelling switches. Its deliveries go through the one outbox (outbox.ts).
 */
export interface FunctionRow { env_id: string; function_name: string; url: string; updated_at: number }
export interface CloudPayOrderRow { mchid: string; out_trade_no: string; sub_appid: string; env_id: string; function_name: string; created_at: number }
export interface CloudPayRefundRow { mchid: string; out_refund_no: string; out_trade_no: string; env_id: string; function_name: string; created_at: number }

/** Modelling switches (wxpay-v2-cloudpay.md §7, §8 item 9). */
export interface CloudPaySettings {
  /** closeOrder within 5 minutes of creation: accept (default), or answer SYSTEMERROR so retries get exercised. */
  earlyClose: 'accept' | 'SYSTEMERROR';
  /** queryRefund answers refundCount but empty lists, as developers report CloudPay doing (§5.3). */
  emptyRefundLists: boolean;
}

const DEFAULT_SETTINGS: CloudPaySettings = { earlyClose: 'accept', emptyRefundLists: false };
const V2_KEY = 'cloudpay_v2_key';
const SETTINGS_KEY = 'cloudpay_settings';

/** Plain data access for CloudPay's tables and meta keys. */
export class CloudPayStore {
  constructor(private readonly sql: Sql, private readonly meta: MetaStore) {}

  registerFunction(envId: string, functionName: string, url: string, at: number): void {
    this.sql.prepare(`INSERT INTO cloudpay_functions (env_id, function_name, url, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (env_id, function_name) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at`).run(envId, functionName, url, at);
  }

  findFunction(envId: string, functionName: string): FunctionRow | undefined {
    return this.sql.prepare('SELECT * FROM cloudpay_functions WHERE env_id = ? AND function_name = ?').get(envId, functionName) as FunctionRow | undefined;
  }

  listFunctions(): FunctionRow[] {
    return this.sql.prepare('SELECT * FROM cloudpay_functions ORDER BY env_id, function_name').all() as FunctionRow[];
  }

  deleteFunction(envId: string, functionName: string): boolean {
    return this.sql.prepare('DELETE FROM cloudpay_functions WHERE env_id = ? AND function_name = ?').run(envId, functionName).changes === 1;
  }

  /** First unifiedOrder wins: re-entry with the same out_trade_no keeps the original callback. */
  rememberOrder(o: CloudPayOrderRow): void {
    this.sql.prepare(`INSERT INTO cloudpay_orders (mchid, out_trade_no, sub_appid, env_id, function_name, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (mchid, out_trade_no) DO NOTHING`).run(o.mchid, o.out_trade_no, o.sub_appid, o.env_id, o.function_name, o.created_at);
  }

  findOrder(mchid: string, outTradeNo: string): CloudPayOrderRow | undefined {
    return this.sql.prepare('SELECT * FROM cloudpay_orders WHERE mchid = ? AND out_trade_no = ?').get(mchid, outTradeNo) as CloudPayOrderRow | undefined;
  }

  /** First refund request wins, like orders. */
  rememberRefund(r: CloudPayRefundRow): void {
    this.sql.prepare(`INSERT INTO cloudpay_refunds (mchid, out_refund_no, out_trade_no, env_id, function_name, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (mchid, out_refund_no) DO NOTHING`).run(r.mchid, r.out_refund_no, r.out_trade_no, r.env_id, r.function_name, r.created_at);
  }

  findRefund(mchid: string, outRefundNo: string): CloudPayRefundRow | undefined {
    return this.sql.prepare('SELECT * FROM cloudpay_refunds WHERE mchid = ? AND out_refund_no = ?').get(mchid, outRefundNo) as CloudPayRefundRow | undefined;
  }

  /** The stored APIv2 key; `make` creates it the first time. */
  v2Key(make: () => string): string {
    let key = this.meta.get(V2_KEY);
    if (!key) {
      key = make();
      this.meta.set(V2_KEY, key);
    }
    return key;
  }

  settings(): CloudPaySettings {
    const raw = this.meta.get(SETTINGS_KEY);
    return { ...DEFAULT_SETTINGS, ...(raw ? (JSON.parse(raw) as Partial<CloudPaySettings>) : {}) };
  }

  saveSettings(s: CloudPaySettings): void {
    this.meta.set(SETTINGS_KEY, JSON.stringify(s));
  }
}
