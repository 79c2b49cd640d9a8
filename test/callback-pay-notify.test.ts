/**
 * pay-notify semantics with genuine notifications: idempotent (duplicates and concurrent duplicates move the
 * order once and are all acknowledged), amount checked against the order (amount.total, not payer_total),
 * unknown orders and other merchants' notifications acknowledged without writing.
 */
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';
import { deliver, signedNotification, transactionResource } from './helpers/notify';

let t: TestDev;
beforeAll(async () => { t = await startTestDev({ seedGoods: false }); });
afterAll(async () => { await t?.close(); });

const createOrder = async (amount: number, status = 1) => {
  const orderNo = newOrderNo('C');
  await t.model('orders', 'wedaCreateV2', { data: { orderNo, amount, status } });
  return orderNo;
};
const orderOf = async (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } } });

it('acknowledges 15 sequential deliveries of one payment and applies it once', async () => {
  const orderNo = await createOrder(500);
  const resource = transactionResource(t, orderNo, 500);
  const first = await orderOf(orderNo);
  const statuses: number[] = [];
  for (let i = 0; i < 15; i++) statuses.push(await deliver(t, signedNotification(t, resource)));
  expect(statuses).toEqual(Array(15).fill(204));
  const after = await orderOf(orderNo);
  expect(after.status).toBe(2);
  expect(after.transactionId).toBe(resource.transaction_id);
  expect(after.updatedAt).toBeGreaterThanOrEqual(first.updatedAt);
  // Once paid, a later duplicate does not even rewrite the row.
  const stamp = after.updatedAt;
  await deliver(t, signedNotification(t, resource));
  expect((await orderOf(orderNo)).updatedAt).toBe(stamp);
});

it('applies 10 concurrent duplicates exactly once', async () => {
  const orderNo = await createOrder(300);
  const resource = transactionResource(t, orderNo, 300);
  const statuses = await Promise.all(Array.from({ length: 10 }, () => deliver(t, signedNotification(t, resource))));
  expect(statuses.every((s) => s === 204)).toBe(true);
  expect((await orderOf(orderNo)).status).toBe(2);
});

it('does not mark paid when amount.total differs from the order, even if payer_total matches', async () => {
  const orderNo = await createOrder(1000);
  const resource = transactionResource(t, orderNo, 1, { amount: { total: 1, payer_total: 1000, currency: 'CNY', payer_currency: 'CNY' } });
  expect(await deliver(t, signedNotification(t, resource))).toBe(204);
  const order = await orderOf(orderNo);
  expect(order.status).toBe(1);
  expect(order.transactionId).toBeUndefined();
});

it('acknowledges an unknown order without creating anything', async () => {
  const orderNo = newOrderNo('U');
  expect(await deliver(t, signedNotification(t, transactionResource(t, orderNo, 100)))).toBe(204);
  expect(await orderOf(orderNo)).toEqual({});
});

it('ignores a notification for another merchant or app', async () => {
  const orderNo = await createOrder(100);
  expect(await deliver(t, signedNotification(t, transactionResource(t, orderNo, 100, { mchid: '1230000109' })))).toBe(204);
  expect((await orderOf(orderNo)).status).toBe(1);
});

it('never moves a refunded order back to paid', async () => {
  const orderNo = await createOrder(100, 4);
  expect(await deliver(t, signedNotification(t, transactionResource(t, orderNo, 100)))).toBe(204);
  expect((await orderOf(orderNo)).status).toBe(4);
});
