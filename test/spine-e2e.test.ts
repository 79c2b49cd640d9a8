/**
 * The payment spine through real HTTP on 127.0.0.1 (DESIGN.md "Shape of the system"):
 * order row (status 1) → connector unifiedOrder → sandbox prepay → sandbox "user pays" → signed, AES-GCM
 * encrypted TRANSACTION.SUCCESS notification → pay-notify callback → callModel wedaBatchUpdate → status 2.
 */
import fs from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { rsaVerify } from '../wxpay';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

let t: TestDev;
beforeAll(async () => { t = await startTestDev(); });
afterAll(async () => { await t?.close(); });

const getOrder = async (orderNo: string, envType?: 'pre' | 'prod') =>
  t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true } }, envType);

it('pays one order end to end and moves it from 1 to 2', async () => {
  const goods = await t.model('goods', 'wedaGetRecordsV2', { pageSize: 10, getCount: true });
  expect(goods.records.length).toBeGreaterThanOrEqual(3);
  const item = goods.records.find((g: any) => g.price === 1800);
  const orderNo = newOrderNo();
  const openid = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
  await t.model('orders', 'wedaCreateV2', { data: { orderNo, goodsId: item._id, goodsName: item.name, amount: item.price, status: 1, openid } });

  const prepay = await t.connector('unifiedOrder', { body: item.name, outTradeNo: orderNo, totalFee: item.price, openid });
  expect(prepay.status).toBe(200);
  const { payment, prepayId } = prepay.body;
  expect(payment.package).toBe(`prepay_id=${prepayId}`);
  expect(payment.signType).toBe('RSA');
  // paySign is the merchant's SHA256withRSA over appId\ntimeStamp\nnonceStr\npackage\n (wxpay-v3.md §5).
  const merchantKey = createPublicKey(fs.readFileSync(t.dev.info.merchant.privateKeyPath));
  const message = `${t.dev.info.merchant.appid}\n${payment.timeStamp}\n${payment.nonceStr}\n${payment.package}\n`;
  expect(rsaVerify(message, payment.paySign, merchantKey)).toBe(true);

  const before = await t.connector('queryOrder', { outTradeNo: orderNo });
  expect(before.body).toMatchObject({ outTradeNo: orderNo, tradeState: 'NOTPAY', totalFee: 1800 });
  expect((await getOrder(orderNo)).status).toBe(1);

  const paid = await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
  expect(paid.status).toBe(200);

  const order = await t.waitFor(async () => { const o = await getOrder(orderNo); return o.status === 2 && o; }, 'order status 2');
  expect(order.transactionId).toBe(paid.body.transaction_id);
  expect(typeof order.paidAt).toBe('number');
  expect(order.amount).toBe(1800);

  const after = await t.connector('queryOrder', { outTradeNo: orderNo });
  expect(after.body).toMatchObject({ tradeState: 'SUCCESS', transactionId: order.transactionId, openid });

  // The notification log (DESIGN.md contract; one shape for v3 and CloudPay entries, sandbox/delivery/view.ts).
  const log = await t.get(`${t.dev.info.baseUrl}/sandbox/notifications`);
  expect(log.status).toBe(200);
  expect(log.body).toEqual({ now: expect.any(String), notifications: expect.any(Array) });
  const mine = log.body.notifications.filter((n: any) => n.out_trade_no === orderNo);
  expect(mine).toHaveLength(1);
  expect(mine[0]).toMatchObject({
    id: expect.any(String), kind: 'v3', channel: 'http', event_type: 'TRANSACTION.SUCCESS', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\//),
    out_trade_no: orderNo, create_time: expect.any(String), status: 'delivered', nextRetryAt: null,
  });
  expect(mine[0].attempts).toEqual([{ attempt: 1, at: expect.any(String), url: mine[0].url, statusCode: 204, acked: true, latencyMs: expect.any(Number) }]);

  // The dev server writes to envType "pre" by default; "prod" is a different database.
  expect(await getOrder(orderNo, 'prod')).toEqual({});
});

it('refuses invalid input with the field and the rule, and sends nothing to WeChat Pay', async () => {
  const sent = await t.sandboxRequestCount();
  const badNo = await t.connector('unifiedOrder', { body: 'x', outTradeNo: 'bad no!', totalFee: 1, openid: 'o1' });
  expect(badNo.status).toBe(400);
  expect(badNo.body.code).toBe('PARAM_ERROR');
  expect(badNo.body.message).toContain('outTradeNo must match ^[0-9A-Za-z_\\-|*]{6,32}$');
  expect(badNo.body.detail.field).toBe('outTradeNo');

  const zero = await t.connector('unifiedOrder', { body: 'x', outTradeNo: newOrderNo(), totalFee: 0, openid: 'o1' });
  expect(zero.status).toBe(400);
  expect(zero.body.message).toMatch(/totalFee must be an integer ≥ 1/);

  const fraction = await t.connector('unifiedOrder', { body: 'x', outTradeNo: newOrderNo(), totalFee: 1.5, openid: 'o1' });
  expect(fraction.body.message).toMatch(/totalFee must be an integer ≥ 1/);

  const unknown = await t.connector('unifiedOrder', { body: 'x', outTradeNo: newOrderNo(), totalFee: 1, openid: 'o1', totalFeeYuan: 1 });
  expect(unknown.body.message).toContain('totalFeeYuan is not a known field');

  const missing = await t.connector('queryOrder', {});
  expect(missing.body.message).toContain('exactly one of outTradeNo, transactionId is required');

  const noOpenid = await t.connector('unifiedOrder', { body: 'x', outTradeNo: newOrderNo(), totalFee: 1 });
  expect(noOpenid.status).toBe(400);
  expect(noOpenid.body.detail.field).toBe('openid');

  expect(await t.sandboxRequestCount()).toBe(sent);
});
