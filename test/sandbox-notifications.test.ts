/**
 * Notification delivery under faults (wxpay-v3.md §3–4): PROBE signatures a verifying receiver refuses (the retry is
 * valid), DROP (counted as a failure, retried on schedule), DELAY, DUPLICATE, REORDER, event-type targeting; every
 * attempt logged with headers, the encrypted body (never the plaintext), the answer and latency; manual resend.
 */
import { RunningSandbox, startSandbox } from '../sandbox';
import {
  advance, control, newOutTradeNo, notificationLog, paidOrder, prepayBody, refund, refundBody, startReceiver, startVerifyingReceiver, tempDataDir, v3Request, waitFor,
} from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
});

afterEach(async () => {
  await control(sandbox.info, 'DELETE', '/sandbox/faults');
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sandbox?.close();
  data?.remove();
});

async function verifyingReceiver() {
  const r = await startVerifyingReceiver(sandbox.info);
  cleanups.push(r.close);
  return r;
}

async function fault(spec: Record<string, unknown>): Promise<void> {
  const r = await control(sandbox.info, 'POST', '/sandbox/faults', spec);
  expect(r.status).toBe(200);
}

/** Waits until the delivery log of an order satisfies `ok`, returns its single notification. */
async function logOf(outTradeNo: string, ok: (n: any) => boolean, what: string): Promise<any> {
  return waitFor(async () => {
    const [n] = await notificationLog(sandbox.info, `out_trade_no=${outTradeNo}`);
    return n && ok(n) ? n : undefined;
  }, what);
}

/** Lets the notifier run a few ticks, for asserting that something did *not* happen. */
const settle = () => new Promise((r) => setTimeout(r, 300));

test('PROBE: the first delivery carries a WECHATPAY/SIGNTEST signature a verifying receiver refuses; the retry is valid and accepted', async () => {
  const rx = await verifyingReceiver();
  await fault({ kind: 'PROBE', count: 1 });
  const order = await paidOrder(sandbox.info, rx.url);
  const first = await logOf(order.out_trade_no, (n) => n.attempts.length === 1, 'the probe attempt');
  expect(first).toMatchObject({ status: 'pending', fault: 'PROBE', attempts: [expect.objectContaining({ statusCode: 401, fault: 'PROBE' })] });
  expect(rx.received).toHaveLength(1);
  expect(String(rx.received[0]!.headers['wechatpay-signature'])).toMatch(/^WECHATPAY\/SIGNTEST\//);
  expect(rx.received[0]!.ok).toBe(false);

  await advance(sandbox.info, 15);
  const done = await logOf(order.out_trade_no, (n) => n.status === 'delivered', 'the valid retry');
  expect(done.attempts.map((a: any) => [a.statusCode, a.fault ?? null])).toEqual([[401, 'PROBE'], [200, null]]);
  expect(rx.received[1]).toMatchObject({ ok: true, eventType: 'TRANSACTION.SUCCESS', eventId: first.id });
  expect(rx.received[1]!.resource).toEqual(order);
});

test('DROP: the attempt is not made but counts as a failure, so the retry comes 15 s later on the sandbox clock', async () => {
  const rx = await verifyingReceiver();
  await fault({ kind: 'DROP' });
  const order = await paidOrder(sandbox.info, rx.url);
  const dropped = await logOf(order.out_trade_no, (n) => n.attempts.length === 1, 'the dropped attempt');
  expect(dropped.attempts[0]).toMatchObject({ attempt: 1, statusCode: null, fault: 'DROP', error: expect.stringMatching(/DROP/) });
  expect(Date.parse(dropped.nextRetryAt) - Date.parse(dropped.attempts[0].at)).toBe(15_000);
  await settle();
  expect(rx.received).toHaveLength(0);
  await advance(sandbox.info, 15);
  await logOf(order.out_trade_no, (n) => n.status === 'delivered', 'the retry');
  expect(rx.received.map((r) => r.ok)).toEqual([true]);
});

test('DELAY: the first attempt waits the given sandbox seconds', async () => {
  const rx = await verifyingReceiver();
  await fault({ kind: 'DELAY', seconds: 120 });
  const order = await paidOrder(sandbox.info, rx.url);
  const delayed = await logOf(order.out_trade_no, (n) => n.fault === 'DELAY', 'the delay to be applied');
  expect(delayed.attempts).toEqual([]);
  expect(Date.parse(delayed.nextRetryAt) - Date.parse(delayed.create_time)).toBeGreaterThanOrEqual(119_000);
  await advance(sandbox.info, 100);
  await settle();
  expect(rx.received).toHaveLength(0);
  await advance(sandbox.info, 21);
  await logOf(order.out_trade_no, (n) => n.status === 'delivered', 'the delayed delivery');
  expect(rx.received).toHaveLength(1);
});

test('DUPLICATE: the same notification (same id) arrives twice, both attempts logged', async () => {
  const rx = await verifyingReceiver();
  await fault({ kind: 'DUPLICATE' });
  const order = await paidOrder(sandbox.info, rx.url);
  const done = await logOf(order.out_trade_no, (n) => n.status === 'delivered', 'the duplicated delivery');
  expect(done.attempts.map((a: any) => [a.statusCode, a.fault])).toEqual([[200, 'DUPLICATE'], [200, 'DUPLICATE']]);
  expect(rx.received).toHaveLength(2);
  expect(rx.received.map((r) => [r.ok, r.eventId])).toEqual([[true, done.id], [true, done.id]]);
  // Each copy is freshly signed.
  expect(rx.received[0]!.headers['wechatpay-nonce']).not.toBe(rx.received[1]!.headers['wechatpay-nonce']);
});

test('REORDER: a notification is held until the next one has gone out, then delivered after it', async () => {
  const rx = await verifyingReceiver();
  await fault({ kind: 'REORDER' });
  const first = await paidOrder(sandbox.info, rx.url);
  const held = await logOf(first.out_trade_no, (n) => n.held === true, 'the hold');
  expect(held).toMatchObject({ status: 'pending', fault: 'REORDER', attempts: [], nextRetryAt: null });
  await settle();
  expect(rx.received).toHaveLength(0);
  const second = await paidOrder(sandbox.info, rx.url);
  await waitFor(() => rx.received.length === 2, 'both notifications');
  expect(rx.received.map((r) => r.resource?.out_trade_no)).toEqual([second.out_trade_no, first.out_trade_no]);
});

test('event_type targeting: a DROP for "REFUND." leaves payments alone and hits the refund notification', async () => {
  const rx = await verifyingReceiver();
  await fault({ kind: 'DROP', event_type: 'REFUND.' });
  const order = await paidOrder(sandbox.info, rx.url);
  await logOf(order.out_trade_no, (n) => n.status === 'delivered', 'the payment notification');
  const body = refundBody(order, 10);
  expect((await refund(sandbox.info, body)).status).toBe(200);
  await control(sandbox.info, 'POST', `/sandbox/refunds/${body.out_refund_no}/settle`, { status: 'SUCCESS' });
  const [dropped] = await waitFor(async () => {
    const list = await notificationLog(sandbox.info, `out_refund_no=${body.out_refund_no}`);
    return list[0]?.attempts.length === 1 && list;
  }, 'the dropped refund notification');
  expect(dropped).toMatchObject({ event_type: 'REFUND.SUCCESS', fault: 'DROP', status: 'pending' });
  expect(rx.received.map((r) => r.eventType)).toEqual(['TRANSACTION.SUCCESS']);
});

test('the log of an attempt holds the request headers and the encrypted body (never the plaintext), the answer and the latency', async () => {
  const rx = await startReceiver(() => 503);
  cleanups.push(rx.close);
  const order = await paidOrder(sandbox.info, rx.url, { attach: 'secret-attach-value' });
  const { id } = await logOf(order.out_trade_no, (n) => n.attempts.length === 1, 'the failed attempt');
  const { json: full } = await control(sandbox.info, 'GET', `/sandbox/notifications/${id}`);
  const [attempt] = full.attempts;
  expect(attempt).toMatchObject({ attempt: 1, statusCode: 503, latencyMs: expect.any(Number) });
  expect(attempt.request.headers).toMatchObject({
    'Wechatpay-Serial': sandbox.info.platform.publicKeyId, 'Wechatpay-Signature': expect.any(String), 'Wechatpay-Timestamp': expect.stringMatching(/^\d{10}$/),
    'Wechatpay-Nonce': expect.any(String), 'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048', 'Content-Type': 'application/json',
  });
  const sent = JSON.parse(attempt.request.body);
  expect(sent).toMatchObject({ id, event_type: 'TRANSACTION.SUCCESS', resource: { ciphertext: expect.any(String), algorithm: 'AEAD_AES_256_GCM' } });
  expect(attempt.request.body).not.toContain('secret-attach-value');
  expect(attempt.request.body).not.toContain(order.transaction_id);
  expect(attempt.request.body).toBe(rx.received[0]!.rawBody);
  expect(attempt.response).toMatchObject({ statusCode: 503, body: JSON.stringify({ code: 'FAIL', message: '失败' }), headers: expect.objectContaining({ 'content-type': 'application/json' }) });
  // The list view leaves the request out unless full=1.
  const [brief] = await notificationLog(sandbox.info, `out_trade_no=${order.out_trade_no}`);
  expect(brief.attempts[0]).not.toHaveProperty('request');
  const [withFull] = await notificationLog(sandbox.info, `out_trade_no=${order.out_trade_no}&full=1`);
  expect(withFull.attempts[0].request.body).toBe(attempt.request.body);
  const missing = await control(sandbox.info, 'GET', '/sandbox/notifications/no-such-id');
  expect(missing.status).toBe(404);
});

test('manual resend delivers a delivered notification again (same id), and an exhausted one once more', async () => {
  const rx = await verifyingReceiver();
  const order = await paidOrder(sandbox.info, rx.url);
  const delivered = await logOf(order.out_trade_no, (n) => n.status === 'delivered', 'the delivery');
  const resent = await control(sandbox.info, 'POST', `/sandbox/notifications/${delivered.id}/resend`);
  expect(resent.status).toBe(200);
  await logOf(order.out_trade_no, (n) => n.attempts.length === 2 && n.status === 'delivered', 'the resend');
  expect(rx.received.map((r) => r.eventId)).toEqual([delivered.id, delivered.id]);
  expect((await control(sandbox.info, 'POST', '/sandbox/notifications/nope/resend')).status).toBe(404);

  // A short schedule runs out: failed; a resend tries once more.
  const dir = tempDataDir();
  const quick = await startSandbox({ dataDir: dir.dir, retryScheduleSeconds: [1] });
  cleanups.push(dir.remove);
  cleanups.push(quick.close);
  let answer = 500;
  const flaky = await startReceiver(() => answer);
  cleanups.push(flaky.close);
  const no = newOutTradeNo('EXH');
  await v3Request(quick.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(quick.info, no, flaky.url));
  await control(quick.info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
  await waitFor(async () => (await notificationLog(quick.info, `out_trade_no=${no}`))[0]?.attempts.length === 1, 'first failure');
  await advance(quick.info, 1);
  const [failed] = await waitFor(async () => {
    const l = await notificationLog(quick.info, `out_trade_no=${no}`);
    return l[0]?.status === 'failed' && l;
  }, 'give up');
  expect(failed.nextRetryAt).toBeNull();
  answer = 200;
  await control(quick.info, 'POST', `/sandbox/notifications/${failed.id}/resend`);
  const [ok] = await waitFor(async () => {
    const l = await notificationLog(quick.info, `out_trade_no=${no}`);
    return l[0]?.status === 'delivered' && l;
  }, 'the resend');
  expect(ok.attempts.map((a: any) => a.statusCode)).toEqual([500, 500, 200]);
});
