/**
 * The spine with the CloudPay backend, as the WeDa built-in connector runs: unifiedOrder through the
 * sandbox's CloudPay emulation, payment → CloudPay invokes the pay callback *function* with its camelCase
 * event → status 2; refund → the app marks 3 → settle → refund callback function → status 4.
 */
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

let t: TestDev;
beforeAll(async () => { t = await startTestDev({ seedGoods: false, provider: 'cloudpay' }); });
afterAll(async () => { await t?.close(); });

const getOrder = async (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } } });

it('pays and refunds one order end to end through CloudPay', async () => {
  expect(t.dev.info.devServer.provider).toBe('cloudpay');
  const orderNo = newOrderNo('CP');
  await t.model('orders', 'wedaCreateV2', { data: { orderNo, amount: 1800, status: 1 } });

  const prepay = await t.connector('unifiedOrder', { body: '咖啡券', outTradeNo: orderNo, totalFee: 1800, openid: 'o-cloudpay' });
  expect(prepay.status).toBe(200);
  expect(prepay.body.payment).toMatchObject({ signType: 'MD5', package: `prepay_id=${prepay.body.prepayId}` });

  await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
  const paid = await t.waitFor(async () => { const o = await getOrder(orderNo); return o.status === 2 && o; }, 'status 2 via the CloudPay callback');
  expect(paid.transactionId).toMatch(/^4200/);

  // The callback function answered {errcode: 0}: CloudPay logged one acknowledged delivery.
  const log = await t.get(`${t.dev.info.baseUrl}/sandbox/notifications?out_trade_no=${orderNo}`);
  const deliveries = log.body.notifications.filter((n: any) => n.kind === 'cloudpay');
  expect(deliveries).toHaveLength(1);
  expect(deliveries[0].status).toBe('delivered');

  const outRefundNo = `R${orderNo}`.slice(0, 32);
  const refund = await t.connector('refund', { outTradeNo: orderNo, outRefundNo, totalFee: 1800, refundFee: 1800, refundDesc: '测试退款' });
  expect(refund.body).toMatchObject({ status: 'PROCESSING', refundFee: 1800 });
  // The template app's refund button moves 2 → 3 after the refund is accepted (compare-and-set).
  const marked = await t.model('orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: orderNo }, { key: 'status', rel: 'eq', val: 2 }], record: { status: 3, refundNo: outRefundNo } });
  expect(marked.updated).toBe(1);

  await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${outRefundNo}/settle`, { status: 'SUCCESS' });
  const refunded = await t.waitFor(async () => { const o = await getOrder(orderNo); return o.status === 4 && o; }, 'status 4 via the CloudPay refund callback');
  expect(refunded.refundAmount).toBe(1800);
  expect((await t.connector('queryRefund', { outRefundNo })).body.status).toBe('SUCCESS');
});
