/**
 * requestRefund (按订单申请退款) on both backends, through the dev server's `POST /connector/requestRefund` with the
 * real SQLite store and the sandbox over HTTP: a paid order is claimed (2 → 3, compare-and-set) before WeChat Pay is
 * asked, and the refund written to the refunds model under `{orderNo}-R{n}` (n from the order's refunds); what is
 * left to refund is the amount minus the refunded total minus the refunds in flight; what cannot be refunded is
 * refused with nothing sent and the order unchanged; two concurrent requests make one refund; a refusal by WeChat
 * Pay closes the refund's record and puts the order back to paid.
 */
import { createConnector, createProvider } from '../connector';
import { newOrderNo, nextRefundNo } from '../connector/server-methods';
import type { CallModelParams } from '../datasources/weda';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import { startCallbackDev, TestDev } from './helpers/callback-harness';

const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

describe.each(['v3', 'cloudpay'] as const)('requestRefund on %s', (provider) => {
  let t: TestDev;
  const cloudPayRefunds: string[] = [];
  beforeAll(async () => {
    t = await startCallbackDev({ provider, log: (line) => { if (/^cloudpay refund →/.test(line)) cloudPayRefunds.push(line); } });
  });
  afterAll(async () => { await t?.close(); });
  // A fault a test did not use up must not hit the next one.
  afterEach(async () => { await (await fetch(`${t.dev.info.baseUrl}/sandbox/faults`, { method: 'DELETE' })).arrayBuffer(); });

  const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
  const order = (orderNo: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true } });
  const refundsOf = async (orderNo: string): Promise<any[]> => (await t.get(sandbox(`/sandbox/refunds?out_trade_no=${orderNo}`))).body.refunds;
  /** The order's records in the refunds model, oldest first. */
  const refundRecords = async (orderNo: string): Promise<any[]> =>
    (await t.model('refunds', 'wedaGetRecordsV2', { filter: { where: { orderNo: { $eq: orderNo } } }, orderBy: [{ createdAt: 'asc' }], pageSize: 100 })).records;
  /** Refund requests that reached WeChat Pay (the sandbox): v3 POSTs to the refunds API, CloudPay refund calls. */
  const refundRequestsSent = async (): Promise<number> => {
    const requests: any[] = (await t.get(sandbox('/sandbox/requests'))).body.requests;
    return requests.filter((r) => r.method === 'POST' && String(r.url).startsWith('/v3/refund/domestic/refunds')).length + cloudPayRefunds.length;
  };

  /** A paid order of `price` fen, bought through checkout and paid in the sandbox (the callback marks it 2). */
  async function paidOrder(price: number): Promise<string> {
    const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '咖啡券', price, stock: 10 } });
    const placed = await t.connector('checkout', { goodsId: goods.id, openid: OPENID });
    expect(placed.status).toBe(200);
    const { orderNo } = placed.body;
    expect((await t.post(sandbox(`/sandbox/transactions/${orderNo}/pay`), { result: 'SUCCESS' })).status).toBe(200);
    await t.waitFor(async () => (await order(orderNo)).status === 2, `order ${orderNo} paid`);
    return orderNo;
  }

  it('claims the paid order (2 → 3), refunds under the derived number, and the notification settles it (part: → 2, the rest: → 4)', async () => {
    const orderNo = await paidOrder(1800);
    const res = await t.connector('requestRefund', { orderNo, refundFee: 500, reason: '不想要了' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ orderNo, outRefundNo: `${orderNo}-R1`, refundFee: 500, status: 'PROCESSING' });
    expect(await order(orderNo)).toMatchObject({ status: 3, refundNo: `${orderNo}-R1`, amount: 1800 });
    const refunds = await refundsOf(orderNo);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ out_refund_no: `${orderNo}-R1`, out_trade_no: orderNo, status: 'PROCESSING', amount: { refund: 500, total: 1800 }, _sandbox: { reason: '不想要了' } });
    // The refund's record, written before WeChat Pay was asked, with WeChat Pay's refund id from its answer.
    expect(await refundRecords(orderNo)).toEqual([expect.objectContaining({ refundNo: `${orderNo}-R1`, orderNo, amount: 500, status: 'PROCESSING', reason: '不想要了', refundId: refunds[0].refund_id })]);

    expect((await t.post(sandbox(`/sandbox/refunds/${orderNo}-R1/settle`), { status: 'SUCCESS' })).status).toBe(200);
    const partly = await t.waitFor(async () => { const o = await order(orderNo); return o.status === 2 && o.refundedAmount === 500 && o; }, 'order partly refunded (status 2, refundedAmount 500)');
    expect(partly).toMatchObject({ refundNo: `${orderNo}-R1`, refundAmount: 500 });

    const rest = await t.connector('requestRefund', { orderNo });
    expect(rest.body).toEqual({ orderNo, outRefundNo: `${orderNo}-R2`, refundFee: 1300, status: 'PROCESSING' });
    expect((await t.post(sandbox(`/sandbox/refunds/${orderNo}-R2/settle`), { status: 'SUCCESS' })).status).toBe(200);
    const refunded = await t.waitFor(async () => { const o = await order(orderNo); return o.status === 4 && o; }, 'order refunded (status 4)');
    expect(refunded).toMatchObject({ refundNo: `${orderNo}-R2`, refundAmount: 1300, refundedAmount: 1800 });
    expect((await refundRecords(orderNo)).map((r) => [r.refundNo, r.amount, r.status])).toEqual([[`${orderNo}-R1`, 500, 'SUCCESS'], [`${orderNo}-R2`, 1300, 'SUCCESS']]);
  });

  it('refunds all that is left by default: the amount minus what the order says was already refunded', async () => {
    const orderNo = await paidOrder(1800);
    // An earlier refund recorded on the order (refundedAmount is written when a refund succeeds).
    await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo } } }, data: { refundedAmount: 1000 } });
    const sent = await refundRequestsSent();
    const tooMuch = await t.connector('requestRefund', { orderNo, refundFee: 900 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body).toMatchObject({ code: 'INVALID_REQUEST', retryable: false, detail: { field: 'refundFee', issue: 'must be ≤ 800 fen (the order amount minus what was already refunded)' } });
    expect(await refundRequestsSent()).toBe(sent);
    expect(await order(orderNo)).toMatchObject({ status: 2 });

    const res = await t.connector('requestRefund', { orderNo });
    expect(res.body).toMatchObject({ outRefundNo: `${orderNo}-R1`, refundFee: 800 });
    expect((await refundsOf(orderNo))[0].amount).toMatchObject({ refund: 800, total: 1800 });
  });

  it('leaves out what is being refunded: the amount minus the refunded total minus the refunds in PROCESSING', async () => {
    const orderNo = await paidOrder(1800);
    // A refund WeChat Pay is still processing (made in the merchant console, found by reconcile) while the order is paid.
    await t.model('refunds', 'wedaCreateV2', { data: { refundNo: `CONSOLE${orderNo}`, orderNo, amount: 600, status: 'PROCESSING' } });
    await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo } } }, data: { refundedAmount: 200 } });
    const tooMuch = await t.connector('requestRefund', { orderNo, refundFee: 1001 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.message).toMatch(/1001 fen is more than order \S+ has left to refund \(1800 fen, 200 already refunded, 600 being refunded: 1000 left\)/);
    expect(tooMuch.body.detail.issue).toBe('must be ≤ 1000 fen (the order amount minus what was already refunded or is being refunded)');
    // The console refund counts: this one is the order's second.
    expect((await t.connector('requestRefund', { orderNo })).body).toEqual({ orderNo, outRefundNo: `${orderNo}-R2`, refundFee: 1000, status: 'PROCESSING' });
  });

  it('refuses a 51st refund: WeChat Pay takes at most 50 per order', async () => {
    const orderNo = await paidOrder(1800);
    for (let n = 1; n <= 50; n++) await t.model('refunds', 'wedaCreateV2', { data: { refundNo: `${orderNo}-R${n}`, orderNo, amount: 1, status: 'CLOSED' } });
    const sent = await refundRequestsSent();
    const refused = await t.connector('requestRefund', { orderNo, refundFee: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'INVALID_REQUEST', detail: { field: 'orderNo', issue: 'at most 50 refunds per order' } });
    expect(refused.body.message).toMatch(/has had 50 refunds, the most WeChat Pay takes for one order \(50\)/);
    expect(await refundRequestsSent()).toBe(sent);
    expect(await order(orderNo)).toMatchObject({ status: 2 });
  });

  describe('refused with nothing sent and the order unchanged', () => {
    let paid: string;
    let unpaid: string;
    beforeAll(async () => {
      paid = await paidOrder(300);
      const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '微搭贴纸', price: 300 } });
      unpaid = (await t.connector('checkout', { goodsId: goods.id, openid: OPENID })).body.orderNo;
    });

    const cases: Array<[what: string, params: () => Record<string, unknown>, status: number, code: string, field: string, message: RegExp]> = [
      ['an order that is not paid', () => ({ orderNo: unpaid }), 400, 'INVALID_REQUEST', 'orderNo', /order \S+ is not paid; only a paid order \(status 2\) can be refunded/],
      ['an unknown order', () => ({ orderNo: 'NO_SUCH_ORDER_1' }), 404, 'ORDER_NOT_EXIST', 'orderNo', /no order NO_SUCH_ORDER_1 in model orders \(pre\)/],
      ['a fee larger than what remains', () => ({ orderNo: paid, refundFee: 301 }), 400, 'INVALID_REQUEST', 'refundFee', /301 fen is more than order \S+ has left to refund \(300 fen, 0 already refunded: 300 left\)/],
      ['a zero fee', () => ({ orderNo: paid, refundFee: 0 }), 400, 'PARAM_ERROR', 'refundFee', /refundFee must be an integer ≥ 1/],
      ['a fractional fee', () => ({ orderNo: paid, refundFee: 1.5 }), 400, 'PARAM_ERROR', 'refundFee', /refundFee must be an integer ≥ 1/],
      ['a malformed order number', () => ({ orderNo: 'no!' }), 400, 'PARAM_ERROR', 'orderNo', /orderNo must match/],
      ['a missing order number', () => ({ refundFee: 1 }), 400, 'PARAM_ERROR', 'orderNo', /orderNo is required/],
      ['a refund number from the client', () => ({ orderNo: paid, outRefundNo: 'R1' }), 400, 'PARAM_ERROR', 'outRefundNo', /outRefundNo is not a known field/],
      ['a reason over 80 characters', () => ({ orderNo: paid, reason: '退'.repeat(81) }), 400, 'PARAM_ERROR', 'reason', /reason must be at most 80 characters/],
    ];

    it.each(cases)('%s', async (_what, params, status, code, field, message) => {
      const before = { paid: await order(paid), unpaid: await order(unpaid) };
      const sent = await refundRequestsSent();
      const res = await t.connector('requestRefund', params());
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, retryable: false, detail: expect.objectContaining({ field }) });
      expect(res.body.message).toMatch(message);
      expect(await refundRequestsSent()).toBe(sent);
      expect(await order(paid)).toEqual(before.paid);
      expect(await order(unpaid)).toEqual(before.unpaid);
      expect(await refundsOf(paid)).toEqual([]);
    });
  });

  it('makes one refund of two concurrent requests; the other is told a refund is in progress', async () => {
    const orderNo = await paidOrder(1200);
    const sent = await refundRequestsSent();
    const answers = await Promise.all([t.connector('requestRefund', { orderNo }), t.connector('requestRefund', { orderNo })]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
    const refused = answers.find((a) => a.status === 400)!;
    expect(refused.body).toMatchObject({ code: 'INVALID_REQUEST', detail: { field: 'orderNo' } });
    expect(refused.body.message).toMatch(/has a refund in progress/);
    expect(await refundRequestsSent()).toBe(sent + 1);
    const refunds = await refundsOf(orderNo);
    expect(refunds.map((r) => [r.out_refund_no, r.amount.refund])).toEqual([[`${orderNo}-R1`, 1200]]);
    expect(await order(orderNo)).toMatchObject({ status: 3, refundNo: `${orderNo}-R1` });
  });

  it('lets only one of two requests that both saw the order paid claim it (the compare-and-set decides)', async () => {
    const orderNo = await paidOrder(1500);
    // Both requests read the order (status 2) before either writes: the claim's where is what separates them.
    const waiting: Array<() => void> = [];
    let released = false;
    const barrier = () => new Promise<void>((resolve) => {
      if (released) return resolve();
      waiting.push(resolve);
      if (waiting.length === 2) { released = true; waiting.forEach((go) => go()); }
    });
    const weda = {
      async callModel(p: CallModelParams) {
        const result = await t.dev.weda.callModel(p);
        if (p.name === 'orders' && p.methodName === 'wedaGetItemV2') await barrier();
        return result;
      },
    };
    const provider = createProvider(t.dev.resolved, { cloudPay: createHttpCloudPay(t.dev.info.baseUrl) });
    const connector = createConnector(provider, { retry: { maxRetries: 0, baseDelayMs: 0 }, models: { weda, binding: t.dev.resolved.orders } });
    const sent = await refundRequestsSent();
    const outcomes = await Promise.allSettled([connector.call('requestRefund', { orderNo }), connector.call('requestRefund', { orderNo })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    expect(lost.reason).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/has a refund in progress/) });
    expect(await refundRequestsSent()).toBe(sent + 1);
    expect((await refundsOf(orderNo)).map((r) => r.out_refund_no)).toEqual([`${orderNo}-R1`]);
  });

  it('puts the order back to paid when WeChat Pay refuses, and the next request is a new refund', async () => {
    const orderNo = await paidOrder(700);
    expect((await t.post(sandbox('/sandbox/faults'), { kind: 'NOT_ENOUGH', path: '/v3/refund/domestic/refunds' })).status).toBe(200);
    const refused = await t.connector('requestRefund', { orderNo });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'NOT_ENOUGH', retryable: false, detail: { orderNo, outRefundNo: `${orderNo}-R1` } });
    expect(refused.body.message).toMatch(/the order is paid again \(status 2\)/);
    expect(await order(orderNo)).toMatchObject({ status: 2, refundNo: `${orderNo}-R1` });
    expect(await refundsOf(orderNo)).toEqual([]);
    // The refused request is kept, closed, with WeChat Pay's reason: its number was used.
    expect(await refundRecords(orderNo)).toEqual([expect.objectContaining({ refundNo: `${orderNo}-R1`, amount: 700, status: 'CLOSED', failReason: expect.stringMatching(/^NOT_ENOUGH: /) })]);

    const again = await t.connector('requestRefund', { orderNo });
    expect(again.body).toEqual({ orderNo, outRefundNo: `${orderNo}-R2`, refundFee: 700, status: 'PROCESSING' });
    expect(await order(orderNo)).toMatchObject({ status: 3, refundNo: `${orderNo}-R2` });
  });

  it('leaves the order refunding when the outcome is unknown, and says the error is retryable', async () => {
    const orderNo = await paidOrder(900);
    // One SYSTEM_ERROR per attempt: the dev server's connector tries three times (retry.maxRetries 2).
    expect((await t.post(sandbox('/sandbox/faults'), { kind: 'SYSTEM_ERROR', path: '/v3/refund/domestic/refunds', count: 3 })).status).toBe(200);
    const failed = await t.connector('requestRefund', { orderNo });
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ code: 'SYSTEM_ERROR', retryable: true, detail: { orderNo, outRefundNo: `${orderNo}-R1`, attempts: 3 } });
    expect(failed.body.message).toMatch(/the order stays refunding \(status 3\) until the refund notification or reconcile settles it/);
    expect(await order(orderNo)).toMatchObject({ status: 3, refundNo: `${orderNo}-R1` });
    const second = await t.connector('requestRefund', { orderNo });
    expect(second.body).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/has a refund in progress/) });
  });

  it('after a refund closes (3 → 2 by its notification), the next request uses the next number', async () => {
    const orderNo = await paidOrder(400);
    expect((await t.connector('requestRefund', { orderNo })).body.outRefundNo).toBe(`${orderNo}-R1`);
    expect((await t.post(sandbox(`/sandbox/refunds/${orderNo}-R1/settle`), { status: 'CLOSED' })).status).toBe(200);
    await t.waitFor(async () => (await order(orderNo)).status === 2, 'order paid again (status 2)');
    const again = await t.connector('requestRefund', { orderNo });
    expect(again.body).toEqual({ orderNo, outRefundNo: `${orderNo}-R2`, refundFee: 400, status: 'PROCESSING' });
    expect((await refundsOf(orderNo)).map((r) => [r.out_refund_no, r.status]).sort()).toEqual([[`${orderNo}-R1`, 'CLOSED'], [`${orderNo}-R2`, 'PROCESSING']]);
  });
});

describe('the numbers the server makes', () => {
  it('order numbers: China time, then 10 random characters, inside out_trade_no\'s pattern', () => {
    const at = Date.parse('2024-03-01T12:00:05+08:00');
    const numbers = Array.from({ length: 200 }, () => newOrderNo(at));
    for (const n of numbers) expect(n).toMatch(/^20240301120005[0-9A-Z]{10}$/);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('refund numbers: {orderNo}-R{n}, one more than the refunds the order has, ≤ 64 characters', () => {
    expect(nextRefundNo('ORDER000001', 0)).toBe('ORDER000001-R1');
    expect(nextRefundNo('ORDER000001', 1)).toBe('ORDER000001-R2');
    expect(nextRefundNo('ORDER000001', 9)).toBe('ORDER000001-R10');
    // The 50th refund, the most WeChat Pay takes for one order, of the longest order number.
    const longest = nextRefundNo('x'.repeat(32), 49);
    expect(longest).toBe(`${'x'.repeat(32)}-R50`);
    expect(longest).toMatch(/^[0-9A-Za-z_\-|*@]{1,64}$/);
  });
});
