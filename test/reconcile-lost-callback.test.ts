/**
 * reconcile, through POST /functions/reconcile against the sandbox. Lost callbacks are real: the orders are
 * placed through a connector whose notify URLs point at a sink, so WeChat Pay (the sandbox) delivers — and the
 * orders never hear of it. Old orders are written with a store clock set in the past.
 */
import {
  createOldOrders, createOrder, invoke, newOrderNo, orderOf, placeAndPay, PAYER, Sink, TestDev, withSinkDev,
} from './helpers/callback-harness';
import type { Connector } from '../connector';

let t: TestDev;
let sink: Sink;
let connector: Connector;
withSinkDev({ callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 30, batchSize: 50 } } }, (d) => ({ t, sink, connector } = d));

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const tradeState = async (orderNo: string) => (await t.get(sandbox(`/sandbox/transactions/${orderNo}`))).body.trade_state;
const reconcile = async () => {
  const r = await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() });
  expect(r.status).toBe(200);
  return r.body;
};

it('marks a paid order whose payment notification was lost as paid, through queryOrder', async () => {
  const orderNo = newOrderNo('L');
  await createOldOrders(t, 20, [{ orderNo, amount: 990, status: 1, openid: PAYER }]);
  const tx = await placeAndPay(t, connector, orderNo, 990);
  await t.waitFor(async () => sink.received.some((r) => r.path === '/pay'), 'the notification to reach the sink');
  expect((await orderOf(t, orderNo)).status).toBe(1);

  const summary = await reconcile();
  expect(summary.unpaid.paid).toBeGreaterThanOrEqual(1);
  expect(summary.errors).toEqual([]);
  const order = await orderOf(t, orderNo);
  expect(order).toMatchObject({ status: 2, transactionId: tx.transaction_id, openid: PAYER });
  expect(order.paidAt).toBe(Math.floor(Date.parse(tx.success_time) / 1000) * 1000);
});

it('closes an order still NOTPAY after closeAfterMinutes, records closedAt, keeps status 1, and does not ask again', async () => {
  const orderNo = newOrderNo('N');
  await createOldOrders(t, 45, [{ orderNo, amount: 100, status: 1 }]);
  await connector.call('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 100, openid: PAYER });
  await reconcile();
  expect(await tradeState(orderNo)).toBe('CLOSED');
  const order = await orderOf(t, orderNo);
  expect(order.status).toBe(1);
  expect(order.closedAt).toEqual(expect.any(Number));

  const before = (await t.get(sandbox('/sandbox/requests'))).body.requests.filter((r: any) => String(r.path).includes(orderNo)).length;
  expect(before).toBeGreaterThanOrEqual(2); // the query and the close
  await reconcile();
  const after = (await t.get(sandbox('/sandbox/requests'))).body.requests.filter((r: any) => String(r.path).includes(orderNo)).length;
  expect(after).toBe(before);
});

it('leaves a NOTPAY order younger than closeAfterMinutes open, and does not look at orders younger than queryAfterMinutes', async () => {
  const young = newOrderNo('Y');
  const fresh = await createOrder(t, 100);
  await createOldOrders(t, 10, [{ orderNo: young, amount: 100, status: 1 }]);
  await connector.call('unifiedOrder', { body: 'x', outTradeNo: young, totalFee: 100, openid: PAYER });
  await connector.call('unifiedOrder', { body: 'x', outTradeNo: fresh, totalFee: 100, openid: PAYER });
  const summary = await reconcile();
  expect(summary.unpaid.pending).toBeGreaterThanOrEqual(1);
  expect(await tradeState(young)).toBe('NOTPAY');
  expect((await orderOf(t, young)).closedAt).toBeUndefined();
  const requests = (await t.get(sandbox('/sandbox/requests'))).body.requests;
  expect(requests.filter((r: any) => String(r.path).includes(young) && r.method === 'GET').length).toBeGreaterThanOrEqual(1);
  expect(requests.filter((r: any) => String(r.path).includes(fresh) && r.method === 'GET')).toHaveLength(0);
});

it('marks an order that was never placed with WeChat Pay closed once it is old enough', async () => {
  const orderNo = newOrderNo('X');
  await createOldOrders(t, 60, [{ orderNo, amount: 100, status: 1 }]);
  await reconcile();
  const order = await orderOf(t, orderNo);
  expect(order.status).toBe(1);
  expect(order.closedAt).toEqual(expect.any(Number));
});

describe('refunding orders whose refund result was lost', () => {
  async function refunding(amount: number, outcome: 'SUCCESS' | 'CLOSED' | 'ABNORMAL' | null): Promise<{ orderNo: string; outRefundNo: string }> {
    const orderNo = newOrderNo('R');
    const tx = await placeAndPay(t, connector, orderNo, amount);
    const outRefundNo = `RF${orderNo}`;
    await connector.call('refund', { outTradeNo: orderNo, outRefundNo, totalFee: amount, refundFee: amount });
    // The app recorded the payment and the accepted refund (2 → 3) a while ago.
    await createOldOrders(t, 15, [{ orderNo, amount, status: 3, transactionId: tx.transaction_id, refundNo: outRefundNo }]);
    if (outcome) expect((await t.post(sandbox(`/sandbox/refunds/${outRefundNo}/settle`), { status: outcome })).status).toBe(200);
    return { orderNo, outRefundNo };
  }

  it('SUCCESS → 4 with the refund recorded', async () => {
    const { orderNo, outRefundNo } = await refunding(520, 'SUCCESS');
    const summary = await reconcile();
    expect(summary.refunding.refunded).toBeGreaterThanOrEqual(1);
    const refund = (await connector.call('queryRefund', { outRefundNo })) as any;
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundId: refund.refundId, refundAmount: 520, refundedAt: Date.parse(refund.successTime) });
  });

  it.each(['CLOSED', 'ABNORMAL'] as const)('%s → back to 2', async (outcome) => {
    const { orderNo } = await refunding(130, outcome);
    const summary = await reconcile();
    expect(summary.refunding.reverted).toBeGreaterThanOrEqual(1);
    expect((await orderOf(t, orderNo)).status).toBe(2);
  });

  it('still PROCESSING → stays 3', async () => {
    const { orderNo } = await refunding(140, null);
    const summary = await reconcile();
    expect(summary.refunding.pending).toBeGreaterThanOrEqual(1);
    expect((await orderOf(t, orderNo)).status).toBe(3);
  });

  it('no refund number → skipped (v3 finds refunds by number only)', async () => {
    const orderNo = newOrderNo('R');
    await createOldOrders(t, 15, [{ orderNo, amount: 10, status: 3 }]);
    const summary = await reconcile();
    expect(summary.refunding.skipped).toBeGreaterThanOrEqual(1);
    expect((await orderOf(t, orderNo)).status).toBe(3);
  });
});
