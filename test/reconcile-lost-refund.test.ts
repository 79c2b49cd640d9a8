/**
 * Refund results that never arrived, settled by reconcile asking WeChat Pay (queryRefund): the refund completed at
 * WeChat Pay, and its notification was dropped (sandbox fault DROP) → the order goes to 4, or back to 2 with the
 * refunded total for a partial refund; a refund request that never reached WeChat Pay (WeChat Pay has no such refund,
 * asked for over 10 minutes ago) is closed, and the order is paid again. queryAfterMinutes 0: reconcile asks before the
 * sandbox retries the delivery, so what moves the order here is reconcile (its summary says so).
 */
import { invoke, PAYER, startCallbackDev, TestDev } from './helpers/callback-harness';

let t: TestDev;
beforeAll(async () => {
  t = await startCallbackDev({ refundSettleSeconds: null, callbacks: { reconcile: { queryAfterMinutes: 0 } } });
});
afterAll(async () => { await t?.close(); });
afterEach(async () => { await (await fetch(`${t.dev.info.baseUrl}/sandbox/faults`, { method: 'DELETE' })).arrayBuffer(); });

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const order = (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } } });
const refundRecord = (refundNo: string) => t.model('refunds', 'wedaGetItemV2', { filter: { where: { refundNo: { $eq: refundNo } } } });
const reconcile = async () => (await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() })).body;

async function paidOrder(price: number): Promise<string> {
  const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '年度会员', price } });
  const { orderNo } = (await t.connector('checkout', { goodsId: goods.id, openid: PAYER })).body;
  await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' });
  await t.waitFor(async () => (await order(orderNo)).status === 2, 'paid');
  return orderNo;
}

/** Asks for a refund through the app, then WeChat Pay completes it and the notification is dropped. */
async function refundedWithResultDropped(orderNo: string, refundFee?: number): Promise<string> {
  const { outRefundNo } = (await t.connector('requestRefund', { orderNo, ...(refundFee ? { refundFee } : {}) })).body;
  expect((await t.post(sandbox('/sandbox/faults'), { kind: 'DROP', event_type: 'REFUND.' })).status).toBe(200);
  expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: 'SUCCESS' })).status).toBe(200);
  const dropped = await t.waitFor(async () => (await t.get(sandbox(`/sandbox/notifications?out_refund_no=${outRefundNo}`))).body.notifications[0]?.attempts[0], 'the dropped delivery');
  expect(dropped).toMatchObject({ acked: false });
  expect((await order(orderNo)).status).toBe(3);
  return outRefundNo;
}

it('a refund of the whole amount, completed at WeChat Pay, its notification dropped → reconcile moves the order to 4', async () => {
  const orderNo = await paidOrder(1990);
  const outRefundNo = await refundedWithResultDropped(orderNo);
  const summary = await reconcile();
  expect(summary.refunding.refunded).toBe(1);
  const atWechat = (await t.get(sandbox(`/sandbox/refunds/${outRefundNo}`))).body;
  expect(await order(orderNo)).toMatchObject({ status: 4, refundedAmount: 1990, refundNo: outRefundNo, refundId: atWechat.refund_id, refundedAt: Date.parse(atWechat.success_time) });
  expect(await refundRecord(outRefundNo)).toMatchObject({ status: 'SUCCESS', amount: 1990, successTime: Date.parse(atWechat.success_time) });
});

it('a partial refund, its notification dropped → reconcile moves the order back to 2 with the refunded total', async () => {
  const orderNo = await paidOrder(1990);
  const outRefundNo = await refundedWithResultDropped(orderNo, 990);
  const summary = await reconcile();
  expect(summary.refunding.partlyRefunded).toBe(1);
  expect(await order(orderNo)).toMatchObject({ status: 2, refundedAmount: 990, refundNo: outRefundNo });
  // And the next refund, for the rest, goes through as usual.
  expect((await t.connector('requestRefund', { orderNo })).body).toMatchObject({ outRefundNo: `${orderNo}-R2`, refundFee: 1000 });
});

it('a refund request that never reached WeChat Pay: its record is closed (failReason) and the order is paid again', async () => {
  const orderNo = await paidOrder(800);
  // Every attempt fails before WeChat Pay makes a refund: the outcome is unknown, the order stays refunding.
  expect((await t.post(sandbox('/sandbox/faults'), { kind: 'SYSTEM_ERROR', path: '/v3/refund/domestic/refunds', method: 'POST', count: 3 })).status).toBe(200);
  const failed = await t.connector('requestRefund', { orderNo });
  expect(failed.body).toMatchObject({ code: 'SYSTEM_ERROR', retryable: true });
  expect(await order(orderNo)).toMatchObject({ status: 3, refundNo: `${orderNo}-R1` });
  expect(await refundRecord(`${orderNo}-R1`)).toMatchObject({ status: 'PROCESSING', amount: 800 });

  // The request might still be on its way: not yet.
  const early = await reconcile();
  expect(early.errors).toEqual([expect.objectContaining({ orderNo, step: 'refund', code: 'REFUND_NOT_EXIST' })]);
  expect(await order(orderNo)).toMatchObject({ status: 3 });

  // Past any request's timeouts and retries (the store's times follow the sandbox clock).
  expect((await t.post(sandbox('/sandbox/clock/advance'), { seconds: 11 * 60 })).status).toBe(200);
  const summary = await reconcile();
  expect(summary.refunding.reverted).toBe(1);
  expect(await order(orderNo)).toMatchObject({ status: 2, refundNo: `${orderNo}-R1` });
  expect(await refundRecord(`${orderNo}-R1`)).toMatchObject({ status: 'CLOSED', failReason: expect.stringMatching(/no such refund/) });
  expect((await t.connector('requestRefund', { orderNo })).body).toMatchObject({ outRefundNo: `${orderNo}-R2`, refundFee: 800, status: 'PROCESSING' });
});

it('a refund closed because WeChat Pay did not know it, then made after all: its SUCCESS still counts', async () => {
  const orderNo = await paidOrder(600);
  expect((await t.post(sandbox('/sandbox/faults'), { kind: 'SYSTEM_ERROR', path: '/v3/refund/domestic/refunds', method: 'POST', count: 3 })).status).toBe(200);
  expect((await t.connector('requestRefund', { orderNo, refundFee: 200 })).body).toMatchObject({ code: 'SYSTEM_ERROR' });
  expect((await t.post(sandbox('/sandbox/clock/advance'), { seconds: 11 * 60 })).status).toBe(200);
  await reconcile();
  expect(await refundRecord(`${orderNo}-R1`)).toMatchObject({ status: 'CLOSED' });
  expect(await order(orderNo)).toMatchObject({ status: 2 });

  // The same refund number reaches WeChat Pay late (a retry from somewhere), and succeeds.
  expect((await t.connector('refund', { outTradeNo: orderNo, outRefundNo: `${orderNo}-R1`, totalFee: 600, refundFee: 200 })).status).toBe(200);
  expect((await t.post(sandbox(`/sandbox/refunds/${orderNo}-R1/settle`), { status: 'SUCCESS' })).status).toBe(200);
  await t.waitFor(async () => (await order(orderNo)).refundedAmount === 200, 'the refund counted');
  expect(await order(orderNo)).toMatchObject({ status: 2, refundedAmount: 200 });
  expect(await refundRecord(`${orderNo}-R1`)).toMatchObject({ status: 'SUCCESS', amount: 200 });
});
