/**
 * The bill reconciliation as the reconcile function runs it (callbacks/runtime/bill-reconcile.ts): a timer's event
 * (`{ bill: {} }`) takes yesterday's bill in China time on the function's clock and applies the safe fixes through the
 * callbacks' updates; `apply: false` only reports; the answer lists at most FUNCTION_REPORT_ITEMS per kind.
 */
import { functionKit } from '../callbacks/runtime';
import { FUNCTION_REPORT_ITEMS, reconcileDayBill } from '../callbacks/runtime/bill-reconcile';
import { ordersPortOf, refundsPortOf } from '../callbacks/runtime/model-ports';
import { PAYER } from './helpers/callback-harness';
import { startTestDev, TestDev } from './helpers/dev';

let t: TestDev;
let tradeDay: string;
let lost: string;
const order = (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } } });

beforeAll(async () => {
  t = await startTestDev({ seedGoods: false });
  const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '年度会员', price: 19900 } });
  for (let i = 0; i < 2; i++) {
    const { orderNo } = (await t.connector('checkout', { goodsId: goods.id, openid: PAYER })).body;
    await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
    await t.waitFor(async () => (await order(orderNo)).status === 2, 'paid');
    lost = orderNo;
  }
  await t.model('orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: lost }], record: { status: 1 } });
  const now = Date.parse((await t.get(`${t.dev.info.baseUrl}/sandbox/clock`)).body.now);
  tradeDay = new Date(now + 8 * 3600_000).toISOString().slice(0, 10);
  // 10:30 the next morning, China time: the timer's hour, when yesterday's bill exists.
  await t.post(`${t.dev.info.baseUrl}/sandbox/clock/advance`, { seconds: (Date.parse(`${tradeDay}T10:30:00+08:00`) + 86_400_000 - now) / 1000 });
});
afterAll(async () => { await t?.close(); });

function kitAndPorts() {
  const info = t.dev.info;
  const config = {
    provider: 'sandbox', appid: info.merchant.appid, mchid: info.merchant.mchid, envType: 'pre',
    v3: {
      baseUrl: info.baseUrl, merchantSerialNo: info.merchant.serialNo, privateKeyPath: info.merchant.privateKeyPath, apiV3Key: info.merchant.apiV3Key,
      platformKeys: [{ id: info.platform.publicKeyId, path: info.platform.publicKeyPath }], notifyUrl: 'https://example.com/pay-notify',
    },
  };
  const events: Array<Record<string, unknown>> = [];
  const kit = functionKit({ name: 'wxpay-reconcile', config: config as never }, { weda: t.dev.weda, now: t.dev.clock.now, log: (e) => events.push(e), env: {} });
  const binding = kit.settings().orders;
  return { kit, events, orders: ordersPortOf(t.dev.weda, binding), refunds: refundsPortOf(t.dev.weda, binding) };
}

test('apply: false reports yesterday\'s differences and changes nothing', async () => {
  const { kit, orders, refunds } = kitAndPorts();
  const r = await reconcileDayBill({ bill: { apply: false } }, orders, refunds, kit, t.dev.weda);
  expect(r).toMatchObject({ billDate: tradeDay, source: 'v3', applied: false, counts: { 'paid-not-recorded': 1 }, matched: { payments: 1 } });
  expect((await order(lost)).status).toBe(1);
});

test("the generated reconcile function, as the dev server runs it, takes the bill timer's event (report only)", async () => {
  const answer = await t.post(`${t.dev.info.devServer.functions}/reconcile`, { Type: 'Timer', TriggerName: 'reconcile-bill', Time: new Date().toISOString(), bill: { apply: false } });
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ billDate: tradeDay, applied: false, counts: { 'paid-not-recorded': 1 } });
  expect((await order(lost)).status).toBe(1);
});

test("a timer's event: yesterday's bill, the safe fixes applied, logged", async () => {
  const { kit, events, orders, refunds } = kitAndPorts();
  const r = await reconcileDayBill({ Type: 'Timer', TriggerName: 'reconcile-bill', bill: {} }, orders, refunds, kit, t.dev.weda);
  expect(r).toMatchObject({ billDate: tradeDay, applied: true, fixed: 1, needsHuman: 0 });
  expect(r.items).toEqual([expect.objectContaining({ kind: 'paid-not-recorded', outTradeNo: lost, action: 'fixed', outcome: 'paid' })]);
  expect((await order(lost)).status).toBe(2);
  expect(events).toEqual(expect.arrayContaining([
    expect.objectContaining({ event: 'payment.applied', outTradeNo: lost }),
    expect.objectContaining({ event: 'bill.reconciled', billDate: tradeDay, fixed: 1, needsHuman: 0 }),
  ]));
  expect(FUNCTION_REPORT_ITEMS).toBeLessThanOrEqual(100);
});
