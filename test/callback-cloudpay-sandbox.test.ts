/**
 * CloudPay events delivered by the sandbox's CloudPay emulation, not hand-made: the dev server's pay-notify and
 * refund-notify are registered as the cloud functions named at unifiedOrder / refund; the sandbox invokes them
 * with the §5.4 / §5.5 events and redelivers until they return `{errcode: 0}`. Confirmation (queryOrder /
 * queryRefund) goes to the same sandbox state through the v3 API.
 */
import { createSandboxCloudPay, CloudPayApi } from '../sandbox/cloudpay/client';
import { registerFunction } from './helpers/cloudpay-functions';
import { createOrder, orderOf, startCallbackDev, TestDev } from './helpers/callback-harness';

const ENV = 'cloud1-weda';
let t: TestDev;
let cloudPay: CloudPayApi;
beforeAll(async () => {
  t = await startCallbackDev();
  cloudPay = createSandboxCloudPay(t.dev.info.baseUrl);
  await registerFunction(t.dev.info, ENV, 'wxpay-pay-notify', `${t.dev.info.devServer.functions}/wxpay-pay-notify`);
  await registerFunction(t.dev.info, ENV, 'wxpay-refund-notify', `${t.dev.info.devServer.functions}/wxpay-refund-notify`);
});
afterAll(async () => { await t?.close(); });

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const deliveries = async (query: string) => ((await t.get(sandbox(`/sandbox/cloudpay/notifications?${query}`))).body.notifications as any[]);

it('pays and refunds an order through CloudPay events the sandbox delivers to the functions', async () => {
  const orderNo = await createOrder(t, 1800);
  const placed = await cloudPay.unifiedOrder({
    subMchId: t.dev.info.merchant.mchid, envId: ENV, functionName: 'wxpay-pay-notify', body: '咖啡券', outTradeNo: orderNo, totalFee: 1800, spbillCreateIp: '127.0.0.1',
  });
  expect(placed.resultCode).toBe('SUCCESS');
  const paid = await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' });
  expect(paid.status).toBe(200);

  const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 2 && o; }, 'order paid by the CloudPay event');
  expect(order).toMatchObject({ transactionId: paid.body.transaction_id, openid: paid.body.payer.openid });
  const [payment] = await t.waitFor(async () => { const d = await deliveries(`out_trade_no=${orderNo}`); return d[0]?.status === 'delivered' && d; }, 'payment delivery logged');
  expect(payment.attempts.map((a: any) => a.responseBody)).toEqual(['{"errcode":0,"errmsg":"OK"}']);

  // Refund through CloudPay; the app marks the order refunding when the refund is accepted.
  const outRefundNo = `R${orderNo}`;
  const refund = await cloudPay.refund({
    subMchId: t.dev.info.merchant.mchid, envId: ENV, functionName: 'wxpay-refund-notify', outTradeNo: orderNo, outRefundNo, totalFee: 1800, refundFee: 1800,
  });
  expect(refund.resultCode).toBe('SUCCESS');
  await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo }, status: { $eq: 2 } } }, data: { status: 3, refundNo: outRefundNo } });
  expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: 'SUCCESS' })).status).toBe(200);

  const refunded = await t.waitFor(async () => { const o = await orderOf(t, orderNo); return o.status === 4 && o; }, 'order refunded by the CloudPay event');
  expect(refunded).toMatchObject({ refundNo: outRefundNo, refundAmount: 1800 });
});

it('a CloudPay refund event that outruns the payment is answered errcode ≠ 0 and applied on redelivery', async () => {
  const orderNo = await createOrder(t, 500);
  await cloudPay.unifiedOrder({ subMchId: t.dev.info.merchant.mchid, envId: ENV, functionName: 'unregistered-fn', body: 'x', outTradeNo: orderNo, totalFee: 500, spbillCreateIp: '127.0.0.1' });
  // The payment event goes to a function nobody registered: the order stays 1 here.
  await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' });
  const outRefundNo = `R${orderNo}`;
  await cloudPay.refund({ subMchId: t.dev.info.merchant.mchid, envId: ENV, functionName: 'wxpay-refund-notify', outTradeNo: orderNo, outRefundNo, totalFee: 500, refundFee: 500 });
  await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: 'SUCCESS' });

  const refundDelivery = async () => (await deliveries(`out_trade_no=${orderNo}`)).find((d) => d.out_refund_no === outRefundNo);
  const first = await t.waitFor(async () => { const d = await refundDelivery(); return d?.attempts.length >= 1 && d; }, 'the first refund delivery');
  expect(JSON.parse(first.attempts[0].responseBody).errcode).not.toBe(0);
  expect(first.status).toBe('pending');
  expect((await orderOf(t, orderNo)).status).toBe(1);

  // Now the payment is recorded (here by hand: its function was missing), and the next redelivery applies the refund.
  await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo }, status: { $eq: 1 } } }, data: { status: 2 } });
  await t.post(sandbox('/sandbox/clock/advance'), { seconds: 20 });
  await t.waitFor(async () => (await orderOf(t, orderNo)).status === 4, 'order refunded on redelivery');
  const done = await t.waitFor(async () => { const d = await refundDelivery(); return d?.status === 'delivered' && d; }, 'refund delivery acknowledged');
  expect(done.attempts.map((a: any) => JSON.parse(a.responseBody).errcode)).toEqual([1, 0]);
});
