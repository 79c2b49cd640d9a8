/**
 * The bill reconciliation (reconcile/) on a real SQLite model store, one made-up ALL bill per case: every kind of
 * difference, what --apply fixes (through the callbacks' own updates) and what it leaves to a person, a second run
 * finding nothing left to fix, a bill whose summary does not add up (nothing applied), NO_STATEMENT_EXIST and an
 * empty bill (everything paid that day is missing from it), and lookups batched past one page.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PayError } from '../wxpay';
import { configSettings, type OrdersBinding } from '../config';
import { openSqliteStore } from '../datasources/sqlite-store';
import { buildModelDefinitions } from '../datasources/models';
import { createWeda, type ModelStore, type WedaSdk } from '../datasources/weda';
import { callbackFixer } from '../callbacks/runtime/bill-reconcile';
import { ordersPortOf, refundsPortOf } from '../callbacks/runtime/model-ports';
import { modelLedger, reconcileBill, reportTable, streamedBill, type BillReconcileReport, type MismatchItem } from '../reconcile';
import { billChunks, type BillFileOptions, type BillLine } from './helpers/bill-file';

const DAY = '2024-08-05';
const at = (time: string) => Date.parse(`${DAY}T${time}+08:00`);

let dir: string;
let store: ModelStore;
let weda: WedaSdk;
let binding: OrdersBinding;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bill-kinds-'));
  // Records are created "on" the bill day: the store's clock stamps createdAt.
  store = openSqliteStore({ dataDir: dir, models: buildModelDefinitions(), now: () => at('12:00:00') });
  weda = createWeda({ store });
  binding = configSettings({ provider: 'sandbox', appid: 'wx0000000000000000', mchid: '1230000109', envType: 'prod' }).orders;
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const createOrder = (o: Record<string, unknown>) => weda.callModel({ name: 'orders', methodName: 'wedaCreateV2', params: { data: o }, envType: 'prod' });
const createRefund = (r: Record<string, unknown>) => weda.callModel({ name: 'refunds', methodName: 'wedaCreateV2', params: { data: r }, envType: 'prod' });
const order = (orderNo: string) => weda.callModel({ name: 'orders', methodName: 'wedaGetItemV2', params: { filter: { where: { orderNo: { $eq: orderNo } } } }, envType: 'prod' });
const refund = (refundNo: string) => weda.callModel({ name: 'refunds', methodName: 'wedaGetItemV2', params: { filter: { where: { refundNo: { $eq: refundNo } } } }, envType: 'prod' });

function run(lines: BillLine[], opts: { apply?: boolean; file?: BillFileOptions; read?: 'no-statement'; maxItems?: number } = {}): Promise<BillReconcileReport> {
  return reconcileBill({
    billDate: DAY,
    source: 'test',
    read: opts.read === 'no-statement'
      ? async () => { throw new PayError({ code: 'NO_STATEMENT_EXIST', message: '请求的账单文件不存在' }); }
      : streamedBill(billChunks(lines, opts.file)),
    ledger: modelLedger(weda, binding),
    ...(opts.apply ? { fix: callbackFixer(ordersPortOf(weda, binding), refundsPortOf(weda, binding), () => {}) } : {}),
    ...(opts.maxItems ? { maxItems: opts.maxItems } : {}),
  });
}

const item = (r: BillReconcileReport, kind: MismatchItem['kind'], key?: string) =>
  r.items.find((i) => i.kind === kind && (key === undefined || i.outTradeNo === key || i.outRefundNo === key));

/** One of each: the local state, and the bill that disagrees with it. */
async function seedEveryKind(): Promise<BillLine[]> {
  await createOrder({ orderNo: 'OK000001', amount: 100, status: 2, paidAt: at('09:00:00'), transactionId: '4200000000OK000001' });
  await createOrder({ orderNo: 'LOST0001', amount: 200, status: 1 });
  await createOrder({ orderNo: 'AMT00001', amount: 300, status: 2, paidAt: at('09:10:00') });
  await createOrder({ orderNo: 'MISS0001', amount: 400, status: 2, paidAt: at('09:20:00') });
  await createOrder({ orderNo: 'PREV0001', amount: 450, status: 2, paidAt: at('09:00:00') - 86_400_000 });
  // Refunds: R1 in flight here, SUCCESS in the bill; R2 only in the bill; R3 a different amount; R4 not in the bill;
  // R5 ended differently; R6 settled here after the bill froze it PROCESSING.
  await createOrder({ orderNo: 'RO000001', amount: 1000, status: 3, paidAt: at('08:00:00') - 86_400_000, refundNo: 'R1' });
  await createRefund({ refundNo: 'R1', orderNo: 'RO000001', amount: 300, status: 'PROCESSING', refundId: '50001' });
  await createOrder({ orderNo: 'RO000002', amount: 500, status: 2, paidAt: at('08:00:00') - 86_400_000 });
  await createOrder({ orderNo: 'RO000003', amount: 500, status: 2, paidAt: at('08:00:00') - 86_400_000, refundedAmount: 100 });
  await createRefund({ refundNo: 'R3', orderNo: 'RO000003', amount: 100, status: 'SUCCESS', refundId: '50003' });
  await createRefund({ refundNo: 'R4', orderNo: 'RO000003', amount: 50, status: 'SUCCESS', refundId: '50004' });
  await createRefund({ refundNo: 'R5', orderNo: 'RO000003', amount: 60, status: 'SUCCESS', refundId: '50005' });
  await createRefund({ refundNo: 'R6', orderNo: 'RO000003', amount: 70, status: 'SUCCESS', refundId: '50006' });
  // Never reached WeChat Pay (no refundId): not expected in its bill.
  await createRefund({ refundNo: 'R7', orderNo: 'RO000003', amount: 80, status: 'CLOSED', failReason: 'NOT_ENOUGH' });
  return [
    { kind: 'payment', outTradeNo: 'OK000001', totalFee: 100, time: `${DAY} 09:00:00` },
    { kind: 'payment', outTradeNo: 'LOST0001', totalFee: 200, time: `${DAY} 09:05:00`, transactionId: '4200000000LOST0001' },
    { kind: 'payment', outTradeNo: 'AMT00001', totalFee: 301, time: `${DAY} 09:10:00` },
    { kind: 'payment', outTradeNo: 'UNKNOWN1', totalFee: 999, time: `${DAY} 09:30:00` },
    { kind: 'payment', outTradeNo: 'PREV0001', totalFee: 450, time: `${DAY} 00:00:01` },
    { kind: 'refund', outTradeNo: 'RO000001', outRefundNo: 'R1', refundFee: 300, status: 'SUCCESS', refundId: '50001' },
    { kind: 'refund', outTradeNo: 'RO000002', outRefundNo: 'R2', refundFee: 500, status: 'SUCCESS', refundId: '50002' },
    { kind: 'refund', outTradeNo: 'RO000003', outRefundNo: 'R3', refundFee: 120, status: 'SUCCESS', refundId: '50003' },
    { kind: 'refund', outTradeNo: 'RO000003', outRefundNo: 'R5', refundFee: 60, status: 'REFUNDCLOSE', refundId: '50005' },
    { kind: 'refund', outTradeNo: 'RO000003', outRefundNo: 'R6', refundFee: 70, status: 'PROCESSING', refundId: '50006' },
    { kind: 'raw', text: '`2024-08-05 13:00:00,`cut short' },
  ];
}

test('every kind of difference, listed with both sides; nothing changes without --apply', async () => {
  const r = await run(await seedEveryKind());
  expect(r.counts).toEqual({
    'paid-not-recorded': 1, 'unknown-order': 1, 'missing-from-bill': 1, 'amount-mismatch': 1,
    'refund-not-recorded': 1, 'refund-status-mismatch': 2, 'refund-amount-mismatch': 1, 'refund-missing-from-bill': 1, 'malformed-row': 1,
  });
  expect(item(r, 'paid-not-recorded', 'LOST0001')).toMatchObject({ line: 3, bill: { amount: 200, transactionId: '4200000000LOST0001', time: `${DAY} 09:05:00` }, local: { amount: 200, status: 1 }, action: 'fixable' });
  expect(item(r, 'unknown-order', 'UNKNOWN1')).toMatchObject({ line: 5, bill: { amount: 999 }, action: 'human' });
  expect(item(r, 'amount-mismatch', 'AMT00001')).toMatchObject({ line: 4, bill: { amount: 301 }, local: { amount: 300, status: 2 }, action: 'human' });
  expect(item(r, 'missing-from-bill', 'MISS0001')).toMatchObject({ local: { amount: 400, status: 2 }, action: 'human' });
  expect(item(r, 'refund-status-mismatch', 'R1')).toMatchObject({ outTradeNo: 'RO000001', bill: { status: 'SUCCESS', amount: 300 }, local: { status: 'PROCESSING' }, action: 'fixable' });
  expect(item(r, 'refund-status-mismatch', 'R5')).toMatchObject({ bill: { status: 'CLOSED' }, local: { status: 'SUCCESS' }, action: 'human', note: expect.stringContaining('disagree') });
  expect(item(r, 'refund-not-recorded', 'R2')).toMatchObject({ outTradeNo: 'RO000002', bill: { amount: 500, status: 'SUCCESS' }, action: 'fixable' });
  expect(item(r, 'refund-amount-mismatch', 'R3')).toMatchObject({ bill: { amount: 120 }, local: { amount: 100 }, action: 'human' });
  expect(item(r, 'refund-missing-from-bill', 'R4')).toMatchObject({ outTradeNo: 'RO000003', local: { amount: 50, status: 'SUCCESS' }, action: 'human' });
  expect(item(r, 'malformed-row')).toMatchObject({ line: 12, action: 'human', note: expect.stringContaining('bill line 12 has 2 fields') });
  // OK000001 matches; PREV0001 (paid here the day before by its paidAt) is found by number and matches; R6 is further on here.
  expect(r.matched).toEqual({ payments: 2, refunds: 1 });
  expect(r.local).toEqual({ paidOrders: 3, refunds: 5 }); // R7 never reached WeChat Pay (no refundId)
  expect(r.bill).toMatchObject({ exists: true, rows: 10, malformed: 1, payments: 5, refunds: 5, complete: false, problems: [] });
  expect([r.applied, r.fixed, r.needsHuman]).toEqual([false, 0, 7]);
  expect((await order('LOST0001')).status).toBe(1);
  expect((await refund('R1')).status).toBe('PROCESSING');
  expect(await refund('R2')).toEqual({});

  const table = reportTable(r);
  expect(table).toContain('Differences: paid-not-recorded 1, unknown-order 1, missing-from-bill 1, amount-mismatch 1');
  expect(table).toMatch(/paid-not-recorded\s+LOST0001\s+3\s+amount=200/);
});

test('--apply fixes what is safe through the callbacks\' updates, lists the rest; a second run has nothing left to fix', async () => {
  const lines = await seedEveryKind();
  const r = await run(lines, { apply: true });
  expect(r.applied).toBe(true);
  expect(item(r, 'paid-not-recorded', 'LOST0001')).toMatchObject({ action: 'fixed', outcome: 'paid' });
  expect(item(r, 'refund-status-mismatch', 'R1')).toMatchObject({ action: 'fixed', outcome: 'partly-refunded' });
  expect(item(r, 'refund-not-recorded', 'R2')).toMatchObject({ action: 'fixed', outcome: 'refunded' });
  expect([r.fixed, r.needsHuman]).toEqual([3, 7]);
  // What pay-notify and refund-notify would have written.
  expect(await order('LOST0001')).toMatchObject({ status: 2, transactionId: '4200000000LOST0001', paidAt: at('09:05:00') });
  expect(await refund('R1')).toMatchObject({ status: 'SUCCESS', amount: 300 });
  expect(await order('RO000001')).toMatchObject({ status: 2, refundedAmount: 300 });
  expect(await refund('R2')).toMatchObject({ orderNo: 'RO000002', amount: 500, status: 'SUCCESS', refundId: '50002' });
  expect(await order('RO000002')).toMatchObject({ status: 4, refundedAmount: 500 });
  // Nothing a person must look at was touched.
  expect(await order('AMT00001')).toMatchObject({ status: 2, amount: 300 });
  expect(await refund('R5')).toMatchObject({ status: 'SUCCESS' });

  const again = await run(lines, { apply: true });
  expect(again.counts['paid-not-recorded']).toBeUndefined();
  expect(again.counts['refund-not-recorded']).toBeUndefined();
  expect(again.items.filter((i) => i.action !== 'human')).toEqual([]);
  expect(again.fixed).toBe(0);
});

test('a bill whose summary does not add up: reported, and nothing is applied on its word', async () => {
  await createOrder({ orderNo: 'LOST0002', amount: 200, status: 1 });
  const r = await run([{ kind: 'payment', outTradeNo: 'LOST0002', totalFee: 200 }], { apply: true, file: { summary: (f) => { f[5] = '9.99'; return f; } } });
  expect(r.bill.problems).toEqual(["订单总金额 is 9.99, the rows' 订单金额 add up to 2.00"]);
  expect(r.applied).toBe(false);
  expect(r.applyBlocked).toMatch(/does not add up/);
  expect(item(r, 'paid-not-recorded', 'LOST0002')).toMatchObject({ action: 'fixable' });
  expect((await order('LOST0002')).status).toBe(1);
});

test.each([
  ['NO_STATEMENT_EXIST (no trades at WeChat Pay that day)', { read: 'no-statement' as const }, false],
  ['an empty bill (no rows)', {}, true],
])('%s: every order paid here that day is missing from it', async (_name, opts, exists) => {
  await createOrder({ orderNo: 'PAID0001', amount: 100, status: 2, paidAt: at('10:00:00') });
  await createOrder({ orderNo: 'PAID0002', amount: 200, status: 4, paidAt: at('23:59:59') });
  await createOrder({ orderNo: 'NEXTDAY1', amount: 300, status: 2, paidAt: at('00:00:00') + 86_400_000 });
  await createOrder({ orderNo: 'UNPAID01', amount: 400, status: 1 });
  const r = await run([], opts);
  expect(r.bill.exists).toBe(exists);
  expect(r.counts).toEqual({ 'missing-from-bill': 2 });
  expect(r.items.map((i) => i.outTradeNo).sort()).toEqual(['PAID0001', 'PAID0002']);
  if (!exists) expect(reportTable(r)).toContain('NO_STATEMENT_EXIST');
});

test('rows not among the day\'s orders are looked up 200 at a time; the list keeps maxItems of a kind and counts the rest', async () => {
  const lines: BillLine[] = [];
  for (let i = 0; i < 450; i++) {
    const orderNo = `BATCH${String(i).padStart(5, '0')}`;
    await createOrder({ orderNo, amount: 10 + i, status: 1 });
    lines.push({ kind: 'payment', outTradeNo: orderNo, totalFee: 10 + i });
  }
  const calls: string[] = [];
  const spy: WedaSdk = { callModel: (p) => { calls.push(`${p.name}.${p.methodName}`); return weda.callModel(p); } };
  const r = await reconcileBill({ billDate: DAY, source: 'test', read: streamedBill(billChunks(lines)), ledger: modelLedger(spy, binding), maxItems: 100 });
  expect(r.counts).toEqual({ 'paid-not-recorded': 450 });
  expect(r.items).toHaveLength(100);
  expect(r.omitted).toEqual({ 'paid-not-recorded': 350 });
  // One page of the day's orders (none paid), then ⌈450 / 200⌉ = 3 lookups by number.
  expect(calls.filter((c) => c === 'orders.wedaGetRecordsV2')).toHaveLength(4);
});
