/**
 * Refunds through the sandbox over real loopback HTTP (wxpay-v3.md §1.4–1.5, §4): create (PROCESSING, order →
 * REFUND), idempotency per out_refund_no, the business rules (total must match, Σ ≤ total, ≤ 50, paid orders only),
 * settlement by control and automatically on the sandbox clock, REFUND.* notifications with `refund_status`.
 */
import { RunningSandbox, startSandbox } from '../sandbox';
import {
  advance, control, newOutRefundNo, newOutTradeNo, notificationLog, openNotification, paidOrder, platformVerifier, prepayBody, refund, refundBody,
  startReceiver, tempDataDir, v3Request, waitFor,
} from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
const cleanups: (() => Promise<void> | void)[] = [];
const RFC3339_CST = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sandbox?.close();
  data?.remove();
});

async function receiver(answer?: (n: number) => number) {
  const r = await startReceiver(answer);
  cleanups.push(r.close);
  return r;
}

const queryRefund = (outRefundNo: string) => v3Request(sandbox.info, 'GET', `/v3/refund/domestic/refunds/${outRefundNo}`);
const queryOrder = (outTradeNo: string) => v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${sandbox.info.merchant.mchid}`);

test('a refund is accepted as PROCESSING, turns the order to REFUND, and settling it sends a verifiable REFUND.SUCCESS', async () => {
  const orderRx = await receiver();
  const refundRx = await receiver();
  const order = await paidOrder(sandbox.info, orderRx.url);
  const body = refundBody(order, 30, { reason: '商品已售完', notify_url: refundRx.url });
  const created = await refund(sandbox.info, body);
  expect(created.status).toBe(200);
  expect(() => platformVerifier(sandbox.info).verify(created.headers, created.text)).not.toThrow();
  expect(created.json).toMatchObject({
    out_refund_no: body.out_refund_no, out_trade_no: order.out_trade_no, transaction_id: order.transaction_id, status: 'PROCESSING', channel: 'ORIGINAL',
    user_received_account: expect.any(String), funds_account: expect.any(String),
    amount: { total: 100, refund: 30, payer_total: 100, payer_refund: 30, currency: 'CNY' },
  });
  expect(created.json.refund_id).toMatch(/^50\d{27}$/);
  expect(created.json.create_time).toMatch(RFC3339_CST);
  expect(created.json).not.toHaveProperty('success_time');
  expect((await queryOrder(order.out_trade_no)).json).toMatchObject({ trade_state: 'REFUND', trade_state_desc: '转入退款', transaction_id: order.transaction_id });

  const queried = await queryRefund(body.out_refund_no as string);
  expect(queried.status).toBe(200);
  expect(queried.json).toEqual(created.json);

  const settled = await control(sandbox.info, 'POST', `/sandbox/refunds/${body.out_refund_no}/settle`, { status: 'SUCCESS' });
  expect(settled.status).toBe(200);
  expect(settled.json).toMatchObject({ refund_id: created.json.refund_id, status: 'SUCCESS', success_time: expect.stringMatching(RFC3339_CST) });
  expect((await queryRefund(body.out_refund_no as string)).json).toEqual(settled.json);

  await waitFor(() => refundRx.received.length === 1, 'REFUND.SUCCESS at the refund notify_url');
  const { envelope, resource } = openNotification(sandbox.info, refundRx.received[0]!);
  expect(envelope).toMatchObject({ event_type: 'REFUND.SUCCESS', summary: '退款成功', resource: { original_type: 'refund', associated_data: 'refund', algorithm: 'AEAD_AES_256_GCM' } });
  expect(resource).toEqual({
    mchid: sandbox.info.merchant.mchid, transaction_id: order.transaction_id, out_trade_no: order.out_trade_no, refund_id: created.json.refund_id,
    out_refund_no: body.out_refund_no, refund_status: 'SUCCESS', success_time: settled.json.success_time, user_received_account: expect.any(String),
    channel: 'ORIGINAL', funds_account: expect.any(String), amount: { total: 100, refund: 30, payer_total: 100, payer_refund: 30 },
  });
  expect(resource).not.toHaveProperty('status');
  // Only the payment notification went to the order's notify_url.
  await waitFor(() => orderRx.received.length === 1, 'TRANSACTION.SUCCESS');
  expect(orderRx.received.map((n) => openNotification(sandbox.info, n).envelope.event_type)).toEqual(['TRANSACTION.SUCCESS']);
  const [logged] = await notificationLog(sandbox.info, `out_refund_no=${body.out_refund_no}`);
  expect(logged).toMatchObject({ event_type: 'REFUND.SUCCESS', out_refund_no: body.out_refund_no, url: refundRx.url });
});

test('CLOSED and ABNORMAL outcomes: REFUND.CLOSED / REFUND.ABNORMAL go to the order notify_url when the refund names none; a settled refund cannot be settled again', async () => {
  const rx = await receiver();
  const order = await paidOrder(sandbox.info, rx.url);
  const closedBody = refundBody(order, 10);
  const abnormalBody = refundBody(order, 20);
  expect((await refund(sandbox.info, closedBody)).status).toBe(200);
  expect((await refund(sandbox.info, abnormalBody)).status).toBe(200);
  expect((await control(sandbox.info, 'POST', `/sandbox/refunds/${closedBody.out_refund_no}/settle`, { status: 'CLOSED' })).json.status).toBe('CLOSED');
  expect((await control(sandbox.info, 'POST', `/sandbox/refunds/${abnormalBody.out_refund_no}/settle`, { status: 'ABNORMAL' })).json.status).toBe('ABNORMAL');
  await waitFor(() => rx.received.length === 3, 'payment + two refund notifications');
  const opened = rx.received.map((n) => openNotification(sandbox.info, n));
  const byEvent = Object.fromEntries(opened.map((o) => [o.envelope.event_type, o]));
  expect(Object.keys(byEvent).sort()).toEqual(['REFUND.ABNORMAL', 'REFUND.CLOSED', 'TRANSACTION.SUCCESS']);
  expect(byEvent['REFUND.CLOSED']!.envelope.summary).toBe('退款关闭');
  expect(byEvent['REFUND.CLOSED']!.resource).toMatchObject({ out_refund_no: closedBody.out_refund_no, refund_status: 'CLOSED' });
  expect(byEvent['REFUND.CLOSED']!.resource).not.toHaveProperty('success_time');
  expect(byEvent['REFUND.ABNORMAL']!.resource).toMatchObject({ out_refund_no: abnormalBody.out_refund_no, refund_status: 'ABNORMAL' });

  const again = await control(sandbox.info, 'POST', `/sandbox/refunds/${closedBody.out_refund_no}/settle`, { status: 'SUCCESS' });
  expect([again.status, again.json.code]).toEqual([409, 'REFUND_SETTLED']);
  const badStatus = await control(sandbox.info, 'POST', `/sandbox/refunds/${closedBody.out_refund_no}/settle`, { status: 'DONE' });
  expect([badStatus.status, badStatus.json.code]).toEqual([400, 'PARAM_ERROR']);
  const unknown = await control(sandbox.info, 'POST', '/sandbox/refunds/NO_SUCH_REFUND/settle', { status: 'SUCCESS' });
  expect([unknown.status, unknown.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
});

test('idempotent per out_refund_no: the same request returns the same refund, a changed one is INVALID_REQUEST, transaction_id works too', async () => {
  const order = await paidOrder(sandbox.info, 'https://merchant.example.com/notify');
  const body = refundBody(order, 40);
  const first = await refund(sandbox.info, body);
  const second = await refund(sandbox.info, body);
  expect([first.status, second.status]).toEqual([200, 200]);
  expect(second.json).toEqual(first.json);
  // The same refund named by transaction_id instead of out_trade_no is the same request.
  const byTxn = await refund(sandbox.info, { ...body, out_trade_no: undefined, transaction_id: order.transaction_id });
  expect(byTxn.json.refund_id).toBe(first.json.refund_id);

  const changed = await refund(sandbox.info, { ...body, amount: { refund: 41, total: 100, currency: 'CNY' } });
  expect([changed.status, changed.json.code]).toEqual([400, 'INVALID_REQUEST']);
  expect(() => platformVerifier(sandbox.info).verify(changed.headers, changed.text)).not.toThrow();
  const other = await paidOrder(sandbox.info, 'https://merchant.example.com/notify');
  const otherOrder = await refund(sandbox.info, { ...body, out_trade_no: other.out_trade_no });
  expect([otherOrder.status, otherOrder.json.code]).toEqual([400, 'INVALID_REQUEST']);

  // After settlement the retry still answers the (now settled) refund.
  await control(sandbox.info, 'POST', `/sandbox/refunds/${body.out_refund_no}/settle`, { status: 'SUCCESS' });
  const late = await refund(sandbox.info, body);
  expect(late.json).toMatchObject({ refund_id: first.json.refund_id, status: 'SUCCESS' });
  expect((await control(sandbox.info, 'GET', `/sandbox/refunds?out_trade_no=${order.out_trade_no}`)).json.refunds).toHaveLength(1);

  // By transaction_id alone, a new refund.
  const viaTxn = await refund(sandbox.info, { transaction_id: order.transaction_id, out_refund_no: newOutRefundNo(), amount: { refund: 10, total: 100, currency: 'CNY' } });
  expect(viaTxn.json).toMatchObject({ status: 'PROCESSING', out_trade_no: order.out_trade_no });
});

test('Σ refunds ≤ total: partial refunds up to the total pass, one fen more is refused; a CLOSED refund gives its amount back', async () => {
  const order = await paidOrder(sandbox.info, 'https://merchant.example.com/notify');
  const a = refundBody(order, 60);
  expect((await refund(sandbox.info, a)).status).toBe(200);
  expect((await refund(sandbox.info, refundBody(order, 40))).status).toBe(200);
  const over = await refund(sandbox.info, refundBody(order, 1));
  expect([over.status, over.json.code, over.json.detail.field]).toEqual([400, 'INVALID_REQUEST', '/amount/refund']);
  const tooMuchAtOnce = await refund(sandbox.info, refundBody(await paidOrder(sandbox.info, 'https://merchant.example.com/notify'), 101));
  expect([tooMuchAtOnce.status, tooMuchAtOnce.json.code]).toEqual([400, 'INVALID_REQUEST']);

  await control(sandbox.info, 'POST', `/sandbox/refunds/${a.out_refund_no}/settle`, { status: 'CLOSED' });
  expect((await refund(sandbox.info, refundBody(order, 60))).status).toBe(200);
  expect((await refund(sandbox.info, refundBody(order, 1))).json.code).toBe('INVALID_REQUEST');
});

test('at most 50 refunds per order', async () => {
  const order = await paidOrder(sandbox.info, 'https://merchant.example.com/notify');
  for (let i = 0; i < 50; i++) {
    const r = await refund(sandbox.info, refundBody(order, 1));
    expect(r.status).toBe(200);
  }
  const fiftyFirst = await refund(sandbox.info, refundBody(order, 1));
  expect([fiftyFirst.status, fiftyFirst.json.code]).toEqual([400, 'INVALID_REQUEST']);
  expect(fiftyFirst.json.message).toMatch(/50/);
});

test('refusals: total mismatch, unpaid or unknown order, unknown refund, malformed bodies — and none creates a refund', async () => {
  const order = await paidOrder(sandbox.info, 'https://merchant.example.com/notify');
  const mismatch = await refund(sandbox.info, refundBody(order, 10, { amount: { refund: 10, total: 99, currency: 'CNY' } }));
  expect([mismatch.status, mismatch.json.code, mismatch.json.detail.field]).toEqual([400, 'INVALID_REQUEST', '/amount/total']);

  const unpaidNo = newOutTradeNo('UNPAID');
  await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, unpaidNo, 'https://merchant.example.com/notify'));
  const unpaid = await refund(sandbox.info, refundBody({ out_trade_no: unpaidNo, amount: { total: 100 } }, 10));
  expect([unpaid.status, unpaid.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
  const unknown = await refund(sandbox.info, refundBody({ out_trade_no: newOutTradeNo('NONE'), amount: { total: 100 } }, 10));
  expect([unknown.status, unknown.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
  const unknownTxn = await refund(sandbox.info, { transaction_id: '4200000000000000000000000000', out_refund_no: newOutRefundNo(), amount: { refund: 1, total: 100, currency: 'CNY' } });
  expect([unknownTxn.status, unknownTxn.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);

  const missing = await queryRefund(newOutRefundNo('NONE'));
  expect([missing.status, missing.json.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
  expect(() => platformVerifier(sandbox.info).verify(missing.headers, missing.text)).not.toThrow();

  const cases: [string, Record<string, unknown>, string][] = [
    ['out_refund_no with a space', { out_refund_no: 'R 1' }, '/out_refund_no'],
    ['out_refund_no over 64 chars', { out_refund_no: 'R'.repeat(65) }, '/out_refund_no'],
    ['no out_refund_no', { out_refund_no: undefined }, '/out_refund_no'],
    ['neither out_trade_no nor transaction_id', { out_trade_no: undefined }, '/out_trade_no'],
    ['no currency', { amount: { refund: 1, total: 100 } }, '/amount/currency'],
    ['refund 0', { amount: { refund: 0, total: 100, currency: 'CNY' } }, '/amount/refund'],
    ['no total', { amount: { refund: 1, currency: 'CNY' } }, '/amount/total'],
    ['no amount', { amount: undefined }, '/amount'],
    ['reason over 80 chars', { reason: '退'.repeat(81) }, '/reason'],
    ['notify_url with a query', { notify_url: 'https://merchant.example.com/r?x=1' }, '/notify_url'],
  ];
  for (const [what, overrides, field] of cases) {
    const res = await refund(sandbox.info, refundBody(order, 1, overrides));
    expect({ what, status: res.status, code: res.json.code, field: res.json.detail?.field }).toEqual({ what, status: 400, code: 'PARAM_ERROR', field });
  }
  // '@' is allowed in out_refund_no (it is not in out_trade_no).
  expect((await refund(sandbox.info, refundBody(order, 1, { out_refund_no: `R@${Date.now()}` }))).status).toBe(200);
  const { json } = await control(sandbox.info, 'GET', `/sandbox/refunds?out_trade_no=${order.out_trade_no}`);
  expect(json.refunds).toHaveLength(1);
  expect((await queryOrder(unpaidNo)).json.trade_state).toBe('NOTPAY');
});

test('automatic settlement after refundSettleSeconds of sandbox time, surviving a restart', async () => {
  const dir = tempDataDir();
  cleanups.push(dir.remove);
  const rx = await receiver();
  const first = await startSandbox({ dataDir: dir.dir, refundSettleSeconds: 5 });
  let outRefundNo: string;
  try {
    const order = await paidOrder(first.info, rx.url);
    const body = refundBody(order, 100);
    outRefundNo = body.out_refund_no as string;
    const created = await refund(first.info, body);
    expect(created.json.status).toBe('PROCESSING');
    expect((await control(first.info, 'GET', `/sandbox/refunds?out_trade_no=${order.out_trade_no}`)).json.refunds[0]._sandbox.settle_at).toMatch(RFC3339_CST);
    await advance(first.info, 4);
    expect((await v3Request(first.info, 'GET', `/v3/refund/domestic/refunds/${outRefundNo}`)).json.status).toBe('PROCESSING');
  } finally {
    await first.close();
  }
  const second = await startSandbox({ dataDir: dir.dir, refundSettleSeconds: 5 });
  cleanups.push(second.close);
  expect((await v3Request(second.info, 'GET', `/v3/refund/domestic/refunds/${outRefundNo}`)).json.status).toBe('PROCESSING');
  await advance(second.info, 1);
  const settled = await v3Request(second.info, 'GET', `/v3/refund/domestic/refunds/${outRefundNo}`);
  expect(settled.json).toMatchObject({ status: 'SUCCESS', success_time: expect.stringMatching(RFC3339_CST) });
  await waitFor(() => rx.received.length === 2, 'TRANSACTION.SUCCESS then REFUND.SUCCESS');
  const refundNote = rx.received.map((n) => openNotification(second.info, n)).find((o) => o.envelope.event_type === 'REFUND.SUCCESS');
  expect(refundNote!.resource).toMatchObject({ out_refund_no: outRefundNo, refund_status: 'SUCCESS', success_time: settled.json.success_time });
});

test('with refundSettleSeconds null, refunds wait for the control API however far the clock moves', async () => {
  const order = await paidOrder(sandbox.info, 'https://merchant.example.com/notify');
  const body = refundBody(order, 5);
  await refund(sandbox.info, body);
  await advance(sandbox.info, 86_400);
  expect((await queryRefund(body.out_refund_no as string)).json.status).toBe('PROCESSING');
});
