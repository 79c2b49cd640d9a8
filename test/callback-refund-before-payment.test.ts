/**
 * A refund result that arrives before the payment notification (the order is still 1 here): it is not
 * applicable *yet*, so it is answered "deliver again" (v3: HTTP 503; CloudPay: errcode ≠ 0) and logged. Once
 * the payment is recorded, the redelivery applies it (2 → 3 → 4). End to end with the sandbox: the payment
 * notification is delayed by a fault, the refund result overtakes it, the sandbox clock brings both back.
 */
import {
  cloudPayPaymentEvent, cloudPayRefundEventFor, createOrder, deliverRefund, invoke, orderOf, placeAndPay,
  refundResource, signedRefundNotification, sinkConnector, Sink, TestDev, withSinkDev,
} from './helpers/callback-harness';

let t: TestDev;
let sink: Sink;
const logs: string[] = [];
withSinkDev({ log: (l) => logs.push(l) }, (d) => ({ t, sink } = d));

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const notifications = async (query: string) => (await t.get(sandbox(`/sandbox/notifications?${query}`))).body.notifications as any[];

it('answers 503 to REFUND.SUCCESS for an unpaid order, then applies it when WeChat Pay delivers it again', async () => {
  const orderNo = await createOrder(t, 1200);
  // The payment notification's first delivery waits 10 sandbox minutes.
  expect((await t.post(sandbox('/sandbox/faults'), { kind: 'DELAY', seconds: 600, event_type: 'TRANSACTION.SUCCESS' })).status).toBe(200);
  const prepay = await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 1200, openid: 'o-payer' });
  expect(prepay.status).toBe(200);
  expect((await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' })).status).toBe(200);

  // Refunded (through the dev connector: its refund notify URL is the dev server's refund-notify) and settled.
  const outRefundNo = `R${orderNo}`;
  expect((await t.connector('refund', { outTradeNo: orderNo, outRefundNo, totalFee: 1200, refundFee: 1200 })).status).toBe(200);
  expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: 'SUCCESS' })).status).toBe(200);

  // REFUND.SUCCESS overtakes the payment: answered 503, order untouched, the sandbox schedules a retry.
  const refundLog = await t.waitFor(async () => {
    const [n] = await notifications(`out_refund_no=${outRefundNo}`);
    return n && n.attempts.length >= 1 && n;
  }, 'the first REFUND.SUCCESS attempt');
  expect(refundLog.attempts[0].statusCode).toBe(503);
  expect(refundLog.status).toBe('pending');
  expect((await orderOf(t, orderNo)).status).toBe(1);
  expect(logs.some((l) => l.includes('"refund.before_payment"') && l.includes(orderNo))).toBe(true);

  // Ten sandbox minutes later the payment arrives (1 → 2); the refund's next retry then applies (2 → 3 → 4).
  await t.post(sandbox('/sandbox/clock/advance'), { seconds: 620 });
  await t.waitFor(async () => (await orderOf(t, orderNo)).status === 2, 'order paid');
  await t.post(sandbox('/sandbox/clock/advance'), { seconds: 60 });
  const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 4 && o; }, 'order refunded');
  expect(order).toMatchObject({ status: 4, refundNo: outRefundNo, refundAmount: 1200 });
  expect(typeof order.transactionId).toBe('string');
  const [refund] = await notifications(`out_refund_no=${outRefundNo}`);
  expect(refund.status).toBe('delivered');
  const codes = refund.attempts.map((a: any) => a.statusCode);
  expect(codes[0]).toBe(503);
  expect(codes[codes.length - 1]).toBe(204);
  expect(codes.filter((c: number) => c === 204)).toHaveLength(1);
});

it('answers a CloudPay refund event for an unpaid order with a non-zero errcode, and applies the redelivery', async () => {
  const connector = sinkConnector(t, sink.url);
  const orderNo = await createOrder(t, 700);
  const tx = await placeAndPay(t, connector, orderNo, 700);
  const outRefundNo = `RF${orderNo}`;
  await connector.call('refund', { outTradeNo: orderNo, outRefundNo, totalFee: 700, refundFee: 700 });
  await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: 'SUCCESS' });
  const refundEvent = await cloudPayRefundEventFor(t, outRefundNo, 'SUCCESS');

  const early = await invoke(t, 'refund-notify', refundEvent);
  expect(early.status).toBe(200);
  expect(early.body.errcode).not.toBe(0);
  expect(early.body.errmsg).toMatch(/not paid yet/);
  expect((await orderOf(t, orderNo)).status).toBe(1);

  expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body.errcode).toBe(0);
  expect((await invoke(t, 'refund-notify', refundEvent)).body).toEqual({ errcode: 0, errmsg: 'OK' });
  expect((await orderOf(t, orderNo)).status).toBe(4);
});

it('also answers REFUND.CLOSED for an unpaid order with 503 (it will apply, or not, once paid)', async () => {
  const orderNo = await createOrder(t, 50);
  const closed = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'CLOSED', total: 50 });
  expect(await deliverRefund(t, signedRefundNotification(t, closed))).toBe(503);
  expect((await orderOf(t, orderNo)).status).toBe(1);
});
