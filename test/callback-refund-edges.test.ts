/**
 * Refund results and the status edges of DESIGN.md: SUCCESS 3→4, CLOSED/ABNORMAL 3→2, with real sandbox refunds
 * (connector refund → sandbox settles → signed REFUND.* notification → refund-notify → order). Plus the choices
 * where the contract is silent: SUCCESS on an order still at 2 (refund made outside the app) goes 2→3→4; a late
 * CLOSED for an earlier refund number does not undo the refund in flight; CloudPay CHANGE/REFUNDCLOSE map to
 * ABNORMAL/CLOSED.
 */
import {
  cloudPayPaymentEvent, cloudPayRefundEvent, cloudPayRefundEventFor, createOrder, deliverRefund, invoke, newOrderNo,
  orderOf, placeAndPay, refundResource, signedRefundNotification, sinkConnector, Sink, TestDev, withSinkDev,
} from './helpers/callback-harness';

let t: TestDev;
let sink: Sink;
withSinkDev({}, (d) => ({ t, sink } = d));

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;

/** Pays through the dev connector (notification → pay-notify), then asks for a refund and marks the order 3 as the app does. */
async function paidAndRefunding(amount: number, refundFee = amount): Promise<{ orderNo: string; outRefundNo: string }> {
  const orderNo = await createOrder(t, amount);
  expect((await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: amount, openid: 'o-payer' })).status).toBe(200);
  await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' });
  await t.waitFor(async () => (await orderOf(t, orderNo)).status === 2, 'order paid');
  const outRefundNo = `R${orderNo}`;
  const accepted = await t.connector('refund', { outTradeNo: orderNo, outRefundNo, totalFee: amount, refundFee });
  expect(accepted.body.status).toBe('PROCESSING');
  await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo }, status: { $eq: 2 } } }, data: { status: 3, refundNo: outRefundNo } });
  return { orderNo, outRefundNo };
}

async function settle(outRefundNo: string, status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL') {
  expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status })).status).toBe(200);
}

it('REFUND.SUCCESS of the whole amount moves 3 → 4 and records refundId, refundAmount, refundedAmount and refundedAt', async () => {
  const { orderNo, outRefundNo } = await paidAndRefunding(1500);
  await settle(outRefundNo, 'SUCCESS');
  const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 4 && o; }, 'order refunded');
  const refund = (await t.connector('queryRefund', { outRefundNo })).body;
  expect(order).toMatchObject({ status: 4, refundNo: outRefundNo, refundId: refund.refundId, refundAmount: 1500, refundedAmount: 1500 });
  expect(order.refundedAt).toBe(Date.parse(refund.successTime));
});

it('REFUND.SUCCESS of part of the amount moves 3 → 2 with refundedAmount, so the order can be refunded again', async () => {
  const { orderNo, outRefundNo } = await paidAndRefunding(1500, 1000);
  await settle(outRefundNo, 'SUCCESS');
  const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 2 && o.refundedAmount === 1000 && o; }, 'order partly refunded');
  const refund = (await t.connector('queryRefund', { outRefundNo })).body;
  expect(order).toMatchObject({ refundNo: outRefundNo, refundId: refund.refundId, refundAmount: 1000, refundedAt: Date.parse(refund.successTime) });
});

it.each(['CLOSED', 'ABNORMAL'] as const)('REFUND.%s moves 3 → 2 (the money did not go back)', async (status) => {
  const { orderNo, outRefundNo } = await paidAndRefunding(300);
  await settle(outRefundNo, status);
  const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 2 && o; }, 'order back to paid');
  expect(order.refundedAt).toBeUndefined();
  expect(order.refundNo).toBe(outRefundNo);
});

it('REFUND.SUCCESS on an order still at 2 (refunded in the merchant console) goes 2 → 3 → 4', async () => {
  const orderNo = await createOrder(t, 250, { status: 2 });
  const r = refundResource(t, { outTradeNo: orderNo, outRefundNo: `CONSOLE${orderNo}`, status: 'SUCCESS', total: 250 });
  expect(await deliverRefund(t, signedRefundNotification(t, r))).toBe(204);
  expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundNo: `CONSOLE${orderNo}`, refundAmount: 250 });
});

it('REFUND.CLOSED on an order at 2 or 4 changes nothing', async () => {
  for (const status of [2, 4]) {
    const orderNo = await createOrder(t, 80, { status });
    const r = refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'CLOSED', total: 80 });
    expect(await deliverRefund(t, signedRefundNotification(t, r))).toBe(204);
    expect((await orderOf(t, orderNo)).status).toBe(status);
  }
});

it('a late CLOSED for an earlier refund number does not undo the refund in flight', async () => {
  const orderNo = newOrderNo('CB');
  await createOrder(t, 90, { orderNo, status: 3, extra: { refundNo: `SECOND${orderNo}` } });
  const late = refundResource(t, { outTradeNo: orderNo, outRefundNo: `FIRST${orderNo}`, status: 'CLOSED', total: 90 });
  expect(await deliverRefund(t, signedRefundNotification(t, late))).toBe(204);
  expect(await orderOf(t, orderNo)).toMatchObject({ status: 3, refundNo: `SECOND${orderNo}` });
});

it('REFUND.SUCCESS on an order at 4 is an acknowledged duplicate', async () => {
  const refunded = await createOrder(t, 60, { status: 4 });
  expect(await deliverRefund(t, signedRefundNotification(t, refundResource(t, { outTradeNo: refunded, outRefundNo: `R${refunded}`, status: 'SUCCESS', total: 60 })))).toBe(204);
  expect((await orderOf(t, refunded)).status).toBe(4);
});

it('refuses a refund notification that does not verify, before reading it', async () => {
  const orderNo = newOrderNo('CB');
  await createOrder(t, 70, { orderNo, status: 3, extra: { refundNo: `R${orderNo}` } });
  const n = signedRefundNotification(t, refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 70 }));
  expect(await deliverRefund(t, { body: n.body.replace('REFUND.SUCCESS', 'REFUND.CLOSED'), headers: n.headers })).toBe(401);
  expect((await orderOf(t, orderNo)).status).toBe(3);
});

describe('CloudPay refund events', () => {
  it.each([
    ['SUCCESS', 'SUCCESS', 4],
    ['REFUNDCLOSE', 'CLOSED', 2],
    ['CHANGE', 'ABNORMAL', 2],
  ] as const)('refundStatus %s (sandbox %s) → status %d, confirmed by queryRefund', async (refundStatus, sandboxStatus, expected) => {
    const connector = sinkConnector(t, sink.url);
    const orderNo = await createOrder(t, 420);
    const tx = await placeAndPay(t, connector, orderNo, 420);
    expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body.errcode).toBe(0);
    const outRefundNo = `RF${orderNo}`;
    await connector.call('refund', { outTradeNo: orderNo, outRefundNo, totalFee: 420, refundFee: 420 });
    await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo } } }, data: { status: 3, refundNo: outRefundNo } });
    const event = await cloudPayRefundEventFor(t, outRefundNo, refundStatus);

    // Still PROCESSING at WeChat Pay: the event is not confirmed, so it is not applied and asked for again.
    const early = await invoke(t, 'refund-notify', event);
    expect(early.body.errcode).not.toBe(0);
    expect(early.body.errmsg).toMatch(/queryRefund says PROCESSING/);
    expect((await orderOf(t, orderNo)).status).toBe(3);

    await settle(outRefundNo, sandboxStatus);
    expect((await invoke(t, 'refund-notify', event)).body).toEqual({ errcode: 0, errmsg: 'OK' });
    expect((await orderOf(t, orderNo)).status).toBe(expected);
  });

  it('a forged SUCCESS event for a refund WeChat Pay never made is not applied', async () => {
    const orderNo = newOrderNo('CB');
    await createOrder(t, 10, { orderNo, status: 3, extra: { refundNo: `R${orderNo}` } });
    const answer = await invoke(t, 'refund-notify', cloudPayRefundEvent({ outTradeNo: orderNo, outRefundNo: `R${orderNo}`, refundStatus: 'SUCCESS', totalFee: 10 }));
    expect(answer.body.errcode).not.toBe(0);
    expect(answer.body.errmsg).toMatch(/no such refund/);
    expect((await orderOf(t, orderNo)).status).toBe(3);
  });
});
