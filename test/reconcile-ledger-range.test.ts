/**
 * The ledger reads the day's paid orders as a range of the paidAt index, page after page by (paidAt, _id) in the V2
 * filter language: every order paid that day exactly once, in that order, whatever ties of paidAt fall across the
 * pages of 200 (weda.md §2.2), none of another day, none unpaid; and each page is an index search, not a walk over
 * every order.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSettings } from '../config';
import { buildModelDefinitions } from '../datasources/models';
import { modelsFile, openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, type ModelStore } from '../datasources/weda';
import { LEDGER_PAGE_SIZE, modelLedger, type LedgerOrder } from '../reconcile';

const DAY_START = Date.parse('2024-08-05T00:00:00+08:00');
const DAY_END = DAY_START + 86_400_000;

let dir: string;
let store: ModelStore;
const statements: string[] = [];
const binding = configSettings({ provider: 'sandbox', appid: 'wx0000000000000000', mchid: '1230000109', envType: 'prod' }).orders;

/** The orders written, and which of them the day's walk must answer. */
const paidThatDay: LedgerOrder[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weda-ledger-'));
  store = openSqliteStore({ dataDir: dir, models: buildModelDefinitions(), trace: (sql) => statements.push(sql) });
  const data: Array<Record<string, unknown>> = [];
  // 450 paid that day on 3 instants only: 150 orders share each paidAt, so ties straddle every page boundary.
  for (let i = 0; i < 450; i++) {
    const paidAt = DAY_START + [0, 43_200_000, 86_399_999][i % 3]!;
    const status = [2, 3, 4][i % 3]!;
    data.push({ orderNo: `PAID${String(i).padStart(5, '0')}`, amount: 100 + i, status, paidAt });
  }
  // Paid the day before and the day after (at the range's edges), and never paid.
  data.push({ orderNo: 'BEFORE0001', amount: 1, status: 2, paidAt: DAY_START - 1 });
  data.push({ orderNo: 'AFTER00001', amount: 1, status: 2, paidAt: DAY_END });
  for (let i = 0; i < 30; i++) data.push({ orderNo: `UNPAID${String(i).padStart(4, '0')}`, amount: 1, status: 1 });
  // Written in a shuffled order, so _id order is not paidAt order.
  data.sort((a, b) => ((a.amount as number) * 7919) % 1009 - ((b.amount as number) * 7919) % 1009 || String(a.orderNo).localeCompare(String(b.orderNo)));
  for (let i = 0; i < data.length; i += 100) {
    await store.callModel({ name: 'orders', methodName: 'wedaBatchCreateV2', params: { data: data.slice(i, i + 100) }, envType: 'prod' });
  }
  for (const d of data) {
    if (typeof d.paidAt === 'number' && d.paidAt >= DAY_START && d.paidAt < DAY_END) {
      paidThatDay.push({ orderNo: d.orderNo as string, amount: d.amount as number, status: d.status as number, paidAt: d.paidAt });
    }
  }
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("every order paid that day, once each, in (paidAt, _id) order, in pages of at most 200", async () => {
  const ledger = modelLedger(createWeda({ store }), binding);
  const pages: LedgerOrder[][] = [];
  for await (const page of ledger.paidOrders(DAY_START, DAY_END)) pages.push(page);
  expect(pages.every((p) => p.length <= LEDGER_PAGE_SIZE)).toBe(true);
  const seen = pages.flat();
  expect(seen).toHaveLength(450);
  expect(new Set(seen.map((o) => o.orderNo)).size).toBe(450);
  expect([...seen].sort((a, b) => a.orderNo.localeCompare(b.orderNo))).toEqual([...paidThatDay].sort((a, b) => a.orderNo.localeCompare(b.orderNo)));
  // Non-decreasing paidAt across the whole walk.
  for (let i = 1; i < seen.length; i++) expect(seen[i]!.paidAt!).toBeGreaterThanOrEqual(seen[i - 1]!.paidAt!);
  expect(await ledger.countPaidOrders(DAY_START, DAY_END)).toBe(450);
});

test('each page of the walk is a search of the paidAt index, in its order (nothing sorted)', async () => {
  const from = statements.length;
  const ledger = modelLedger(createWeda({ store }), binding);
  for await (const page of ledger.paidOrders(DAY_START, DAY_END)) void page;
  const walks = statements.slice(from).filter((s) => s.startsWith('SELECT') && s.includes('"m_orders"'));
  expect(walks.length).toBe(3); // 450 orders: 200 + 200 + 50
  const db = new Database(modelsFile(dir, 'prod'), { readonly: true });
  try {
    for (const sql of walks) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
      expect(plan).toMatch(/SEARCH m_orders USING INDEX ix_orders__paidAt \(f_paidAt>\? AND f_paidAt<\?\)/);
      expect(plan).not.toMatch(/SCAN m_orders/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  } finally {
    db.close();
  }
});
