/**
 * Duplicate deliveries (peers.md §3.2: ~15 per event when an ack is lost): every one is acknowledged, the
 * order moves once. CloudPay payment events, v3 refund notifications and CloudPay refund events (the v3
 * payment notification is covered in callback-pay-notify.test.ts). Payments and refunds are real sandbox
 * ones, placed through a connector whose own notifications go to a sink, so only the events sent here count.
 */
import {
  cloudPayPaymentEvent, cloudPayRefundEventFor, createOrder, deliverRefund, invoke, newOrderNo, orderOf, placeAndPay,
  refundResource, signedRefundNotification, TestDev, withSinkDev,
} from './helpers/callback-harness';
import type { Connector } from '../connector';

let t: TestDev;
let connector: Connector;
withSinkDev({}, (d) => ({ t, connector } = d));

it('applies 15 sequential CloudPay payment events once and acknowledges each with errcode 0', async () => {
  const orderNo = await createOrder(t, 500);
  const tx = await placeAndPay(t, connector, orderNo, 500);
  const event = cloudPayPaymentEvent(t, tx);
  const answers = [];
  for (let i = 0; i < 15; i++) answers.push(await invoke(t, 'pay-notify', event));
  expect(answers.map((a) => a.status)).toEqual(Array(15).fill(200));
  expect(answers.map((a) => a.body.errcode)).toEqual(Array(15).fill(0));
  expect(answers[0]!.body.errmsg).toBe('OK');
  expect(answers.slice(1).every((a) => /duplicate/.test(a.body.errmsg))).toBe(true);
  const order = await orderOf(t, orderNo);
  expect(order.status).toBe(2);
  expect(order.transactionId).toBe(tx.transaction_id);
  expect(order.openid).toBe(tx.payer.openid);
  expect(order.paidAt).toBe(Math.floor(Date.parse(tx.success_time) / 1000) * 1000);
  // Once paid, a 16th delivery does not even rewrite the row.
  const stamp = order.updatedAt;
  expect((await invoke(t, 'pay-notify', event)).body.errcode).toBe(0);
  expect((await orderOf(t, orderNo)).updatedAt).toBe(stamp);
});

it('answers the configured function name too (the functionName given to CloudPay)', async () => {
  const orderNo = await createOrder(t, 100);
  const tx = await placeAndPay(t, connector, orderNo, 100);
  const answer = await invoke(t, t.dev.resolved.functions.payNotify, cloudPayPaymentEvent(t, tx));
  expect(answer.body).toEqual({ errcode: 0, errmsg: 'OK' });
  expect((await orderOf(t, orderNo)).status).toBe(2);
});

it('applies 15 v3 REFUND.SUCCESS deliveries once: 3 → 4 with the refund recorded', async () => {
  const orderNo = newOrderNo('CB');
  await createOrder(t, 800, { orderNo, status: 3, extra: { refundNo: `R${orderNo}` } });
  const resource = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 800 });
  const statuses = [];
  for (let i = 0; i < 15; i++) statuses.push(await deliverRefund(t, signedRefundNotification(t, resource)));
  expect(statuses).toEqual(Array(15).fill(204));
  const order = await orderOf(t, orderNo);
  expect(order).toMatchObject({ status: 4, refundNo: `R${orderNo}`, refundId: resource.refund_id, refundAmount: 800 });
  expect(order.refundedAt).toBe(Date.parse(resource.success_time!));
});

it('applies 15 CloudPay refund events once (confirmed by queryRefund against the sandbox)', async () => {
  const orderNo = await createOrder(t, 600);
  const tx = await placeAndPay(t, connector, orderNo, 600);
  expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body.errcode).toBe(0);
  const outRefundNo = `RF${orderNo}`;
  await connector.call('refund', { outTradeNo: orderNo, outRefundNo, totalFee: 600, refundFee: 600 });
  // The app marks the order refunding when the refund is accepted (DESIGN.md 2→3).
  await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo }, status: { $eq: 2 } } }, data: { status: 3, refundNo: outRefundNo } });
  const settled = await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${outRefundNo}/settle`, { status: 'SUCCESS' });
  expect(settled.status).toBe(200);

  const event = await cloudPayRefundEventFor(t, outRefundNo, 'SUCCESS', { subMchId: t.dev.info.merchant.mchid });
  const answers = [];
  for (let i = 0; i < 15; i++) answers.push((await invoke(t, 'refund-notify', event)).body);
  expect(answers.every((a) => a.errcode === 0)).toBe(true);
  expect(answers[0]!.errmsg).toBe('OK');
  const order = await orderOf(t, orderNo);
  expect(order).toMatchObject({ status: 4, refundNo: outRefundNo, refundAmount: 600 });
});
