/**
 * The payment flow through the sandbox over real loopback HTTP: prepay → query → the user pays (control API) →
 * a TRANSACTION.SUCCESS notification encrypted and signed as WeChat Pay does (wxpay-v3.md §4), retried on the
 * sandbox clock; prepay re-entry rules (§1.1); close (§1.3); state and keys surviving a restart.
 */
import { parseNotification } from '../wxpay';
import { RunningSandbox, SandboxReadyInfo, startSandbox } from '../sandbox';
import { control, newOutTradeNo, platformVerifier, prepayBody, ReceivedNotification, startReceiver, tempDataDir, v3Request, waitFor } from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sandbox?.close();
  data?.remove();
});

async function receiver(answer?: (n: number) => number): Promise<Awaited<ReturnType<typeof startReceiver>>> {
  const r = await startReceiver(answer);
  cleanups.push(r.close);
  return r;
}

function query(info: SandboxReadyInfo, outTradeNo: string) {
  return v3Request(info, 'GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${info.merchant.mchid}`);
}

function prepay(info: SandboxReadyInfo, outTradeNo: string, notifyUrl: string, overrides: Record<string, unknown> = {}) {
  return v3Request(info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(info, outTradeNo, notifyUrl, overrides));
}

async function notificationsFor(info: SandboxReadyInfo, outTradeNo: string): Promise<any[]> {
  return (await control(info, 'GET', `/sandbox/notifications?out_trade_no=${outTradeNo}`)).json.notifications;
}

/** Verifies (platform key by publicKeyId) and decrypts (apiV3Key) a received notification, as a merchant must. */
function open(info: SandboxReadyInfo, n: ReceivedNotification) {
  return parseNotification<Record<string, any>>({ headers: n.headers, rawBody: n.rawBody, verifier: platformVerifier(info, 'publicKeyId'), apiV3Key: info.merchant.apiV3Key });
}

const RFC3339_CST = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

test('prepay → NOTPAY → user pays → SUCCESS, and a verifiable TRANSACTION.SUCCESS reaches notify_url', async () => {
  const rx = await receiver();
  const outTradeNo = newOutTradeNo('PAY');
  const created = await prepay(sandbox.info, outTradeNo, rx.url, { attach: 'cart=42' });
  expect(created.status).toBe(200);

  const before = await query(sandbox.info, outTradeNo);
  expect(before.status).toBe(200);
  expect(before.json).toMatchObject({ out_trade_no: outTradeNo, mchid: sandbox.info.merchant.mchid, appid: sandbox.info.merchant.appid, trade_state: 'NOTPAY', amount: { total: 100 } });
  expect(before.json).not.toHaveProperty('transaction_id');
  expect(before.json).not.toHaveProperty('attach'); // echoed only once paid (§1.1)
  expect(rx.received).toHaveLength(0);

  const paid = await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
  expect(paid.status).toBe(200);
  expect(paid.json).toMatchObject({
    out_trade_no: outTradeNo, trade_state: 'SUCCESS', trade_state_desc: '支付成功', trade_type: 'JSAPI', bank_type: 'OTHERS', attach: 'cart=42',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' }, amount: { total: 100, payer_total: 100, currency: 'CNY', payer_currency: 'CNY' },
  });
  expect(paid.json.transaction_id).toMatch(/^4200\d{24}$/);
  expect(paid.json.success_time).toMatch(RFC3339_CST);

  const after = await query(sandbox.info, outTradeNo);
  expect(after.json).toEqual(paid.json);
  const byId = await v3Request(sandbox.info, 'GET', `/v3/pay/transactions/id/${paid.json.transaction_id}?mchid=${sandbox.info.merchant.mchid}`);
  expect(byId.json).toEqual(paid.json);

  await waitFor(() => rx.received.length === 1, 'the notification');
  const note = rx.received[0]!;
  expect(note.headers['wechatpay-serial']).toBe(sandbox.info.platform.publicKeyId);
  const { envelope, resource } = open(sandbox.info, note);
  expect(envelope).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', summary: '支付成功', resource: { algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction', associated_data: 'transaction' } });
  expect(envelope.create_time).toMatch(RFC3339_CST);
  expect(resource).toEqual(paid.json);
  // A receiver holding a different APIv3 key cannot read it.
  expect(() => parseNotification({ headers: note.headers, rawBody: note.rawBody, verifier: platformVerifier(sandbox.info), apiV3Key: 'x'.repeat(32) })).toThrow(/decryption failed/);

  const [logged] = await waitFor(async () => {
    const list = await notificationsFor(sandbox.info, outTradeNo);
    return list[0]?.status === 'delivered' && list;
  }, 'the delivery to be logged');
  expect(logged).toMatchObject({ id: envelope.id, event_type: 'TRANSACTION.SUCCESS', url: rx.url, out_trade_no: outTradeNo, status: 'delivered', nextRetryAt: null });
  expect(logged.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, latencyMs: expect.any(Number), at: expect.stringMatching(RFC3339_CST) })]);

  const { json } = await control(sandbox.info, 'GET', '/sandbox/requests');
  const paths = (json.requests as { method: string; path: string; status: number }[]).map((r) => `${r.method} ${r.path} ${r.status}`);
  expect(paths).toEqual(expect.arrayContaining(['POST /v3/pay/transactions/jsapi 200', `GET /v3/pay/transactions/out-trade-no/${outTradeNo} 200`]));
});

test('a failed delivery (500) is retried only once the sandbox clock passes 15 s, and the log shows both attempts', async () => {
  const rx = await receiver((n) => (n === 0 ? 500 : 200));
  const outTradeNo = newOutTradeNo('RETRY');
  expect((await prepay(sandbox.info, outTradeNo, rx.url)).status).toBe(200);
  expect((await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' })).status).toBe(200);

  const [first] = await waitFor(async () => {
    const list = await notificationsFor(sandbox.info, outTradeNo);
    return list[0]?.attempts.length === 1 && list;
  }, 'the first attempt');
  expect(first).toMatchObject({ status: 'pending', attempts: [expect.objectContaining({ statusCode: 500 })] });
  expect(Date.parse(first.nextRetryAt) - Date.parse(first.attempts[0].at)).toBe(15_000);

  // Real time passing does not trigger the retry: several notifier ticks later nothing more was sent.
  await new Promise((r) => setTimeout(r, 600));
  expect(rx.received).toHaveLength(1);

  const advanced = await control(sandbox.info, 'POST', '/sandbox/clock/advance', { seconds: 16 });
  expect(advanced.json.now).toMatch(RFC3339_CST);
  await waitFor(() => rx.received.length === 2, 'the retry');
  const [done] = await waitFor(async () => {
    const list = await notificationsFor(sandbox.info, outTradeNo);
    return list[0]?.status === 'delivered' && list;
  }, 'the retry to be logged');
  expect(done.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);
  expect(done.nextRetryAt).toBeNull();
  // The retry is the same notification (same id), freshly signed: both verify and decrypt to the same resource.
  const [a, b] = rx.received.map((n) => open(sandbox.info, n));
  expect(b!.envelope.id).toBe(a!.envelope.id);
  expect(b!.resource).toEqual(a!.resource);
});

test('prepay re-entry: identical params → a fresh prepay_id; different params → INVALID_REQUEST; paid → ORDER_PAID', async () => {
  const rx = await receiver();
  const outTradeNo = newOutTradeNo('RE');
  const first = await prepay(sandbox.info, outTradeNo, rx.url);
  const again = await prepay(sandbox.info, outTradeNo, rx.url);
  expect([first.status, again.status]).toEqual([200, 200]);
  expect(again.json.prepay_id).not.toBe(first.json.prepay_id);

  const changed = await prepay(sandbox.info, outTradeNo, rx.url, { amount: { total: 101, currency: 'CNY' } });
  expect(changed.status).toBe(400);
  expect(changed.json.code).toBe('INVALID_REQUEST');
  expect((await query(sandbox.info, outTradeNo)).json.amount.total).toBe(100);

  await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
  const paidAgain = await prepay(sandbox.info, outTradeNo, rx.url);
  expect(paidAgain.status).toBe(400);
  expect(paidAgain.json.code).toBe('ORDER_PAID');
  // Paying twice is refused by the control API too.
  expect((await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' })).status).toBe(409);
  // Closing a paid order is refused (§1.3).
  const closePaid = await v3Request(sandbox.info, 'POST', `/v3/pay/transactions/out-trade-no/${outTradeNo}/close`, { mchid: sandbox.info.merchant.mchid });
  expect(closePaid.json.code).toBe('ORDER_PAID');
});

test('GET /sandbox/transactions?prepay_id= finds the order behind a prepay_id (what wx.requestPayment carries)', async () => {
  const rx = await receiver();
  const [a, b] = [newOutTradeNo('PPA'), newOutTradeNo('PPB')];
  const first = (await prepay(sandbox.info, a, rx.url)).json.prepay_id as string;
  const fresh = (await prepay(sandbox.info, a, rx.url)).json.prepay_id as string; // re-entry: a second prepay_id, same order
  const other = (await prepay(sandbox.info, b, rx.url)).json.prepay_id as string;
  const byPrepayId = async (id: string) => (await control(sandbox.info, 'GET', `/sandbox/transactions?prepay_id=${encodeURIComponent(id)}`)).json.transactions as any[];
  for (const id of [first, fresh]) {
    const found = await byPrepayId(id);
    expect(found.map((t) => t.out_trade_no)).toEqual([a]);
    expect(found[0]).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 100 }, _sandbox: { notify_url: rx.url } });
  }
  expect((await byPrepayId(other)).map((t) => t.out_trade_no)).toEqual([b]);
  expect(await byPrepayId('wx_no_such_prepay_id')).toEqual([]);
  // Without the filter, both orders are listed.
  const all = (await control(sandbox.info, 'GET', '/sandbox/transactions')).json.transactions as any[];
  expect(all.map((t) => t.out_trade_no)).toEqual(expect.arrayContaining([a, b]));
});

test('close answers a signed empty 204, is re-entrant, and a closed order can be neither re-ordered nor paid', async () => {
  const outTradeNo = newOutTradeNo('CL');
  expect((await prepay(sandbox.info, outTradeNo, 'https://merchant.example.com/notify')).status).toBe(200);
  const closeUrl = `/v3/pay/transactions/out-trade-no/${outTradeNo}/close`;
  for (let i = 0; i < 2; i++) {
    const closed = await v3Request(sandbox.info, 'POST', closeUrl, { mchid: sandbox.info.merchant.mchid });
    expect(closed.status).toBe(204);
    expect(closed.text).toBe('');
    expect(() => platformVerifier(sandbox.info).verify(closed.headers, '')).not.toThrow();
  }
  expect((await query(sandbox.info, outTradeNo)).json).toMatchObject({ trade_state: 'CLOSED', trade_state_desc: '订单已关闭' });
  expect((await prepay(sandbox.info, outTradeNo, 'https://merchant.example.com/notify')).json.code).toBe('ORDER_CLOSED');
  const pay = await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
  expect([pay.status, pay.json.code]).toEqual([409, 'ORDER_CLOSED']);
  expect(await notificationsFor(sandbox.info, outTradeNo)).toEqual([]);
});

test('invalid prepay bodies are refused with 400 PARAM_ERROR naming the field, and create nothing', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['short out_trade_no', { out_trade_no: 'abc' }, '/out_trade_no'],
    ['out_trade_no with a space', { out_trade_no: 'abc def 123' }, '/out_trade_no'],
    ['description over 127 chars', { description: 'x'.repeat(128) }, '/description'],
    ['an emoji (4-byte UTF-8)', { description: 'cake 🍰' }, '/description'],
    ['notify_url with a query string', { notify_url: 'https://merchant.example.com/notify?a=1' }, '/notify_url'],
    ['plain http to a public host', { notify_url: 'http://merchant.example.com/notify' }, '/notify_url'],
    ['relative notify_url', { notify_url: '/notify' }, '/notify_url'],
    ['total 0', { amount: { total: 0 } }, '/amount/total'],
    ['fractional total', { amount: { total: 1.5 } }, '/amount/total'],
    ['total as a string', { amount: { total: '100' } }, '/amount/total'],
    ['currency USD', { amount: { total: 100, currency: 'USD' } }, '/amount/currency'],
    ['no payer', { payer: undefined }, '/payer/openid'],
    ['no appid', { appid: undefined }, '/appid'],
    ['no description', { description: undefined }, '/description'],
  ];
  for (const [what, overrides, field] of cases) {
    const outTradeNo = typeof overrides.out_trade_no === 'string' ? overrides.out_trade_no : newOutTradeNo('BAD');
    const res = await prepay(sandbox.info, outTradeNo, 'https://merchant.example.com/notify', { out_trade_no: outTradeNo, ...overrides });
    expect({ what, status: res.status, code: res.json.code, field: res.json.detail?.field }).toEqual({ what, status: 400, code: 'PARAM_ERROR', field });
    expect(() => platformVerifier(sandbox.info).verify(res.headers, res.text)).not.toThrow();
  }
  const wrongApp = await prepay(sandbox.info, newOutTradeNo('APP'), 'https://merchant.example.com/notify', { appid: 'wx0000000000000000' });
  expect([wrongApp.status, wrongApp.json.code]).toEqual([400, 'APPID_MCHID_NOT_MATCH']);
  expect((await control(sandbox.info, 'GET', '/sandbox/transactions')).json.transactions.filter((t: { out_trade_no: string }) => /^(BAD|APP)/.test(t.out_trade_no))).toEqual([]);
  // Loopback http notify URLs are fine for local development.
  expect((await prepay(sandbox.info, newOutTradeNo('LO'), 'http://localhost:8080/notify')).status).toBe(200);
});

test('the control API refuses what it cannot do, clearly', async () => {
  const unknown = await control(sandbox.info, 'POST', '/sandbox/transactions/NO_SUCH_ORDER/pay', { result: 'SUCCESS' });
  expect([unknown.status, unknown.json.code]).toEqual([404, 'ORDER_NOT_EXIST']);
  const outTradeNo = newOutTradeNo('CT');
  await prepay(sandbox.info, outTradeNo, 'https://merchant.example.com/notify');
  const failure = await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'MAYBE' });
  expect([failure.status, failure.json.code, failure.json.detail.field]).toEqual([400, 'PARAM_ERROR', 'result']);
  expect((await query(sandbox.info, outTradeNo)).json.trade_state).toBe('NOTPAY');
  const back = await control(sandbox.info, 'POST', '/sandbox/clock/advance', { seconds: -5 });
  expect([back.status, back.json.code]).toEqual([400, 'PARAM_ERROR']);
});

test('a restart on the same dataDir keeps keys, orders, the clock and pending deliveries', async () => {
  const dir = tempDataDir();
  cleanups.push(dir.remove);
  let answer = 500;
  const rx = await receiver(() => answer);
  const first = await startSandbox({ dataDir: dir.dir });
  let outTradeNo: string;
  let paid: any;
  let clockBefore: string;
  try {
    clockBefore = (await control(first.info, 'POST', '/sandbox/clock/advance', { seconds: 3600 * 24 })).json.now;
    outTradeNo = newOutTradeNo('RS');
    expect((await prepay(first.info, outTradeNo, rx.url)).status).toBe(200);
    paid = (await control(first.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' })).json;
    await waitFor(async () => (await notificationsFor(first.info, outTradeNo))[0]?.attempts.length === 1, 'the first (failing) attempt');
  } finally {
    await first.close();
  }

  const second = await startSandbox({ dataDir: dir.dir });
  cleanups.push(second.close);
  const { baseUrl: _a, console: _b, ...keysBefore } = first.info;
  const { baseUrl: _c, console: _d, ...keysAfter } = second.info;
  expect(keysAfter).toEqual(keysBefore);

  const again = await query(second.info, outTradeNo);
  expect(again.json).toEqual(paid);
  // Verified with the key material read from the *first* ready line.
  expect(() => platformVerifier(first.info).verify(again.headers, again.text)).not.toThrow();
  expect(Date.parse((await control(second.info, 'GET', '/sandbox/clock')).json.now)).toBeGreaterThanOrEqual(Date.parse(clockBefore));

  // The pending retry survived: once its time comes on the (persisted) sandbox clock, it goes out and succeeds.
  answer = 200;
  const [pending] = await notificationsFor(second.info, outTradeNo);
  expect(pending).toMatchObject({ status: 'pending', attempts: [expect.objectContaining({ statusCode: 500 })] });
  await control(second.info, 'POST', '/sandbox/clock/advance', { seconds: 16 });
  const [done] = await waitFor(async () => {
    const list = await notificationsFor(second.info, outTradeNo);
    return list[0]?.status === 'delivered' && list;
  }, 'the pending delivery after restart');
  expect(done.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);
  expect(open(second.info, rx.received[1]!).resource).toEqual(paid);
});

test('failure kinds: NOT_ENOUGH and USER_CANCEL (and /cancel) leave NOTPAY, PAYERROR sets PAYERROR; none notifies; the order can still be paid or closed', async () => {
  const rx = await receiver();
  const outTradeNo = newOutTradeNo('FAIL');
  expect((await prepay(sandbox.info, outTradeNo, rx.url)).status).toBe(200);
  for (const result of ['NOT_ENOUGH', 'USER_CANCEL']) {
    const r = await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result });
    expect([result, r.status, r.json.trade_state]).toEqual([result, 200, 'NOTPAY']);
    expect(r.json).not.toHaveProperty('transaction_id');
  }
  const cancelled = await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/cancel`);
  expect([cancelled.status, cancelled.json.trade_state]).toEqual([200, 'NOTPAY']);
  const listed = (await control(sandbox.info, 'GET', '/sandbox/transactions')).json.transactions.find((t: { out_trade_no: string }) => t.out_trade_no === outTradeNo);
  expect(listed._sandbox.last_pay_attempt).toMatchObject({ result: 'USER_CANCEL', message: expect.any(String) });
  expect((await query(sandbox.info, outTradeNo)).json.trade_state).toBe('NOTPAY');
  // The user tries again and succeeds: exactly one notification, TRANSACTION.SUCCESS.
  expect((await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' })).json.trade_state).toBe('SUCCESS');
  await waitFor(() => rx.received.length === 1, 'the notification');
  expect(open(sandbox.info, rx.received[0]!).envelope.event_type).toBe('TRANSACTION.SUCCESS');
  expect((await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/cancel`)).status).toBe(409);

  const failed = newOutTradeNo('PERR');
  expect((await prepay(sandbox.info, failed, rx.url)).status).toBe(200);
  const payError = await control(sandbox.info, 'POST', `/sandbox/transactions/${failed}/pay`, { result: 'PAYERROR' });
  expect(payError.json).toMatchObject({ trade_state: 'PAYERROR', trade_state_desc: '支付失败' });
  expect((await query(sandbox.info, failed)).json.trade_state).toBe('PAYERROR');
  const retry = await control(sandbox.info, 'POST', `/sandbox/transactions/${failed}/pay`, { result: 'SUCCESS' });
  expect([retry.status, retry.json.code]).toEqual([409, 'ORDER_PAYERROR']);
  expect((await v3Request(sandbox.info, 'POST', `/v3/pay/transactions/out-trade-no/${failed}/close`, { mchid: sandbox.info.merchant.mchid })).status).toBe(204);
  expect((await query(sandbox.info, failed)).json.trade_state).toBe('CLOSED');
  expect(await notificationsFor(sandbox.info, failed)).toEqual([]);
  expect(rx.received).toHaveLength(1);
});
