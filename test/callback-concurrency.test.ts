/**
 * Concurrent duplicates: deliveries of the same event racing each other (WeChat Pay resends while the first
 * attempt is still running). The compare-and-set where makes exactly one of them move the order; all are
 * acknowledged. Also a refund SUCCESS racing the reconcile-style 2→3→4 path, and payment + refund results
 * for one order arriving together.
 */
import {
  cloudPayPaymentEvent, cloudPayRefundEventFor, createOrder, deliverRefund, invoke, newOrderNo, orderOf, placeAndPay,
  refundResource, signedRefundNotification, TestDev, withSinkDev,
} from './helpers/callback-harness';
import type { Connector } from '../connector';

let t: TestDev;
let connector: Connector;
const logs: string[] = [];
withSinkDev({ log: (l) => logs.push(l) }, (d) => ({ t, connector } = d));

const events = () => logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const applied = (event: string, orderNo: string) => events().filter((e) => e.event === event && e.outTradeNo === orderNo).length;

it('moves the order once when 10 copies of a CloudPay payment event arrive at the same time', async () => {
  const orderNo = await createOrder(t, 300);
  const tx = await placeAndPay(t, connector, orderNo, 300);
  const event = cloudPayPaymentEvent(t, tx);
  const answers = await Promise.all(Array.from({ length: 10 }, () => invoke(t, 'pay-notify', event)));
  expect(answers.every((a) => a.status === 200 && a.body.errcode === 0)).toBe(true);
  expect((await orderOf(t, orderNo)).status).toBe(2);
  expect(applied('payment.applied', orderNo)).toBe(1);
});

it('moves the order once when 10 copies of a v3 REFUND.SUCCESS arrive at the same time, even from status 2', async () => {
  // Status 2 with no refund number: a refund made in the merchant console. Each delivery tries 2→3 then 3→4.
  const orderNo = await createOrder(t, 900, { status: 2 });
  const resource = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 900 });
  const statuses = await Promise.all(Array.from({ length: 10 }, () => deliverRefund(t, signedRefundNotification(t, resource))));
  expect(statuses).toEqual(Array(10).fill(204));
  expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundNo: `R${orderNo}`, refundAmount: 900 });
  expect(applied('refund.applied', orderNo)).toBe(1);
});

it('settles a race between a refund CLOSED and a refund SUCCESS for the same refund with one winner', async () => {
  // Not something WeChat Pay sends, but the store must end in one consistent state whichever lands first.
  const orderNo = newOrderNo('CB');
  await createOrder(t, 200, { orderNo, status: 3, extra: { refundNo: `R${orderNo}` } });
  const ok = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 200 });
  const closed = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'CLOSED', total: 200 });
  const statuses = await Promise.all([
    ...Array.from({ length: 5 }, () => deliverRefund(t, signedRefundNotification(t, ok))),
    ...Array.from({ length: 5 }, () => deliverRefund(t, signedRefundNotification(t, closed))),
  ]);
  expect(statuses).toEqual(Array(10).fill(204));
  const final = (await orderOf(t, orderNo)).status;
  expect([2, 4]).toContain(final);
  expect(applied('refund.applied', orderNo) + applied('refund.reverted', orderNo)).toBeGreaterThanOrEqual(1);
  // From 4 nothing moves it; from 2 a later SUCCESS goes 2→3→4 (the money went back): either way it ends refunded.
  expect(await deliverRefund(t, signedRefundNotification(t, ok))).toBe(204);
  expect((await orderOf(t, orderNo)).status).toBe(4);
});

it('keeps concurrent CloudPay refund events for one order to a single 3 → 4', async () => {
  const orderNo = await createOrder(t, 400);
  const tx = await placeAndPay(t, connector, orderNo, 400);
  expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body.errcode).toBe(0);
  const outRefundNo = `RF${orderNo}`;
  await connector.call('refund', { outTradeNo: orderNo, outRefundNo, totalFee: 400, refundFee: 400 });
  await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${outRefundNo}/settle`, { status: 'SUCCESS' });
  const event = await cloudPayRefundEventFor(t, outRefundNo, 'SUCCESS');
  const answers = await Promise.all(Array.from({ length: 8 }, () => invoke(t, 'refund-notify', event)));
  expect(answers.every((a) => a.body.errcode === 0)).toBe(true);
  expect((await orderOf(t, orderNo)).status).toBe(4);
  expect(applied('refund.applied', orderNo)).toBe(1);
});
