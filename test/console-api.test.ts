/**
 * What the console reads and does through the control API (sandbox/http/control-routes.ts): the page and its
 * bundled assets; the settings the dev server gives at start (provider, its URL, the refund notify target); a
 * notification's detail with its plaintext (for v3 exactly what the receiver decrypts from the ciphertext); a refund
 * made as WeChat's back office would (v3: to the configured refund notify URL; CloudPay: to the refund callback
 * function); the day's trade bill as the v3 download serves it; the request log, CloudPay calls included, and its
 * newest-N view; the notification log keeps showing the newest entries once it is long.
 */
import { createHash } from 'node:crypto';
import { CloudPayApi } from '../connector';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import { RunningSandbox, startSandbox } from '../sandbox';
import { openState } from '../sandbox/state';
import { registerFunction, startCloudFunction, FakeCloudFunction } from './helpers/cloudpay-functions';
import {
  advance, control, newOutTradeNo, notificationLog, openNotification, paidOrder, startVerifyingReceiver, tempDataDir, v3Request, waitFor,
} from './helpers/sandbox-harness';

const ENV = 'cloud-console';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
let rx: Awaited<ReturnType<typeof startVerifyingReceiver>>;
let refundRx: Awaited<ReturnType<typeof startVerifyingReceiver>>;
let payFn: FakeCloudFunction;
let refundFn: FakeCloudFunction;
let cloudPay: CloudPayApi;

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
  rx = await startVerifyingReceiver(sandbox.info);
  refundRx = await startVerifyingReceiver(sandbox.info);
  payFn = await startCloudFunction();
  refundFn = await startCloudFunction();
  await registerFunction(sandbox.info, ENV, 'payCallback', payFn.url);
  await registerFunction(sandbox.info, ENV, 'refundCallback', refundFn.url);
  cloudPay = createHttpCloudPay(sandbox.baseUrl);
});

afterAll(async () => {
  await payFn?.close();
  await refundFn?.close();
  await rx?.close();
  await refundRx?.close();
  await sandbox?.close();
  data?.remove();
});

const settings = (body: unknown) => control(sandbox.info, 'POST', '/sandbox/settings', body);

async function cloudPayOrder(totalFee = 1800): Promise<string> {
  const outTradeNo = newOutTradeNo('CC');
  const r = await cloudPay.unifiedOrder({ subMchId: sandbox.info.merchant.mchid, envId: ENV, functionName: 'payCallback', body: '咖啡券', outTradeNo, totalFee, spbillCreateIp: '127.0.0.1' });
  expect(r.resultCode).toBe('SUCCESS');
  expect((await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' })).status).toBe(200);
  return outTradeNo;
}

test('the console page and its bundled script and stylesheet', async () => {
  const page = await fetch(sandbox.info.console);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await page.text();
  expect(html).toContain('/sandbox/console/assets/console.js');
  const js = await fetch(`${sandbox.info.console}/assets/console.js`);
  expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(await js.text()).toContain('/sandbox/notifications');
  const css = await fetch(`${sandbox.info.console}/assets/console.css`);
  expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  expect(await css.text()).toContain('max-width: 700px');
});

test('settings: empty until told, checked field by field, a refused update changes nothing', async () => {
  expect((await control(sandbox.info, 'GET', '/sandbox/settings')).json).toEqual({ provider: null, devServerUrl: null, refundNotifyUrl: null });
  const set = await settings({ provider: 'cloudpay', devServerUrl: 'http://127.0.0.1:5000/', refundNotifyUrl: `cloudfunction://${ENV}/refundCallback` });
  expect(set).toEqual({ status: 200, json: { provider: 'cloudpay', devServerUrl: 'http://127.0.0.1:5000', refundNotifyUrl: `cloudfunction://${ENV}/refundCallback` } });

  for (const bad of [{ provider: 'v2' }, { devServerUrl: 'ftp://x' }, { refundNotifyUrl: 'not a url' }, { provider: 'v3', devServerUrl: 42 }]) {
    const r = await settings(bad);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('PARAM_ERROR');
  }
  expect((await control(sandbox.info, 'GET', '/sandbox/settings')).json.provider).toBe('cloudpay');
  expect((await settings({ provider: null, devServerUrl: null, refundNotifyUrl: null })).json).toEqual({ provider: null, devServerUrl: null, refundNotifyUrl: null });
});

test('a v3 notification in detail: its plaintext is what the receiver decrypts from the ciphertext sent', async () => {
  const paid = await paidOrder(sandbox.info, rx.url);
  await waitFor(() => rx.received.some((n) => n.resource?.out_trade_no === paid.out_trade_no), 'the payment notification');
  const [entry] = await notificationLog(sandbox.info, `out_trade_no=${paid.out_trade_no}`);
  expect(entry.plaintext).toBeUndefined(); // the list does not carry it
  const detail = (await control(sandbox.info, 'GET', `/sandbox/notifications/${entry.id}`)).json;
  expect(detail).toMatchObject({ id: entry.id, kind: 'v3', channel: 'http', attempts: [{ request: { headers: expect.any(Object), body: expect.any(String) }, response: { statusCode: 200 } }] });
  const sent = detail.attempts[0].request;
  expect(sent.body).not.toContain(paid.out_trade_no); // the envelope is encrypted
  const opened = openNotification(sandbox.info, { headers: Object.fromEntries(Object.entries(sent.headers).map(([k, v]) => [k.toLowerCase(), v])) as any, rawBody: sent.body, answered: 200 });
  expect(detail.plaintext).toEqual(opened.resource);
  expect(detail.plaintext).toMatchObject({ out_trade_no: paid.out_trade_no, trade_state: 'SUCCESS' });
});

test('a CloudPay callback in detail: its plaintext is the event the function received', async () => {
  const outTradeNo = await cloudPayOrder();
  await waitFor(() => payFn.events.some((e) => e.outTradeNo === outTradeNo), 'the payment callback');
  const [entry] = await notificationLog(sandbox.info, `out_trade_no=${outTradeNo}`);
  const detail = (await control(sandbox.info, 'GET', `/sandbox/notifications/${entry.id}`)).json;
  expect(detail).toMatchObject({ kind: 'cloudpay', channel: 'cloud-function', event_type: 'CLOUDPAY.PAYMENT', attempts: [{ request: { body: expect.any(String) }, response: { statusCode: 200 } }] });
  expect(detail.plaintext).toEqual(payFn.events.find((e) => e.outTradeNo === outTradeNo));
});

describe('POST /sandbox/refunds: a refund made in the merchant back office', () => {
  test('v3: all that is left by default, notified at the configured refund notify URL', async () => {
    await settings({ refundNotifyUrl: refundRx.url });
    const paid = await paidOrder(sandbox.info, rx.url, { amount: { total: 500, currency: 'CNY' } });
    const partial = await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: paid.out_trade_no, amount: 200, reason: '坏了' });
    expect(partial.status).toBe(200);
    expect(partial.json).toMatchObject({ out_trade_no: paid.out_trade_no, status: 'PROCESSING', amount: { refund: 200, total: 500 }, _sandbox: { notify_url: refundRx.url, source: 'console', reason: '坏了' } });
    expect(partial.json.out_refund_no).toMatch(/^R\d{14}[0-9A-Z]{6}$/);
    const rest = await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: paid.out_trade_no });
    expect(rest.json.amount).toEqual(expect.objectContaining({ refund: 300, total: 500 }));
    const none = await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: paid.out_trade_no });
    expect(none.status).toBe(400);
    expect(none.json.detail.issue).toMatch(/only 0 fen of 500 are left/);

    // The signed API sees the same refund, and settling it notifies the refund URL, not the order's.
    expect((await v3Request(sandbox.info, 'GET', `/v3/refund/domestic/refunds/${partial.json.out_refund_no}`)).json.status).toBe('PROCESSING');
    await control(sandbox.info, 'POST', `/sandbox/refunds/${partial.json.out_refund_no}/settle`, { status: 'SUCCESS' });
    const note = await waitFor(() => refundRx.received.find((n) => n.resource?.out_refund_no === partial.json.out_refund_no), 'REFUND.SUCCESS at the refund URL');
    expect(note).toMatchObject({ ok: true, eventType: 'REFUND.SUCCESS' });
    expect(rx.received.some((n) => n.eventType?.startsWith('REFUND.'))).toBe(false);
  });

  test('v3 without a configured URL: as a refund request without notify_url (the order\'s notify_url)', async () => {
    await settings({ refundNotifyUrl: null });
    const paid = await paidOrder(sandbox.info, rx.url);
    expect((await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: paid.out_trade_no })).json._sandbox.notify_url).toBe(rx.url);
  });

  test('CloudPay: the configured refund callback function is invoked on settlement; no v3 notification', async () => {
    await settings({ refundNotifyUrl: `cloudfunction://${ENV}/refundCallback` });
    const outTradeNo = await cloudPayOrder(1800);
    const r = await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: outTradeNo, amount: 800 });
    expect(r.json).toMatchObject({ status: 'PROCESSING', amount: { refund: 800, total: 1800 }, _sandbox: { notify_url: '', source: 'console' } });
    await control(sandbox.info, 'POST', `/sandbox/refunds/${r.json.out_refund_no}/settle`, { status: 'SUCCESS' });
    const event = await waitFor(() => refundFn.events.find((e) => e.outRefundNo === r.json.out_refund_no), 'the refund callback');
    expect(event).toMatchObject({ outTradeNo, refundFee: 800, totalFee: 1800, refundStatus: 'SUCCESS' });
    const log = await notificationLog(sandbox.info, `out_refund_no=${r.json.out_refund_no}`);
    expect(log.map((n) => [n.event_type, n.url])).toEqual([['CLOUDPAY.REFUND', `cloudfunction://${ENV}/refundCallback`]]);
  });

  test('refused: no such order, an unpaid one, a bad amount', async () => {
    expect((await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: 'NO_SUCH_ORDER' })).json.code).toBe('ORDER_NOT_EXIST');
    expect((await control(sandbox.info, 'POST', '/sandbox/refunds', {})).json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'out_trade_no' } });
    const paid = await paidOrder(sandbox.info, rx.url);
    expect((await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: paid.out_trade_no, amount: 1.5 })).json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'amount' } });
    const unpaid = newOutTradeNo('UN');
    await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', { appid: sandbox.info.merchant.appid, mchid: sandbox.info.merchant.mchid, description: 'x', out_trade_no: unpaid, notify_url: rx.url, amount: { total: 100, currency: 'CNY' }, payer: { openid: 'o-x' } });
    expect((await control(sandbox.info, 'POST', '/sandbox/refunds', { out_trade_no: unpaid })).json.code).toBe('RESOURCE_NOT_EXISTS');
  });
});

test('GET /sandbox/tradebill: the CSV the v3 download_url serves for that day, from the next day on', async () => {
  const paid = await paidOrder(sandbox.info, rx.url);
  const day = paid.success_time.slice(0, 10);
  const early = await fetch(`${sandbox.baseUrl}/sandbox/tradebill?bill_date=${day}`);
  expect(early.status).toBe(400);
  expect(((await early.json()) as any).code).toBe('STATEMENT_CREATING');

  await advance(sandbox.info, 86_400);
  const res = await fetch(`${sandbox.baseUrl}/sandbox/tradebill?bill_date=${day}&bill_type=ALL`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  expect(res.headers.get('content-disposition')).toBe(`attachment; filename="tradebill-${day}-ALL.csv"`);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  expect(bytes.toString('utf8')).toContain(`\`${paid.out_trade_no}`);

  const v3 = await v3Request(sandbox.info, 'GET', `/v3/bill/tradebill?bill_date=${day}&bill_type=ALL`);
  expect(v3.json.hash_value).toBe(createHash('sha1').update(bytes).digest('hex'));

  const bad = await fetch(`${sandbox.baseUrl}/sandbox/tradebill?bill_date=${day}&bill_type=FUND`);
  expect(bad.status).toBe(400);
  expect((await fetch(`${sandbox.baseUrl}/sandbox/tradebill`)).status).toBe(400);
});

test('the request log has CloudPay calls beside v3 ones, and `last` gives the newest N', async () => {
  const outTradeNo = await cloudPayOrder(300);
  const all = (await control(sandbox.info, 'GET', '/sandbox/requests')).json.requests;
  const call = all.find((r: any) => r.path === '/cloudpay/unifiedOrder' && String(r.requestBody).includes(outTradeNo));
  expect(call).toMatchObject({ method: 'POST', status: 200, at: expect.stringMatching(/\+08:00$/), durationMs: expect.any(Number) });
  expect(JSON.parse(call.responseBody)).toMatchObject({ resultCode: 'SUCCESS', errCode: 0 });
  expect(all.some((r: any) => r.path.startsWith('/v3/'))).toBe(true);

  const last2 = (await control(sandbox.info, 'GET', '/sandbox/requests?last=2')).json.requests;
  expect(last2.map((r: any) => r.seq)).toEqual(all.slice(-2).map((r: any) => r.seq));
  const after = (await control(sandbox.info, 'GET', `/sandbox/requests?since=${all[all.length - 1].seq}&last=5`)).json.requests;
  expect(after).toEqual([]);
  expect((await control(sandbox.info, 'GET', '/sandbox/requests?last=0')).status).toBe(400);

  const refused = await fetch(`${sandbox.baseUrl}/cloudpay/noSuchApi`, { method: 'POST', body: '{}' });
  expect(refused.status).toBe(404);
  const [logged] = (await control(sandbox.info, 'GET', '/sandbox/requests?last=1')).json.requests;
  expect(logged).toMatchObject({ path: '/cloudpay/noSuchApi', status: 404, code: 'INVALID_API' });
});

test('a long notification log lists its newest 500, oldest first', () => {
  const dir = tempDataDir();
  const state = openState(dir.dir);
  try {
    for (let i = 0; i < 503; i++) {
      state.outbox.enqueue({ id: `N${String(i).padStart(4, '0')}`, channel: 'http', eventType: 'TRANSACTION.SUCCESS', url: 'http://127.0.0.1:1/', outTradeNo: `T${i}`, payload: {}, createTime: '2024-01-01T00:00:00+08:00', createdAt: 1_700_000_000_000 + i });
    }
    const ids = state.outbox.list().map((n) => n.id);
    expect(ids).toHaveLength(500);
    expect(ids[0]).toBe('N0003');
    expect(ids[499]).toBe('N0502');
    expect(state.outbox.list({ outTradeNo: 'T1' }).map((n) => n.id)).toEqual(['N0001']);
  } finally {
    state.close();
    dir.remove();
  }
});
