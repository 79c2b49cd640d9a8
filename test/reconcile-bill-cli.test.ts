/**
 * `weda-wxpay reconcile` end to end on `npm start`'s dev server: payments and refunds made through the app and the
 * sandbox, then the data models made to lose one payment and one refund (as lost callbacks would). The next day the
 * command finds both — against the dev server (`--dev`: its connector and models) and from a configuration (the
 * sandbox as the v3 backend, the dev server's SQLite models through WEDA_WXPAY_STORE) — prints a table or JSON,
 * exits 2 while something is left, and `--apply` fixes both through the callbacks' updates. Progress only on a terminal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerReconcile, runReconcile } from '../scripts/reconcile';
import { terminalProgress } from '../reconcile';
import { PAYER } from './helpers/callback-harness';
import { startTestDev, TestDev } from './helpers/dev';

let t: TestDev;
let billDate: string;
let lostPayment: string;
let lostRefundOrder: string;
let lostRefund: string;
let configPath: string;
const env = () => ({ WEDA_WXPAY_STORE: `sqlite:${path.join(t.dataDir, 'models')}` });

const order = (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } } });
const refundRecord = (refundNo: string) => t.model('refunds', 'wedaGetItemV2', { filter: { where: { refundNo: { $eq: refundNo } } } });

async function paidOrder(goodsId: string): Promise<string> {
  const { orderNo } = (await t.connector('checkout', { goodsId, openid: PAYER })).body;
  await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
  await t.waitFor(async () => (await order(orderNo)).status === 2, 'paid');
  return orderNo;
}

beforeAll(async () => {
  t = await startTestDev({ seedGoods: false, refundSettleSeconds: null });
  const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '咖啡券', price: 1800 } });
  for (let i = 0; i < 3; i++) await paidOrder(goods.id);
  lostPayment = await paidOrder(goods.id);
  lostRefundOrder = await paidOrder(goods.id);
  lostRefund = (await t.connector('requestRefund', { orderNo: lostRefundOrder })).body.outRefundNo;
  await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${lostRefund}/settle`, { status: 'SUCCESS' });
  await t.waitFor(async () => (await order(lostRefundOrder)).status === 4, 'refunded');
  // What lost callbacks leave behind: an order still unpaid, a refund the models never heard of.
  await t.model('orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: lostPayment }], record: { status: 1 } });
  await t.model('refunds', 'wedaBatchDeleteV2', { filter: { where: { refundNo: { $eq: lostRefund } } } });
  await t.model('orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: lostRefundOrder }], record: { status: 2, refundedAmount: 0 } });

  billDate = String((await t.get(`${t.dev.info.baseUrl}/sandbox/clock`)).body.now).slice(0, 10);
  await t.post(`${t.dev.info.baseUrl}/sandbox/clock/advance`, { seconds: 36 * 3600 });

  const info = t.dev.info;
  configPath = path.join(t.dataDir, 'weda-wxpay.config.json');
  fs.writeFileSync(configPath, JSON.stringify({
    provider: 'sandbox', appid: info.merchant.appid, mchid: info.merchant.mchid, envType: 'pre',
    v3: {
      baseUrl: info.baseUrl, merchantSerialNo: info.merchant.serialNo, privateKeyPath: info.merchant.privateKeyPath, apiV3Key: info.merchant.apiV3Key,
      platformKeys: [{ id: info.platform.publicKeyId, path: info.platform.publicKeyPath }], notifyUrl: 'https://example.com/pay-notify',
    },
  }));
});
afterAll(async () => { await t?.close(); });

const expectedCounts = { 'paid-not-recorded': 1, 'refund-not-recorded': 1 };

test('against the dev server: its connector\'s bill, page by page, and its models', async () => {
  const r = await runReconcile({ date: billDate, config: path.join(t.dataDir, 'none.json'), dev: t.dev.info.devServer.baseUrl }, { env: {} });
  expect(r.source).toBe('dev');
  expect(r.counts).toEqual(expectedCounts);
  expect(r.items.find((i) => i.kind === 'paid-not-recorded')).toMatchObject({ outTradeNo: lostPayment, bill: { amount: 1800 }, local: { status: 1 }, action: 'fixable' });
  expect(r.items.find((i) => i.kind === 'refund-not-recorded')).toMatchObject({ outTradeNo: lostRefundOrder, outRefundNo: lostRefund, bill: { amount: 1800, status: 'SUCCESS' } });
  expect(r.matched).toEqual({ payments: 4, refunds: 0 });
  expect(r.bill).toMatchObject({ exists: true, rows: 6, problems: [] });
});

test('from a configuration: the v3 backend\'s bill (gzip, SHA-1 checked), the models where the functions find them', async () => {
  const r = await runReconcile({ date: billDate, config: configPath }, { env: env() });
  expect(r.source).toBe('v3');
  expect(r.counts).toEqual(expectedCounts);
  expect(r.matched).toEqual({ payments: 4, refunds: 0 });
});

test('the command: a table and exit 2 while something is left; --apply --json fixes both; then nothing is left', async () => {
  const run = async (args: string[]) => {
    const io = { out: '', err: '', code: 0 };
    const program = new Command('weda-wxpay').exitOverride().configureOutput({ writeErr: () => {} });
    registerReconcile(program, { out: (s) => { io.out += s; }, err: (s) => { io.err += s; }, env: env(), fail: (c) => { io.code = c; } });
    await program.parseAsync(['node', 'weda-wxpay', 'reconcile', '--date', billDate, '--config', configPath, ...args]);
    return io;
  };
  const table = await run([]);
  expect(table.code).toBe(2);
  expect(table.out).toContain(`Bill ${billDate} (v3): 6 rows (5 payments, 1 refunds), summary adds up`);
  expect(table.out).toMatch(new RegExp(`paid-not-recorded\\s+${lostPayment}`));
  expect(table.out).toContain('fixable');

  const applied = await run(['--apply', '--json']);
  expect([applied.code, applied.err]).toEqual([0, '']);
  const report = JSON.parse(applied.out);
  expect(report).toMatchObject({ applied: true, fixed: 2, needsHuman: 0 });
  expect(report.items.map((i: { action: string; outcome: string }) => [i.action, i.outcome])).toEqual([['fixed', 'paid'], ['fixed', 'refunded']]);
  expect(await order(lostPayment)).toMatchObject({ status: 2, paidAt: expect.any(Number), transactionId: expect.stringMatching(/^4200/) });
  expect(await refundRecord(lostRefund)).toMatchObject({ orderNo: lostRefundOrder, status: 'SUCCESS', amount: 1800 });
  expect(await order(lostRefundOrder)).toMatchObject({ status: 4, refundedAmount: 1800 });

  const clean = await run([]);
  expect(clean.code).toBe(0);
  expect(clean.out).toContain('Differences: none');

  const bad = await run(['--date', '2024-02-30']).catch((e: Error) => ({ code: 1, out: '', err: e.message }));
  expect(bad.err).toMatch(/--date must be a date yyyy-MM-dd/);
});

test('progress: on a terminal one rewritten line with rows/s and the time left; nothing when not a terminal', () => {
  let clock = 0;
  const written: string[] = [];
  const tty = { isTTY: true, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
  const p = terminalProgress(tty, { every: 0, now: () => clock })!;
  p.phase('orders paid that day', 1000);
  clock = 1000;
  p.advance(250);
  expect(written.at(-1)).toBe('\r\x1b[2Korders paid that day: 250/1,000 · 250 rows/s · 3 s left');
  clock = 2000;
  p.done();
  expect(written.at(-2)).toMatch(/250\/1,000 · 125 rows\/s · 2\.0 s$/);
  expect(written.at(-1)).toBe('\n');
  expect(terminalProgress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream)).toBeUndefined();
});
