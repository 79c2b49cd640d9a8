/**
 * Refund results delivered twice, late, or out of order: idempotency is per refund number (the refund's record
 * moves on by a compare-and-set on its status) and the order counts its SUCCESS refunds, so the money is counted
 * once, and a second refund is never taken for a duplicate of the first. Refunds are real sandbox ones; their
 * notifications go to a sink and are delivered here in the order each test needs (or, where said, by the sandbox
 * with a DUPLICATE fault), v3 notifications exactly as WeChat Pay sent them and CloudPay events confirmed by queryRefund.
 */
import {
  cloudPayPaymentEvent, cloudPayRefundEvent, cloudPayRefundEventFor, createOrder, invoke, orderOf, placeAndPay,
  startCallbackDev, Sink, TestDev, withSinkDev,
} from './helpers/callback-harness';
import type { Connector } from '../connector';

let t: TestDev;
let sink: Sink;
let connector: Connector;
withSinkDev({ refundSettleSeconds: null }, (d) => ({ t, sink, connector } = d));

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const refundRecords = async (orderNo: string): Promise<any[]> =>
  (await t.model('refunds', 'wedaGetRecordsV2', { filter: { where: { orderNo: { $eq: orderNo } } }, orderBy: [{ createdAt: 'asc' }], pageSize: 100 })).records;

/** A paid order (its payment recorded through pay-notify), placed through the sink connector. */
async function paidOrder(amount: number): Promise<string> {
  const orderNo = await createOrder(t, amount);
  const tx = await placeAndPay(t, connector, orderNo, amount);
  expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body.errcode).toBe(0);
  return orderNo;
}

/** A refund made outside the app (the order is not claimed), settled at WeChat Pay; its notification went to the sink. */
async function refundedAtWechat(orderNo: string, outRefundNo: string, total: number, refundFee: number): Promise<void> {
  await connector.call('refund', { outTradeNo: orderNo, outRefundNo, totalFee: total, refundFee });
  expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: 'SUCCESS' })).status).toBe(200);
}

/** The REFUND.SUCCESS notification of `outRefundNo` as the sink received it (the sandbox's log names its id). */
async function notificationOf(outRefundNo: string): Promise<{ body: string; headers: Record<string, string> }> {
  return t.waitFor(async () => {
    const [logged] = (await t.get(sandbox(`/sandbox/notifications?out_refund_no=${outRefundNo}`))).body.notifications as any[];
    const sent = logged && sink.received.find((r) => r.path === '/refund' && JSON.parse(r.body).id === logged.id);
    if (!sent) return undefined;
    const headers = Object.fromEntries(Object.entries(sent.headers).filter(([k]) => k.startsWith('wechatpay-') || k === 'content-type').map(([k, v]) => [k, String(v)]));
    return { body: sent.body, headers };
  }, `the notification of ${outRefundNo} in the sink`);
}

async function deliver(n: { body: string; headers: Record<string, string> }): Promise<number> {
  const res = await fetch(t.dev.info.devServer.refundNotify, { method: 'POST', headers: n.headers, body: n.body });
  await res.arrayBuffer();
  return res.status;
}

describe('v3 REFUND.SUCCESS notifications', () => {
  it('two refunds delivered in reverse order, each twice: partly refunded after the later one, refunded after both, each counted once', async () => {
    const orderNo = await paidOrder(1000);
    const [r1, r2] = [`${orderNo}-C1`, `${orderNo}-C2`];
    await refundedAtWechat(orderNo, r1, 1000, 300);
    await refundedAtWechat(orderNo, r2, 1000, 700);
    const sent = { [r1]: await notificationOf(r1), [r2]: await notificationOf(r2) };
    const byRefund = (no: string) => sent[no]!;

    expect(await deliver(byRefund(r2))).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, refundedAmount: 700, refundNo: r2, refundAmount: 700 });
    expect(await deliver(byRefund(r2))).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, refundedAmount: 700 });

    expect(await Promise.all([deliver(byRefund(r1)), deliver(byRefund(r1))])).toEqual([204, 204]);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundedAmount: 1000 });
    expect(await deliver(byRefund(r2))).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundedAmount: 1000 });
    expect((await refundRecords(orderNo)).map((r) => [r.refundNo, r.amount, r.status]).sort()).toEqual([[r1, 300, 'SUCCESS'], [r2, 700, 'SUCCESS']]);
  });

  it('the sandbox delivers each refund result twice (DUPLICATE): the first refund is counted once, and the second is not taken for its duplicate', async () => {
    const d = await startCallbackDev({ refundSettleSeconds: null });
    try {
      const order = (no: string) => orderOf(d, no);
      const goods = await d.model('goods', 'wedaCreateV2', { data: { name: '咖啡券', price: 1000 } });
      const { orderNo } = (await d.connector('checkout', { goodsId: goods.id, openid: 'o-payer' })).body;
      await d.post(`${d.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
      await d.waitFor(async () => (await order(orderNo)).status === 2, 'paid');
      expect((await d.post(`${d.dev.info.baseUrl}/sandbox/faults`, { kind: 'DUPLICATE', event_type: 'REFUND.', count: 2 })).status).toBe(200);

      const first = (await d.connector('requestRefund', { orderNo, refundFee: 300 })).body.outRefundNo;
      await d.post(`${d.dev.info.baseUrl}/sandbox/refunds/${first}/settle`, { status: 'SUCCESS' });
      await d.waitFor(async () => { const n = (await d.get(`${d.dev.info.baseUrl}/sandbox/notifications?out_refund_no=${first}`)).body.notifications[0]; return n?.attempts.length >= 2; }, 'both deliveries of the first result');
      expect(await order(orderNo)).toMatchObject({ status: 2, refundedAmount: 300 });

      const second = (await d.connector('requestRefund', { orderNo })).body.outRefundNo;
      await d.post(`${d.dev.info.baseUrl}/sandbox/refunds/${second}/settle`, { status: 'SUCCESS' });
      await d.waitFor(async () => { const n = (await d.get(`${d.dev.info.baseUrl}/sandbox/notifications?out_refund_no=${second}`)).body.notifications[0]; return n?.attempts.length >= 2; }, 'both deliveries of the second result');
      expect(await order(orderNo)).toMatchObject({ status: 4, refundedAmount: 1000, refundNo: second });
    } finally {
      await d.close();
    }
  });

  it('a late result of the first refund, while the second is in flight or after it, changes nothing', async () => {
    const orderNo = await paidOrder(1000);
    await refundedAtWechat(orderNo, `${orderNo}-L1`, 1000, 300);
    const first = await notificationOf(`${orderNo}-L1`);
    expect(await deliver(first)).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, refundedAmount: 300 });

    // The app's next refund is in flight (3) when the first one's result comes again.
    const second = (await t.connector('requestRefund', { orderNo })).body;
    expect(second).toMatchObject({ outRefundNo: `${orderNo}-R2`, refundFee: 700 });
    expect(await deliver(first)).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 3, refundNo: `${orderNo}-R2`, refundedAmount: 300 });

    expect((await t.post(sandbox(`/sandbox/refunds/${orderNo}-R2/settle`), { status: 'SUCCESS' })).status).toBe(200);
    await t.waitFor(async () => (await orderOf(t, orderNo)).status === 4, 'refunded');
    expect(await deliver(first)).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundedAmount: 1000, refundNo: `${orderNo}-R2` });
  });
});

describe('CloudPay refund events (confirmed by queryRefund)', () => {
  const event = (outRefundNo: string) => cloudPayRefundEventFor(t, outRefundNo, 'SUCCESS');

  it('two refunds in reverse order, each twice: counted once each, and what is written is WeChat Pay\'s answer', async () => {
    const orderNo = await paidOrder(1000);
    const [r1, r2] = [`${orderNo}-P1`, `${orderNo}-P2`];
    await refundedAtWechat(orderNo, r1, 1000, 300);
    await refundedAtWechat(orderNo, r2, 1000, 700);

    // An event that says 1 fen and a made-up refund id is not WeChat Pay's: refused, nothing written.
    const forged = await invoke(t, 'refund-notify', cloudPayRefundEvent({ outTradeNo: orderNo, outRefundNo: r2, refundStatus: 'SUCCESS', totalFee: 1000, refundFee: 1, refundId: 'made-up' }));
    expect(forged.body).toEqual({ errcode: 1, errmsg: 'refused: the event\'s refundId is not WeChat Pay\'s (queryRefund)' });
    expect((await orderOf(t, orderNo)).status).toBe(2);
    expect(await refundRecords(orderNo)).toEqual([]);

    // The genuine one: the record gets queryRefund's amount, id and time (not the event's successTime).
    expect((await invoke(t, 'refund-notify', await event(r2))).body).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, refundedAmount: 700 });
    expect((await invoke(t, 'refund-notify', await event(r2))).body).toEqual({ errcode: 0, errmsg: 'OK (duplicate)' });
    const answers = await Promise.all([invoke(t, 'refund-notify', await event(r1)), invoke(t, 'refund-notify', await event(r1))]);
    expect(answers.map((a) => a.body.errcode)).toEqual([0, 0]);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundedAmount: 1000 });

    const atWechat = (await t.get(sandbox(`/sandbox/refunds/${r2}`))).body;
    const records = await refundRecords(orderNo);
    expect(records.find((r) => r.refundNo === r2)).toMatchObject({ amount: 700, status: 'SUCCESS', refundId: atWechat.refund_id, successTime: Date.parse(atWechat.success_time) });
    expect(records.find((r) => r.refundNo === r1)).toMatchObject({ amount: 300, status: 'SUCCESS' });
  });
});
