/**
 * reconcile's bounds: at most batchSize orders of each kind per run (oldest first; the rest wait for the next
 * tick), and a failure on one order (WeChat Pay erroring) is recorded in the summary while the run goes on with
 * the others. An order number WeChat Pay refuses can never have been placed: it is closed, not retried forever.
 */
import { createOldOrders, invoke, newOrderNo, orderOf, placeAndPay, sinkConnector, Sink, TestDev, withSinkDev } from './helpers/callback-harness';

let t: TestDev;
let sink: Sink;
withSinkDev({ callbacks: { reconcile: { queryAfterMinutes: 5, closeAfterMinutes: 30, batchSize: 2 } } }, (d) => ({ t, sink } = d));

const reconcile = async () => (await invoke(t, 'reconcile', {})).body;

it('handles at most batchSize unpaid orders per run, oldest first', async () => {
  const [a, b, c] = [newOrderNo('B'), newOrderNo('B'), newOrderNo('B')];
  await createOldOrders(t, 300, [{ orderNo: a, amount: 1, status: 1 }]);
  await createOldOrders(t, 200, [{ orderNo: b, amount: 1, status: 1 }]);
  await createOldOrders(t, 100, [{ orderNo: c, amount: 1, status: 1 }]);
  const first = await reconcile();
  expect(first.unpaid.checked).toBe(2);
  expect((await orderOf(t, a)).closedAt).toEqual(expect.any(Number));
  expect((await orderOf(t, b)).closedAt).toEqual(expect.any(Number));
  expect((await orderOf(t, c)).closedAt).toBeUndefined();
  const second = await reconcile();
  expect(second.unpaid.checked).toBe(1);
  expect((await orderOf(t, c)).closedAt).toEqual(expect.any(Number));
});

it('records a per-order failure and still settles the next order in the batch', async () => {
  const connector = sinkConnector(t, sink.url);
  const bad = 'bad no!';
  const failing = newOrderNo('F');
  const good = newOrderNo('G');
  await createOldOrders(t, 90, [{ orderNo: bad, amount: 5, status: 1 }]);
  await createOldOrders(t, 80, [{ orderNo: failing, amount: 5, status: 1 }]);
  await createOldOrders(t, 70, [{ orderNo: good, amount: 5, status: 1 }]);
  await placeAndPay(t, connector, failing, 5);
  await placeAndPay(t, connector, good, 5);
  // WeChat Pay answers SYSTEM_ERROR to every query of `failing` in this run (3 = the call and its 2 retries).
  const fault = await t.post(`${t.dev.info.baseUrl}/sandbox/faults`, { kind: 'SYSTEM_ERROR', path: `/v3/pay/transactions/out-trade-no/${failing}`, count: 3 });
  expect(fault.status).toBe(200);

  const run1 = await reconcile();
  expect(run1.errors).toEqual([expect.objectContaining({ orderNo: failing, step: 'unpaid', code: 'SYSTEM_ERROR' })]);
  expect(run1.unpaid.closed).toBe(1);
  expect(await orderOf(t, bad)).toMatchObject({ status: 1, closedAt: expect.any(Number) });
  expect((await orderOf(t, failing)).status).toBe(1);
  // batchSize 2: the next run takes `failing` again (the fault is used up) and `good`.
  const run2 = await reconcile();
  expect(run2.errors).toEqual([]);
  expect(run2.unpaid.paid).toBe(2);
  expect((await orderOf(t, failing)).status).toBe(2);
  expect((await orderOf(t, good)).status).toBe(2);
});
