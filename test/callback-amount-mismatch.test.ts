/**
 * Amount mismatches (peers.md §3.5): an event whose order amount (totalFee / amount.total, not what the payer
 * paid) differs from the order's is logged and acknowledged — it will never become right — and changes nothing.
 * CloudPay payment events, refund results (v3 and CloudPay), and a lost payment found by reconcile.
 */
import {
  cloudPayPaymentEvent, cloudPayRefundEvent, createOldOrders, createOrder, deliverRefund, invoke, newOrderNo, orderOf,
  placeAndPay, refundResource, signedRefundNotification, TestDev, withSinkDev,
} from './helpers/callback-harness';
import type { Connector } from '../connector';

let t: TestDev;
let connector: Connector;
const logs: string[] = [];
withSinkDev({ log: (l) => logs.push(l), callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 60 } } }, (d) => ({ t, connector } = d));
const logged = (event: string, orderNo: string) => logs.some((l) => l.includes(`"event":"${event}"`) && l.includes(orderNo));

it('acknowledges a CloudPay payment event whose totalFee differs from the order, and leaves the order unpaid', async () => {
  const orderNo = await createOrder(t, 1000);
  const tx = await placeAndPay(t, connector, orderNo, 1000);
  // cashFee (what the payer paid) matching the order does not make it right: totalFee is the order amount.
  const answer = await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx, { totalFee: 1, cashFee: 1000 }));
  expect(answer.body).toEqual({ errcode: 0, errmsg: 'OK (amount-mismatch)' });
  const order = await orderOf(t, orderNo);
  expect(order.status).toBe(1);
  expect(order.transactionId).toBeUndefined();
  expect(logged('payment.amount_mismatch', orderNo)).toBe(true);
});

it('acknowledges a refund result whose order total differs, without touching the order (v3 and CloudPay)', async () => {
  const orderNo = newOrderNo('CB');
  await createOrder(t, 500, { orderNo, status: 3, extra: { refundNo: `R${orderNo}` } });
  const v3 = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 5000, refund: 500 });
  expect(await deliverRefund(t, signedRefundNotification(t, v3))).toBe(204);
  const cloud = await invoke(t, 'refund-notify', cloudPayRefundEvent({ outTradeNo: orderNo, outRefundNo: `R${orderNo}`, refundStatus: 'REFUNDCLOSE', totalFee: 5000 }));
  expect(cloud.body).toEqual({ errcode: 0, errmsg: 'OK (amount-mismatch)' });
  expect((await orderOf(t, orderNo)).status).toBe(3);
  expect(logged('refund.amount_mismatch', orderNo)).toBe(true);
});

it('does not mark a lost payment paid from queryOrder when its total differs from the order', async () => {
  const orderNo = newOrderNo('CB');
  // The row says 100 fen; the order placed with WeChat Pay (and paid) was for 90.
  await createOldOrders(t, 20, [{ orderNo, amount: 100, status: 1 }]);
  await placeAndPay(t, connector, orderNo, 90);
  const run = await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile' });
  expect(run.status).toBe(200);
  expect(run.body.unpaid.mismatched).toBeGreaterThanOrEqual(1);
  expect((await orderOf(t, orderNo)).status).toBe(1);
  expect(logged('payment.amount_mismatch', orderNo)).toBe(true);
});
