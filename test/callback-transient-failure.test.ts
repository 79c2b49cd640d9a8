/**
 * The only failures answered "deliver again": the data model could not be reached (v3: HTTP 500; CloudPay:
 * errcode ≠ 0). Here the dev server's store is closed under the functions, as an outage would.
 */
import { cloudPayPaymentEvent, cloudPayRefundEvent, createOrder, invoke, placeAndPay, sinkConnector, startCallbackDev, startSink, Sink, TestDev } from './helpers/callback-harness';
import { deliver, signedNotification, transactionResource } from './helpers/notify';

let t: TestDev;
let sink: Sink;
beforeAll(async () => {
  t = await startCallbackDev();
  sink = await startSink();
});
afterAll(async () => {
  await t?.close().catch(() => undefined);
  await sink?.close();
});

it('answers 500 / errcode ≠ 0 while the store is down, for payments, refunds and reconcile', async () => {
  const orderNo = await createOrder(t, 100);
  const tx = await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 100);
  await t.dev.store.close();

  expect(await deliver(t, signedNotification(t, transactionResource(t, orderNo, 100)))).toBe(500);
  const payment = await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx));
  expect(payment.status).toBe(200);
  expect(payment.body.errcode).not.toBe(0);
  expect(payment.body.errmsg).toMatch(/temporarily unable to record the payment/);
  const refund = await invoke(t, 'refund-notify', cloudPayRefundEvent({ outTradeNo: orderNo, outRefundNo: `R${orderNo}`, refundStatus: 'SUCCESS', totalFee: 100 }));
  expect(refund.body.errcode).not.toBe(0);
  // reconcile cannot even list the orders: the invocation fails (the next tick tries again).
  expect((await invoke(t, 'reconcile', {})).status).toBeGreaterThanOrEqual(400);
});
