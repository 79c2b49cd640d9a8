/**
 * A busy day in a sandbox's state, written straight into its SQLite file (one transaction, prepared statements):
 * `payments` paid orders spread over the day and `refunds` refunds of some of them, as the sandbox's own APIs would
 * have left them. For the bill at size (tests, bench/bill-reconcile.ts): the sandbox then writes the day's bill from
 * these rows as from any others.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { toRfc3339Cst } from '../../wxpay';

export interface DayOfTrades {
  mchid: string;
  appid: string;
  /** yyyy-MM-dd, China time. */
  day: string;
  payments: number;
  /** Refunds, of the first orders (one each, part of the amount), created later the same day. */
  refunds?: number;
  orderNo?: (i: number) => string;
  amount?: (i: number) => number;
}

export function insertDayOfTrades(sandboxDataDir: string, d: DayOfTrades): void {
  const db = new Database(path.join(sandboxDataDir, 'sandbox.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    const start = Date.parse(`${d.day}T00:00:00+08:00`);
    const orderNo = d.orderNo ?? ((i: number) => `DAY${String(i).padStart(12, '0')}`);
    const amount = d.amount ?? ((i: number) => 1 + ((i * 7919) % 100_000));
    const tx = db.prepare(`INSERT INTO transactions (mchid, out_trade_no, appid, description, notify_url, attach, amount_total, currency, payer_openid,
      request_json, trade_type, trade_state, transaction_id, bank_type, payer_total, success_time, created_at, updated_at, expires_at, auto_close_at)
      VALUES (?, ?, ?, '咖啡券', 'https://example.com/notify', NULL, ?, 'CNY', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', '{}', 'JSAPI', ?, ?, 'OTHERS', ?, ?, ?, ?, ?, ?)`);
    const rf = db.prepare(`INSERT INTO refunds (refund_id, mchid, out_refund_no, out_trade_no, transaction_id, reason, notify_url, funds_account, request_json,
      amount_refund, amount_total, currency, status, create_time, success_time, settle_at, source, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, NULL, '', NULL, '{}', ?, ?, 'CNY', ?, ?, ?, NULL, 'v3', ?, ?)`);
    const refunds = d.refunds ?? 0;
    db.transaction(() => {
      for (let i = 0; i < d.payments; i++) {
        const paidAt = start + Math.floor((i * 86_000_000) / d.payments);
        const refunded = i < refunds;
        tx.run(d.mchid, orderNo(i), d.appid, amount(i), refunded ? 'REFUND' : 'SUCCESS', `4200${String(i).padStart(24, '0')}`, amount(i), toRfc3339Cst(paidAt), paidAt - 5000, paidAt, paidAt + 7_200_000, paidAt + 604_800_000);
        if (refunded) {
          const at = paidAt + 60_000;
          const fee = Math.max(1, Math.floor(amount(i) / 2));
          rf.run(`5030${String(i).padStart(24, '0')}`, d.mchid, `R${orderNo(i)}`, orderNo(i), `4200${String(i).padStart(24, '0')}`, fee, amount(i), i % 3 === 0 ? 'PROCESSING' : 'SUCCESS', toRfc3339Cst(at), i % 3 === 0 ? null : toRfc3339Cst(at + 5000), at, at);
        }
      }
    })();
  } finally {
    db.close();
  }
}
