/**
 * Closed orders can be told from payable ones. The 1–4 status numbers keep their meaning (a closed order stays 1,
 * 未支付), and the close is recorded on the order: closedAt (when) and closeReason (merchant: closeOrder; timeout:
 * reconcile closed it; wechat: WeChat Pay says it is closed; not_placed: WeChat Pay never had it). What the app's
 * 未支付 tab would ask for (status 1, closedAt empty) leaves closed orders out.
 */
import { createOldOrders, createOrder, invoke, newOrderNo, orderOf, PAYER, TestDev, withSinkDev } from './helpers/callback-harness';
import type { Connector } from '../connector';

let t: TestDev;
let connector: Connector;
withSinkDev({ callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 30 } } }, (d) => ({ t, connector } = d));

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const tradeState = async (orderNo: string) => (await t.get(sandbox(`/sandbox/transactions/${orderNo}`))).body.trade_state;
const sandboxNow = async () => Date.parse((await t.get(sandbox('/sandbox/clock'))).body.now);
const reconcile = async () => (await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() })).body;

it('closeOrder through the connector closes the order at WeChat Pay and records closedAt and closeReason merchant; status stays 1', async () => {
  const orderNo = await createOrder(t, 100);
  await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 100, openid: PAYER });
  const before = await sandboxNow();
  const closed = await t.connector('closeOrder', { outTradeNo: orderNo });
  expect(closed).toEqual({ status: 200, body: { outTradeNo: orderNo, closed: true } });
  expect(await tradeState(orderNo)).toBe('CLOSED');
  const order = await orderOf(t, orderNo);
  expect(order).toMatchObject({ status: 1, closeReason: 'merchant' });
  expect(order.closedAt).toBeGreaterThanOrEqual(before);

  // Closing again (re-entrant at WeChat Pay) keeps the first record; a closed order cannot be paid or refunded.
  await new Promise((r) => setTimeout(r, 5));
  expect((await t.connector('closeOrder', { outTradeNo: orderNo })).status).toBe(200);
  expect((await orderOf(t, orderNo)).closedAt).toBe(order.closedAt);
  expect((await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' })).status).toBe(409);
  expect((await t.connector('requestRefund', { orderNo })).body.message).toMatch(/is not paid/);
});

it('closeOrder of a paid order is refused and records nothing', async () => {
  const orderNo = await createOrder(t, 100);
  await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 100, openid: PAYER });
  await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' });
  await t.waitFor(async () => (await orderOf(t, orderNo)).status === 2, 'paid');
  const refused = await t.connector('closeOrder', { outTradeNo: orderNo });
  expect(refused.body.code).toBe('ORDER_PAID');
  const order = await orderOf(t, orderNo);
  expect(order.closedAt).toBeUndefined();
  expect(order.closeReason).toBeUndefined();
});

it('reconcile records why it closed: timeout (NOTPAY too long), wechat (closed at WeChat Pay), not_placed (never placed)', async () => {
  const [timeout, atWechat, notPlaced] = [newOrderNo('T'), newOrderNo('W'), newOrderNo('P')];
  await createOldOrders(t, 45, [timeout, atWechat, notPlaced].map((orderNo) => ({ orderNo, amount: 100, status: 1 })));
  await connector.call('unifiedOrder', { body: 'x', outTradeNo: timeout, totalFee: 100, openid: PAYER });
  await connector.call('unifiedOrder', { body: 'x', outTradeNo: atWechat, totalFee: 100, openid: PAYER });
  // Closed at WeChat Pay by someone else (the sink connector writes no data model).
  await connector.call('closeOrder', { outTradeNo: atWechat });
  expect((await orderOf(t, atWechat)).closedAt).toBeUndefined();

  const summary = await reconcile();
  expect(summary.unpaid.closed).toBeGreaterThanOrEqual(3);
  expect(await tradeState(timeout)).toBe('CLOSED');
  for (const [orderNo, closeReason] of [[timeout, 'timeout'], [atWechat, 'wechat'], [notPlaced, 'not_placed']]) {
    expect(await orderOf(t, orderNo!)).toMatchObject({ status: 1, closeReason, closedAt: expect.any(Number) });
  }
});

it('the 未支付 tab\'s query (status 1, closedAt empty) shows payable orders only; closedAt not empty finds the closed ones', async () => {
  const payer = `o-tabs-${Date.now()}`;
  const open = await createOrder(t, 100, { extra: { openid: payer } });
  const shut = await createOrder(t, 100, { extra: { openid: payer } });
  await t.connector('unifiedOrder', { body: 'x', outTradeNo: shut, totalFee: 100, openid: payer });
  await t.connector('closeOrder', { outTradeNo: shut });
  const tab = async (closed: boolean) => (await t.model('orders', 'wedaGetRecordsV2', {
    filter: { where: { openid: { $eq: payer }, status: { $eq: 1 }, closedAt: { [closed ? '$nempty' : '$empty']: true } } }, pageSize: 50,
  })).records.map((r: any) => r.orderNo);
  expect(await tab(false)).toEqual([open]);
  expect(await tab(true)).toEqual([shut]);
});
