/**
 * HTTP fault injection (`POST /sandbox/faults`): SYSTEM_ERROR 500 / FREQUENCY_LIMITED 429 / NOT_ENOUGH 403 answered
 * with signed v3 error bodies and no effect, LATENCY, matching by path prefix and method, counts, listing and clearing,
 * persistence across a restart; the request log names the fault.
 */
import { RunningSandbox, startSandbox } from '../sandbox';
import { control, newOutTradeNo, paidOrder, platformVerifier, prepayBody, refund, refundBody, v3Request, tempDataDir, withSandbox } from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
const NOTIFY = 'https://merchant.example.com/notify';

withSandbox({ refundSettleSeconds: null }, (s) => (sandbox = s));

afterEach(async () => {
  await control(sandbox.info, 'DELETE', '/sandbox/faults');
});

const prepay = (no: string) => v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, no, NOTIFY));
const query = (no: string) => v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${sandbox.info.merchant.mchid}`);

test('SYSTEM_ERROR on prepay: a signed 500 with the v3 body, nothing created; the retry with the same params succeeds', async () => {
  const fault = await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'SYSTEM_ERROR', path: '/v3/pay/transactions/jsapi', count: 1 });
  expect(fault.status).toBe(200);
  expect(fault.json).toMatchObject({ id: expect.any(Number), kind: 'SYSTEM_ERROR', target: 'http', path: '/v3/pay/transactions/jsapi', remaining: 1 });

  const no = newOutTradeNo('SE');
  const failed = await prepay(no);
  expect(failed.status).toBe(500);
  expect(failed.json).toEqual({ code: 'SYSTEM_ERROR', message: expect.any(String) });
  expect(() => platformVerifier(sandbox.info).verify(failed.headers, failed.text)).not.toThrow();
  expect(failed.headers['request-id']).toMatch(/^[0-9A-F]{32}-\d+$/);
  expect((await query(no)).status).toBe(404);

  const retried = await prepay(no);
  expect(retried.status).toBe(200);
  expect((await control(sandbox.info, 'GET', '/sandbox/faults')).json.faults).toEqual([]);
  const { json } = await control(sandbox.info, 'GET', '/sandbox/requests');
  const logged = (json.requests as any[]).filter((r) => r.url === '/v3/pay/transactions/jsapi').slice(-2);
  expect(logged.map((r) => [r.status, r.code, r.fault])).toEqual([[500, 'SYSTEM_ERROR', 'SYSTEM_ERROR'], [200, undefined, undefined]]);
});

test('FREQUENCY_LIMITED ×2 on refunds only: two 429s, queries unaffected, then the refund goes through once', async () => {
  const order = await paidOrder(sandbox.info, NOTIFY);
  await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'FREQUENCY_LIMITED', path: '/v3/refund/', method: 'POST', count: 2 });
  const body = refundBody(order, 10);
  const a = await refund(sandbox.info, body);
  expect((await query(order.out_trade_no)).status).toBe(200); // GET, other path: not consumed
  expect((await v3Request(sandbox.info, 'GET', `/v3/refund/domestic/refunds/${body.out_refund_no}`)).json.code).toBe('RESOURCE_NOT_EXISTS'); // GET: not consumed
  const b = await refund(sandbox.info, body);
  expect([a.status, a.json.code, b.status, b.json.code]).toEqual([429, 'FREQUENCY_LIMITED', 429, 'FREQUENCY_LIMITED']);
  const c = await refund(sandbox.info, body);
  expect([c.status, c.json.status]).toEqual([200, 'PROCESSING']);
  expect((await control(sandbox.info, 'GET', `/sandbox/refunds?out_trade_no=${order.out_trade_no}`)).json.refunds).toHaveLength(1);
});

test('NOT_ENOUGH on a refund: 403, the refund is not created', async () => {
  const order = await paidOrder(sandbox.info, NOTIFY);
  await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'NOT_ENOUGH', path: '/v3/refund/domestic/refunds' });
  const body = refundBody(order, 10);
  const r = await refund(sandbox.info, body);
  expect([r.status, r.json.code]).toEqual([403, 'NOT_ENOUGH']);
  expect((await v3Request(sandbox.info, 'GET', `/v3/refund/domestic/refunds/${body.out_refund_no}`)).status).toBe(404);
  expect((await query(order.out_trade_no)).json.trade_state).toBe('SUCCESS');
});

test('LATENCY delays the answer by the given ms, then handles the request normally', async () => {
  await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'LATENCY', ms: 300, path: '/v3/pay/transactions/out-trade-no/' });
  const no = newOutTradeNo('LAT');
  await prepay(no);
  const t0 = performance.now();
  const slow = await query(no);
  const slowMs = performance.now() - t0;
  const t1 = performance.now();
  await query(no);
  const fastMs = performance.now() - t1;
  expect(slow.status).toBe(200);
  expect(slowMs).toBeGreaterThanOrEqual(290);
  expect(fastMs).toBeLessThan(250);
});

test('PROBE on a path: the answer is the real one but signed WECHATPAY/SIGNTEST/…, so a verifying client refuses it; its retry verifies', async () => {
  await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'PROBE', path: '/v3/pay/transactions/jsapi' });
  const no = newOutTradeNo('PRB');
  const probed = await prepay(no);
  expect(probed.status).toBe(200);
  expect(probed.headers['wechatpay-signature']).toMatch(/^WECHATPAY\/SIGNTEST\//);
  expect(() => platformVerifier(sandbox.info).verify(probed.headers, probed.text)).toThrow();
  const retried = await prepay(no); // prepay is re-entrant: same params, fresh prepay_id
  expect(() => platformVerifier(sandbox.info).verify(retried.headers, retried.text)).not.toThrow();
  expect(retried.json.prepay_id).not.toBe(probed.json.prepay_id);
});

test('faults are listed until consumed, cleared by DELETE, refused when malformed, and unsigned requests do not consume them', async () => {
  await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'SYSTEM_ERROR', path: '/v3/bill/', count: 3 });
  const second = await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'DROP', count: 2, event_type: 'REFUND.' });
  // A forged request is refused by authentication first (401) and leaves the fault in place.
  const forged = await v3Request(sandbox.info, 'GET', '/v3/bill/tradebill?bill_date=2020-01-01', undefined, { authorization: null });
  expect(forged.status).toBe(401);
  const listed = (await control(sandbox.info, 'GET', '/sandbox/faults')).json.faults;
  expect(listed.map((f: any) => [f.kind, f.remaining])).toEqual([['SYSTEM_ERROR', 3], ['DROP', 2]]);
  expect(listed[1]).toMatchObject({ target: 'notification', event_type: 'REFUND.' });
  expect((await v3Request(sandbox.info, 'GET', '/v3/bill/tradebill?bill_date=2020-01-01')).status).toBe(500);
  expect((await control(sandbox.info, 'GET', '/sandbox/faults')).json.faults[0].remaining).toBe(2);
  expect((await control(sandbox.info, 'DELETE', `/sandbox/faults/${second.json.id}`)).json).toEqual({ deleted: true });
  expect((await control(sandbox.info, 'DELETE', '/sandbox/faults')).json).toEqual({ cleared: 1 });
  expect((await control(sandbox.info, 'GET', '/sandbox/faults')).json.faults).toEqual([]);

  const bad: Record<string, unknown>[] = [
    { kind: 'EXPLODE' }, { kind: 'SYSTEM_ERROR', path: '/pay' }, { kind: 'SYSTEM_ERROR', count: 0 }, { kind: 'LATENCY' },
    { kind: 'LATENCY', ms: -1 }, { kind: 'DELAY' }, { kind: 'DROP', event_type: 'SOMETHING' }, { kind: 'SYSTEM_ERROR', method: 'FETCH' },
  ];
  for (const spec of bad) {
    const r = await control(sandbox.info, 'POST', '/sandbox/faults', spec);
    expect({ spec, status: r.status, code: r.json.code }).toEqual({ spec, status: 400, code: 'PARAM_ERROR' });
  }
});

test('pending faults survive a restart', async () => {
  const dir = tempDataDir();
  const first = await startSandbox({ dataDir: dir.dir });
  try {
    await control(first.info, 'POST', '/sandbox/faults', { kind: 'SYSTEM_ERROR', path: '/v3/pay/', count: 1 });
  } finally {
    await first.close();
  }
  const second = await startSandbox({ dataDir: dir.dir });
  try {
    expect((await control(second.info, 'GET', '/sandbox/faults')).json.faults).toHaveLength(1);
    const r = await v3Request(second.info, 'GET', `/v3/pay/transactions/out-trade-no/NOPE123?mchid=${second.info.merchant.mchid}`);
    expect(r.status).toBe(500);
  } finally {
    await second.close();
    dir.remove();
  }
});
