/**
 * Built functions for a `provider: "cloudpay"` configuration, in fresh Node processes: CloudPay calls
 * (confirmation, reconcile) go to the sandbox's CloudPay emulation (WEDA_WXPAY_CLOUDPAY_URL stands in for
 * wx-server-sdk's cloud.cloudPay), orders live in a SQLite store dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import type { CloudPayApi } from '../connector';
import { createOldOrders, createOrder, newOrderNo, orderOf, startCallbackDev, TestDev } from './helpers/callback-harness';
import { buildInto, runFunction } from './helpers/callback-bundle';

const ENV = 'cloud1-weda';
let t: TestDev;
let cloudPay: CloudPayApi;
let built: Awaited<ReturnType<typeof buildInto>>;
let env: Record<string, string>;
const dirOf = (kind: string) => built.functions.find((f) => f.kind === kind)!.dir;

beforeAll(async () => {
  t = await startCallbackDev();
  cloudPay = createHttpCloudPay(t.dev.info.baseUrl);
  built = await buildInto({
    provider: 'cloudpay', appid: t.dev.info.merchant.appid, subMchId: t.dev.info.merchant.mchid, envType: 'pre',
    cloudpay: { envId: ENV, payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
  });
  env = { WEDA_WXPAY_STORE: `sqlite:${path.join(t.dataDir, 'models')}`, WEDA_WXPAY_CLOUDPAY_URL: t.dev.info.baseUrl };
}, 60_000);
afterAll(async () => {
  built?.cleanup();
  await t?.close();
});

const place = (outTradeNo: string, totalFee: number) => cloudPay.unifiedOrder({
  subMchId: t.dev.info.merchant.mchid, envId: ENV, functionName: 'not-registered', body: 'x', outTradeNo, totalFee, spbillCreateIp: '127.0.0.1',
});

it('writes no secrets for CloudPay (it has none) and depends on wx-server-sdk', () => {
  expect(built.cloudbaserc.functions.every((f) => Object.keys(f.envVariables).length === 0)).toBe(true);
  for (const f of built.functions) {
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(f.dir, 'package.json'), 'utf8')).dependencies).sort()).toEqual(['@cloudbase/node-sdk', 'wx-server-sdk']);
  }
});

it('pay-notify confirms a CloudPay event with cloudPay.queryOrder before marking the order paid', async () => {
  const orderNo = await createOrder(t, 880);
  expect((await place(orderNo, 880)).resultCode).toBe('SUCCESS');
  const event = {
    returnCode: 'SUCCESS', resultCode: 'SUCCESS', subMchId: t.dev.info.merchant.mchid, outTradeNo: orderNo, totalFee: 880, cashFee: 880,
    transactionId: '4200000000000000000000000077', subOpenid: 'o-cp', timeEnd: '20240301120005',
  };
  // Not paid at WeChat Pay yet: not applied, asked for again.
  const early = await runFunction(dirOf('pay-notify'), event, env);
  expect(early.result.errcode).not.toBe(0);
  expect(early.result.errmsg).toMatch(/queryOrder says NOTPAY/);
  expect((await orderOf(t, orderNo)).status).toBe(1);

  const paid = await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
  // Paid now, but the event names another payer than queryOrder does: not WeChat Pay's event, refused.
  const otherPayer = await runFunction(dirOf('pay-notify'), { ...event, transactionId: paid.body.transaction_id }, env);
  expect(otherPayer.result).toEqual({ errcode: 1, errmsg: "refused: the event's payer openid is not WeChat Pay's (queryOrder)" });
  expect((await orderOf(t, orderNo)).status).toBe(1);
  const run = await runFunction(dirOf('pay-notify'), { ...event, transactionId: paid.body.transaction_id, subOpenid: paid.body.payer.openid }, env);
  expect(run.result).toEqual({ errcode: 0, errmsg: 'OK' });
  expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, transactionId: paid.body.transaction_id, openid: paid.body.payer.openid });
});

it('reconcile finds a lost CloudPay payment and closes a stale one (after the 5-minute rule)', async () => {
  const lost = newOrderNo('CPL');
  const stale = newOrderNo('CPS');
  await createOldOrders(t, 45, [{ orderNo: lost, amount: 300, status: 1 }, { orderNo: stale, amount: 300, status: 1 }]);
  await place(lost, 300);
  await place(stale, 300);
  await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${lost}/pay`, { result: 'SUCCESS' });
  // CloudPay refuses to close an order younger than 5 minutes (sandbox clock).
  await t.post(`${t.dev.info.baseUrl}/sandbox/clock/advance`, { seconds: 360 });
  const run = await runFunction(dirOf('reconcile'), { Type: 'Timer' }, env);
  expect(run.result.errors).toEqual([]);
  expect((await orderOf(t, lost)).status).toBe(2);
  expect(await orderOf(t, stale)).toMatchObject({ status: 1, closedAt: expect.any(Number) });
  expect((await cloudPay.queryOrder({ subMchId: t.dev.info.merchant.mchid, outTradeNo: stale })).tradeState).toBe('CLOSED');
});
