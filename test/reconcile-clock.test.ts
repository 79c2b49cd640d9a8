/**
 * One clock locally: the sandbox's. The store's createdAt/updatedAt, the times the functions write and reconcile's
 * order ages follow it, so advancing the sandbox clock ages the orders as it ages WeChat Pay's (before, reconcile used
 * the wall clock: no advance ever made an order old enough, and paidAt and updatedAt disagreed by the advance).
 * `npm start` runs reconcile when its timer falls due on that clock; `weda-wxpay trigger reconcile` runs it now.
 */
import { Command } from 'commander';
import { registerTrigger, TriggerIo } from '../scripts/trigger';
import { createOrder, invoke, orderOf, PAYER, placeAndPay, sinkConnector, startCallbackDev, startSink, Sink, TestDev } from './helpers/callback-harness';

let sink: Sink;
beforeAll(async () => { sink = await startSink(); });
afterAll(async () => { await sink?.close(); });

const sandboxNow = async (t: TestDev) => Date.parse((await t.get(`${t.dev.info.baseUrl}/sandbox/clock`)).body.now);
const advance = async (t: TestDev, seconds: number) => expect((await t.post(`${t.dev.info.baseUrl}/sandbox/clock/advance`, { seconds })).status).toBe(200);
const reconcile = async (t: TestDev) => (await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() })).body;

describe('reconcile run by hand', () => {
  let t: TestDev;
  beforeAll(async () => {
    t = await startCallbackDev({ callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 30 } } });
  });
  afterAll(async () => { await t?.close(); });

  it('the store\'s times and the times the callbacks write follow the sandbox clock: paidAt and updatedAt agree after an advance', async () => {
    await advance(t, 86_400);
    const now = await sandboxNow(t);
    expect(now - Date.now()).toBeGreaterThan(86_000_000);
    const orderNo = await createOrder(t, 300);
    const created = await orderOf(t, orderNo);
    expect(Math.abs(created.createdAt - now)).toBeLessThan(3000);

    await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 300, openid: PAYER });
    await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
    const paid = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 2 && o; }, 'paid');
    // success_time is to the second; the store writes the sandbox's ms.
    expect(Math.abs(paid.updatedAt - paid.paidAt)).toBeLessThan(3000);
  });

  it('a lost payment too young for reconcile is found once the sandbox clock moves past queryAfterMinutes', async () => {
    const orderNo = await createOrder(t, 700);
    await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 700);
    const before = await reconcile(t);
    expect(before.unpaid.checked).toBe(0);
    expect((await orderOf(t, orderNo)).status).toBe(1);

    await advance(t, 6 * 60);
    const after = await reconcile(t);
    expect(after.unpaid.paid).toBe(1);
    expect((await orderOf(t, orderNo)).status).toBe(2);
  });

  it('an unpaid order is closed once the sandbox clock moves past closeAfterMinutes, closedAt on the sandbox clock', async () => {
    const orderNo = await createOrder(t, 100);
    await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 100, openid: PAYER });
    await advance(t, 6 * 60);
    expect((await reconcile(t)).unpaid.pending).toBeGreaterThanOrEqual(1);
    expect((await orderOf(t, orderNo)).closedAt).toBeUndefined();
    await advance(t, 25 * 60);
    const summary = await reconcile(t);
    expect(summary.unpaid.closed).toBeGreaterThanOrEqual(1);
    const order = await orderOf(t, orderNo);
    expect(order).toMatchObject({ status: 1, closeReason: 'timeout' });
    expect(Math.abs(order.closedAt - (await sandboxNow(t)))).toBeLessThan(3000);
    expect(Date.parse(summary.startedAt) - Date.now()).toBeGreaterThan(86_000_000);
  });

  it('weda-wxpay trigger reconcile runs it now through the dev server (--dev, or WEDA_WXPAY_DEV)', async () => {
    const orderNo = await createOrder(t, 800);
    await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 800);
    await advance(t, 6 * 60);
    const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const out: string[] = [];
      const err: string[] = [];
      let code = 0;
      const io: TriggerIo = { out: (s) => out.push(s), err: (s) => err.push(s), env, fail: (c) => { code = c; } };
      const program = new Command().exitOverride();
      registerTrigger(program, io);
      await program.parseAsync(['node', 'weda-wxpay', 'trigger', ...args]);
      return { out: out.join(''), err: err.join(''), code };
    };
    const ran = await run(['reconcile', '--dev', t.dev.info.devServer.baseUrl]);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.out).unpaid.paid).toBe(1);
    expect((await orderOf(t, orderNo)).status).toBe(2);

    const byEnv = await run(['reconcile'], { WEDA_WXPAY_DEV: t.dev.info.devServer.baseUrl });
    expect(JSON.parse(byEnv.out)).toMatchObject({ unpaid: expect.any(Object), refunding: expect.any(Object), errors: [] });
    const missing = await run(['reconcile']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no dev server given: pass --dev <baseUrl> or set WEDA_WXPAY_DEV/);
  });
});

describe('reconcile on its schedule (npm start)', () => {
  it('runs when its timer falls due on the sandbox clock: an advance past it settles a lost payment without anyone asking', async () => {
    const t = await startCallbackDev({ reconcileOnSchedule: true, callbacks: { reconcile: { schedule: '0 0 * * * * *', queryAfterMinutes: 5 } } });
    try {
      const orderNo = await createOrder(t, 900);
      await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 900);
      // The timer checks every second; nothing is due yet.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await orderOf(t, orderNo)).status).toBe(1);
      // The next hour on the sandbox clock, and the order past queryAfterMinutes.
      await advance(t, 3600);
      const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 2 && o; }, 'the scheduled reconcile to find the payment', 10_000);
      expect(order.updatedAt).toBeGreaterThan(Date.now() + 3_000_000);
    } finally {
      await t.close();
    }
  });
});
