/**
 * Reconcile reaches every order: each order (refund) it asks about gets reconciledAt, and each run takes the ones
 * asked longest ago first (never asked first). Before, it took the 50 oldest unpaid orders every run: 60 abandoned
 * carts, too young to close, came back in every batch, and lost payments behind them were never found.
 */
import { createOldOrders, invoke, newOrderNo, orderOf, PAYER, placeAndPay, sinkConnector, startCallbackDev, startSink, Sink, TestDev } from './helpers/callback-harness';

let sink: Sink;
beforeAll(async () => { sink = await startSink(); });
afterAll(async () => { await sink?.close(); });

const reconcile = async (t: TestDev) => {
  const r = await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() });
  expect(r.status).toBe(200);
  return r.body;
};

it('finds 5 lost payments behind 60 abandoned carts within 2 runs of 50', async () => {
  const t = await startCallbackDev({ callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 30, batchSize: 50 } } });
  try {
    const connector = sinkConnector(t, sink.url);
    // Carts the payer left 10 minutes ago: placed, never paid, not old enough to close.
    const carts = Array.from({ length: 60 }, () => newOrderNo('C'));
    await createOldOrders(t, 10, carts.map((orderNo) => ({ orderNo, amount: 100, status: 1 })));
    for (const orderNo of carts) await connector.call('unifiedOrder', { body: 'cart', outTradeNo: orderNo, totalFee: 100, openid: PAYER });
    // Paid 8 minutes ago, their notifications lost: newer than every cart, so behind them oldest-first.
    const lost = Array.from({ length: 5 }, () => newOrderNo('L'));
    await createOldOrders(t, 8, lost.map((orderNo) => ({ orderNo, amount: 200, status: 1 })));
    for (const orderNo of lost) await placeAndPay(t, connector, orderNo, 200);

    const first = await reconcile(t);
    expect(first.unpaid).toMatchObject({ checked: 50, pending: 50, paid: 0 });
    const second = await reconcile(t);
    expect(second.unpaid).toMatchObject({ checked: 50, paid: 5 });
    for (const orderNo of lost) expect((await orderOf(t, orderNo)).status).toBe(2);
    // Every cart has been asked about by now, each once or twice, and none was closed early.
    for (const orderNo of carts) expect(await orderOf(t, orderNo)).toMatchObject({ status: 1, reconciledAt: expect.any(Number) });
    expect((await orderOf(t, carts[0]!)).closedAt).toBeUndefined();
  } finally {
    await t.close();
  }
});

it('takes the unpaid orders it asked about longest ago first: N orders, batch B, all asked within ⌈N/B⌉ runs, round and round', async () => {
  const t = await startCallbackDev({ callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 30, batchSize: 3 } } });
  try {
    const connector = sinkConnector(t, sink.url);
    const orders = Array.from({ length: 7 }, () => newOrderNo('Q'));
    await createOldOrders(t, 10, orders.map((orderNo) => ({ orderNo, amount: 100, status: 1 })));
    for (const orderNo of orders) await connector.call('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 100, openid: PAYER });
    const asked = async () => new Map(await Promise.all(orders.map(async (no) => [no, (await orderOf(t, no)).reconciledAt] as const)));

    for (let run = 0; run < 3; run++) expect((await reconcile(t)).unpaid.checked).toBe(3);
    const afterThree = await asked();
    expect([...afterThree.values()].every((at) => typeof at === 'number')).toBe(true);
    // The fourth run takes the three asked longest ago.
    const longestAgo = [...afterThree.entries()].sort((a, b) => a[1]! - b[1]!).slice(0, 3).map(([no]) => no);
    await reconcile(t);
    const afterFour = await asked();
    const askedAgain = orders.filter((no) => afterFour.get(no) !== afterThree.get(no));
    expect(askedAgain.sort()).toEqual(longestAgo.sort());
  } finally {
    await t.close();
  }
});

it('takes the refunds in PROCESSING it asked about longest ago first: one settled among many still processing is found', async () => {
  const t = await startCallbackDev({ refundSettleSeconds: null, callbacks: { reconcile: { queryAfterMinutes: 0, batchSize: 2 } } });
  try {
    const order = (no: string) => orderOf(t, no);
    const refundOf = async (no: string) => t.model('refunds', 'wedaGetItemV2', { filter: { where: { refundNo: { $eq: no } } } });
    const paid: string[] = [];
    for (let i = 0; i < 5; i++) {
      const goods = await t.model('goods', 'wedaCreateV2', { data: { name: '咖啡券', price: 500 } });
      const { orderNo } = (await t.connector('checkout', { goodsId: goods.id, openid: PAYER })).body;
      await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
      await t.waitFor(async () => (await order(orderNo)).status === 2, 'paid');
      paid.push(orderNo);
    }
    // The last refund settles, but its result is dropped; the other four stay PROCESSING at WeChat Pay.
    for (const orderNo of paid) expect((await t.connector('requestRefund', { orderNo })).status).toBe(200);
    const last = paid[4]!;
    expect((await t.post(`${t.dev.info.baseUrl}/sandbox/faults`, { kind: 'DROP', event_type: 'REFUND.' })).status).toBe(200);
    expect((await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${last}-R1/settle`, { status: 'SUCCESS' })).status).toBe(200);
    await t.waitFor(async () => (await t.get(`${t.dev.info.baseUrl}/sandbox/notifications?out_refund_no=${last}-R1`)).body.notifications[0]?.attempts.length >= 1, 'the dropped attempt');
    expect((await order(last)).status).toBe(3);

    const runs = [];
    for (let run = 0; run < 3 && (await order(last)).status !== 4; run++) runs.push(await reconcile(t));
    expect(await order(last)).toMatchObject({ status: 4, refundedAmount: 500 });
    expect(runs.length).toBeLessThanOrEqual(3);
    expect(runs.reduce((n, s) => n + s.refunding.refunded, 0)).toBe(1);
    expect(await refundOf(`${last}-R1`)).toMatchObject({ status: 'SUCCESS', amount: 500 });
    for (const orderNo of paid.slice(0, 4)) {
      expect(await order(orderNo)).toMatchObject({ status: 3 });
      expect(await refundOf(`${orderNo}-R1`)).toMatchObject({ status: 'PROCESSING', reconciledAt: expect.any(Number) });
    }
  } finally {
    await t.close();
  }
});
