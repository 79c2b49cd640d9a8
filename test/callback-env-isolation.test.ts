/**
 * pre vs prod (weda.md §3 envType): the callbacks write only to the envType of the configuration. The same
 * order number in both environments (a preview test and a real order) is never crossed: payments, refunds and
 * reconcile touch the configured one only.
 */
import {
  cloudPayPaymentEvent, createOldOrders, createOrder, deliverRefund, invoke, newOrderNo, orderOf, placeAndPay,
  refundResource, signedRefundNotification, sinkConnector, startCallbackDev, startSink, Sink, TestDev,
} from './helpers/callback-harness';

let sink: Sink;
beforeAll(async () => { sink = await startSink(); });
afterAll(async () => { await sink?.close(); });

describe.each(['pre', 'prod'] as const)('configured envType %s', (envType) => {
  const other = envType === 'pre' ? 'prod' : 'pre';
  let t: TestDev;
  beforeAll(async () => { t = await startCallbackDev({ config: { envType } }); });
  afterAll(async () => { await t?.close(); });

  it(`a payment marks the ${envType} order paid and leaves the ${other} one with the same number unpaid`, async () => {
    expect(t.dev.info.devServer.envType).toBe(envType);
    const orderNo = newOrderNo('E');
    await createOrder(t, 100, { orderNo, envType });
    await createOrder(t, 100, { orderNo, envType: other });
    const tx = await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 100);
    expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body).toEqual({ errcode: 0, errmsg: 'OK' });
    expect((await orderOf(t, orderNo, { envType })).status).toBe(2);
    expect((await orderOf(t, orderNo, { envType: other })).status).toBe(1);
  });

  it(`a refund result moves the ${envType} order only`, async () => {
    const orderNo = newOrderNo('E');
    await createOrder(t, 100, { orderNo, envType, status: 3, extra: { refundNo: `R${orderNo}` } });
    await createOrder(t, 100, { orderNo, envType: other, status: 3, extra: { refundNo: `R${orderNo}` } });
    const r = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 100 });
    expect(await deliverRefund(t, signedRefundNotification(t, r))).toBe(204);
    expect((await orderOf(t, orderNo, { envType })).status).toBe(4);
    expect((await orderOf(t, orderNo, { envType: other })).status).toBe(3);
  });

  it(`reconcile looks at ${envType} orders only`, async () => {
    const mine = newOrderNo('E');
    const theirs = newOrderNo('E');
    await createOldOrders(t, 90, [{ orderNo: mine, amount: 100, status: 1 }], { envType });
    await createOldOrders(t, 90, [{ orderNo: theirs, amount: 100, status: 1 }], { envType: other });
    const run = await invoke(t, 'reconcile', {});
    expect(run.status).toBe(200);
    expect((await orderOf(t, mine, { envType })).closedAt).toEqual(expect.any(Number));
    expect((await orderOf(t, theirs, { envType: other })).closedAt).toBeUndefined();
  });
});
