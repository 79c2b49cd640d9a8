/**
 * Events for orders the model does not have (another app, a deleted row, a typo in a hand-built model):
 * logged and acknowledged, nothing created — a retry would not find the order either.
 */
import {
  cloudPayRefundEvent, deliverRefund, invoke, newOrderNo, orderOf, refundResource, signedRefundNotification,
  startCallbackDev, TestDev,
} from './helpers/callback-harness';

let t: TestDev;
const logs: string[] = [];
beforeAll(async () => { t = await startCallbackDev({ log: (l) => logs.push(l) }); });
afterAll(async () => { await t?.close(); });
const logged = (event: string, orderNo: string) => logs.some((l) => l.includes(`"event":"${event}"`) && l.includes(orderNo));

it('acknowledges a CloudPay payment event for an unknown order without asking WeChat Pay or writing', async () => {
  const orderNo = newOrderNo('U');
  const sent = await t.sandboxRequestCount();
  const answer = await invoke(t, 'pay-notify', {
    returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: orderNo, transactionId: '4200000000000000000000000009', totalFee: 100, subOpenid: 'o1', timeEnd: '20240301120005',
  });
  expect(answer.body).toEqual({ errcode: 0, errmsg: 'OK (unknown-order)' });
  expect(await orderOf(t, orderNo)).toEqual({});
  expect(await t.sandboxRequestCount()).toBe(sent);
  expect(logged('payment.unknown_order', orderNo)).toBe(true);
});

it('acknowledges v3 and CloudPay refund results for an unknown order', async () => {
  const orderNo = newOrderNo('U');
  expect(await deliverRefund(t, signedRefundNotification(t, refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 100 })))).toBe(204);
  const answer = await invoke(t, 'refund-notify', cloudPayRefundEvent({ outTradeNo: orderNo, outRefundNo: `R${orderNo}`, refundStatus: 'SUCCESS', totalFee: 100 }));
  expect(answer.body).toEqual({ errcode: 0, errmsg: 'OK (unknown-order)' });
  expect(await orderOf(t, orderNo)).toEqual({});
  expect(logged('refund.unknown_order', orderNo)).toBe(true);
});

it('acknowledges unsuccessful payments; refuses events that are not CloudPay events at all (test/hostile-malformed-events), without writing', async () => {
  expect((await invoke(t, 'pay-notify', { returnCode: 'SUCCESS', resultCode: 'FAIL', outTradeNo: newOrderNo('U'), totalFee: 1 })).body)
    .toEqual({ errcode: 0, errmsg: 'ignored: not a successful payment' });
  expect((await invoke(t, 'pay-notify', { hello: 'world' })).body).toEqual({ errcode: 1, errmsg: 'refused: not a CloudPay payment event: returnCode is required' });
  expect((await invoke(t, 'refund-notify', { outTradeNo: 'x', refundStatus: 'MAYBE' })).body).toMatchObject({ errcode: 1, errmsg: expect.stringMatching(/^refused: not a CloudPay refund event/) });
});

it('refuses a function name that does not exist', async () => {
  const r = await invoke(t, 'no-such-function', {});
  expect(r.status).toBe(404);
});
