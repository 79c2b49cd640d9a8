/**
 * Partial and repeated refunds (WeChat Pay: up to 50 refunds per order, together at most its amount,
 * wxpay-v3.md §1.4), end to end on both backends: requestRefund through the dev server's connector, the sandbox
 * settles, its notification (v3 REFUND.*, or the CloudPay refund event confirmed by queryRefund) reaches the
 * generated refund-notify, and the order and the refunds model say what happened to the money. Before, a second
 * refund's result was taken for a duplicate of the first and lost.
 */
import { startCallbackDev, TestDev } from './helpers/callback-harness';

const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

describe.each(['v3', 'cloudpay'] as const)('partial refunds on %s', (provider) => {
  let t: TestDev;
  beforeAll(async () => {
    t = await startCallbackDev({ provider, refundSettleSeconds: null });
  });
  afterAll(async () => { await t?.close(); });

  const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
  const order = (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true } });
  const refundRecords = async (orderNo: string): Promise<any[]> =>
    (await t.model('refunds', 'wedaGetRecordsV2', { filter: { where: { orderNo: { $eq: orderNo } } }, orderBy: [{ createdAt: 'asc' }], pageSize: 100 })).records;

  async function paidOrder(price: number): Promise<string> {
    const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '咖啡券', price, stock: 10 } });
    const { orderNo } = (await t.connector('checkout', { goodsId: goods.id, openid: OPENID })).body;
    expect((await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' })).status).toBe(200);
    await t.waitFor(async () => (await order(orderNo)).status === 2, `order ${orderNo} paid`);
    return orderNo;
  }

  async function refund(orderNo: string, refundFee?: number): Promise<string> {
    const res = await t.connector('requestRefund', { orderNo, ...(refundFee !== undefined ? { refundFee } : {}) });
    expect(res.status).toBe(200);
    expect((await order(orderNo)).status).toBe(3);
    return res.body.outRefundNo;
  }

  async function settle(outRefundNo: string, status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'): Promise<void> {
    expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status })).status).toBe(200);
  }

  const settled = (orderNo: string, status: number, refundedAmount: number) =>
    t.waitFor(async () => { const o = await order(orderNo); return o.status === status && (o.refundedAmount ?? 0) === refundedAmount && o; }, `order ${orderNo}: status ${status}, refundedAmount ${refundedAmount}`);

  it('300 then 700 of 1000: partly refunded (2) after the first, refunded (4) after the second, both refunds kept', async () => {
    const orderNo = await paidOrder(1000);
    const first = await refund(orderNo, 300);
    expect(first).toBe(`${orderNo}-R1`);
    await settle(first, 'SUCCESS');
    const partly = await settled(orderNo, 2, 300);
    expect(partly).toMatchObject({ refundNo: first, refundAmount: 300 });

    const second = await refund(orderNo);
    expect(second).toBe(`${orderNo}-R2`);
    expect((await t.get(sandbox(`/sandbox/refunds/${second}`))).body.amount.refund).toBe(700);
    await settle(second, 'SUCCESS');
    const refunded = await settled(orderNo, 4, 1000);
    expect(refunded).toMatchObject({ refundNo: second, refundAmount: 700 });

    const records = await refundRecords(orderNo);
    const atWechat = await Promise.all([first, second].map(async (no) => (await t.get(sandbox(`/sandbox/refunds/${no}`))).body));
    expect(records).toEqual([
      expect.objectContaining({ refundNo: first, orderNo, amount: 300, status: 'SUCCESS', refundId: atWechat[0].refund_id, successTime: Date.parse(atWechat[0].success_time) }),
      expect.objectContaining({ refundNo: second, orderNo, amount: 700, status: 'SUCCESS', refundId: atWechat[1].refund_id, successTime: Date.parse(atWechat[1].success_time) }),
    ]);
    // Nothing is left to refund.
    expect((await t.connector('requestRefund', { orderNo })).body).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/already refunded/) });
  });

  it('300 of 1000 only: back to 2 with refundedAmount 300, and 700 is what is left to refund', async () => {
    const orderNo = await paidOrder(1000);
    const first = await refund(orderNo, 300);
    await settle(first, 'SUCCESS');
    await settled(orderNo, 2, 300);
    const tooMuch = await t.connector('requestRefund', { orderNo, refundFee: 701 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.message).toMatch(/701 fen is more than order \S+ has left to refund \(1000 fen, 300 already refunded: 700 left\)/);
    expect(await order(orderNo)).toMatchObject({ status: 2, refundedAmount: 300 });
  });

  it('a refund that closes after a partial one puts the order back to 2 with the total unchanged', async () => {
    const orderNo = await paidOrder(1000);
    const first = await refund(orderNo, 400);
    await settle(first, 'SUCCESS');
    await settled(orderNo, 2, 400);
    const second = await refund(orderNo, 100);
    await settle(second, 'CLOSED');
    await t.waitFor(async () => (await order(orderNo)).status === 2, 'order paid again');
    expect(await order(orderNo)).toMatchObject({ status: 2, refundedAmount: 400, refundNo: second, refundAmount: 400 });
    expect((await refundRecords(orderNo)).map((r) => [r.refundNo, r.amount, r.status])).toEqual([[first, 400, 'SUCCESS'], [second, 100, 'CLOSED']]);
    // The closed refund's number was used: the next one is R3, for all that is left.
    expect((await t.connector('requestRefund', { orderNo })).body).toMatchObject({ outRefundNo: `${orderNo}-R3`, refundFee: 600 });
  });
});
