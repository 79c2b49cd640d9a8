/**
 * Requests that break the HTTP layer itself are the client's mistake, answered 400 with what is wrong — never a 500
 * and never a crash: JSON nested 100,000 deep (refused by a linear bracket count before anything recursive walks it),
 * a path with malformed percent-encoding (`%E0%A4%A`), a request target that is no URL (`//`), a body too large.
 * On the dev server's connector, models and functions routes, and on the sandbox's v3, control and CloudPay routes,
 * through real HTTP on 127.0.0.1; a refused request writes nothing and sends nothing to WeChat Pay.
 */
import net from 'node:net';
import { connectorFunctionHandler } from '../connector';
import { startSandbox, RunningSandbox } from '../sandbox';
import { startTestDev, TestDev } from './helpers/dev';
import { control, newOutTradeNo, prepayBody, tempDataDir, v3Request } from './helpers/sandbox-harness';

const DEEP = 100_000;
const deepArrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObjects = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const BAD_ESCAPE = '%E0%A4%A'; // a three-byte UTF-8 sequence cut short: decodeURIComponent throws "URI malformed"

async function post(url: string, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** One request with a raw request line (fetch would normalise the target): the status line and the body. */
function rawRequest(baseUrl: string, requestLine: string): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(`${requestLine}\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
    socket.on('end', () => resolve({ statusLine: text.slice(0, text.indexOf('\r\n')), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    socket.on('error', reject);
  });
}

describe('dev server', () => {
  let t: TestDev;
  beforeAll(async () => { t = await startTestDev({ seedGoods: false }); });
  afterAll(async () => { await t?.close(); });

  const url = (p: string) => `${t.dev.info.devServer.baseUrl}${p}`;
  /** The orders model's rows and what reached WeChat Pay (the sandbox request log). */
  const written = async () => ({ orders: (await t.model('orders', 'wedaGetRecordsV2', { pageSize: 200 })).records, sent: await t.sandboxRequestCount() });

  const ROUTES = ['/connector/unifiedOrder', '/models/orders/wedaCreateV2', '/functions/connector', '/functions/pay-notify'];

  describe.each(ROUTES)('POST %s', (route) => {
    it.each([['arrays', deepArrays(DEEP)], ['objects', deepObjects(DEEP)], ['arrays in a field', `{"data":${deepArrays(DEEP)}}`]])('JSON %s nested 100,000 deep → 400 naming the limit, nothing written or sent', async (_kind, body) => {
      const before = await written();
      const res = await post(url(route), body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 'INVALID_REQUEST', message: 'request body nests JSON objects or arrays deeper than 64 levels' });
      expect(await written()).toEqual(before);
    });
  });

  it.each([
    ['/connector/{bad}', 'POST'], ['/connector/queryOrder/{bad}', 'POST'], ['/models/{bad}/wedaCreateV2', 'POST'], ['/models/orders/{bad}', 'POST'],
    ['/functions/{bad}', 'POST'], ['/{bad}', 'GET'],
  ])('%s (%s) with malformed percent-encoding → 400 naming the segment', async (template, method) => {
    const before = await written();
    const res = await fetch(url(template.replace('{bad}', BAD_ESCAPE)), { method, ...(method === 'POST' ? { body: '{}' } : {}) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'INVALID_REQUEST', message: `path segment "${BAD_ESCAPE}" is not valid percent-encoding` });
    expect(await written()).toEqual(before);
  });

  it.each(['//', '//[', '//%zz/connector/queryOrder'])('a request target that is no URL (%s) → 400, and the server goes on serving', async (target) => {
    for (const method of ['GET', 'POST']) {
      const res = await rawRequest(t.dev.info.devServer.baseUrl, `${method} ${target} HTTP/1.1`);
      expect(res.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(JSON.parse(res.body)).toEqual({ code: 'INVALID_REQUEST', message: `request target ${JSON.stringify(target)} is not a valid URL path` });
    }
    expect((await t.connector('queryOrder', {})).status).toBe(400); // still answering, with the schema's own refusal
  });

  it('counts only brackets outside strings, and lets 64 levels through to validation', async () => {
    // 64 levels (the object and 63 arrays): parsed, then refused by the method's schema, not by the parser.
    const atLimit = await post(url('/connector/queryOrder'), `{"outTradeNo":${deepArrays(63)}}`);
    expect(atLimit).toMatchObject({ status: 400, body: { code: 'PARAM_ERROR', message: 'queryOrder: outTradeNo must be a string' } });
    const overLimit = await post(url('/connector/queryOrder'), `{"outTradeNo":${deepArrays(64)}}`);
    expect(overLimit).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', message: 'request body nests JSON objects or arrays deeper than 64 levels' } });
    // Brackets and escaped quotes inside a string are text.
    const inString = await post(url('/connector/queryOrder'), JSON.stringify({ outTradeNo: `\\"${'['.repeat(1000)}\\"${'{'.repeat(1000)}` }));
    expect(inString).toMatchObject({ status: 400, body: { code: 'PARAM_ERROR', detail: { field: 'outTradeNo', issue: 'pattern' } } });
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const res = await post(url('/connector/queryOrder'), JSON.stringify({ outTradeNo: 'x'.repeat(1 << 20) }));
    expect(res).toEqual({ status: 413, body: { code: 'INVALID_REQUEST', message: 'request body too large' } });
  });

  it('the connector function refuses a deeply nested or non-data input as PARAM_ERROR (the CloudBase path, no HTTP parser in front)', async () => {
    const handler = connectorFunctionHandler(t.dev.connector);
    let deep: unknown = 1;
    for (let i = 0; i < DEEP; i++) deep = [deep];
    const before = await written();
    expect(await handler({ method: 'queryOrder', params: { outTradeNo: deep } })).toEqual({
      ok: false,
      error: { code: 'PARAM_ERROR', retryable: false, status: 400, message: "queryOrder: the input nests objects or arrays deeper than 64 levels; a method's input is one flat object", detail: { field: '(input)', issue: 'must nest at most 64 levels' } },
    });
    const notData = await handler({ method: 'queryOrder', params: { outTradeNo: () => 'ORDER000001' } });
    expect(notData).toMatchObject({ ok: false, error: { code: 'PARAM_ERROR', status: 400, message: expect.stringMatching(/^queryOrder: the input must be JSON data/) } });
    expect(await written()).toEqual(before);
  });
});

describe('sandbox', () => {
  let sandbox: RunningSandbox;
  let data: ReturnType<typeof tempDataDir>;
  beforeAll(async () => {
    data = tempDataDir();
    sandbox = await startSandbox({ dataDir: data.dir, port: 0 });
  });
  afterAll(async () => {
    await sandbox?.close();
    data?.remove();
  });

  const NOTIFY = 'http://127.0.0.1:9/notify';
  /** What the sandbox holds: its orders, refunds, faults, settings and recorded messages. */
  const state = async () => Object.fromEntries(await Promise.all(['transactions', 'refunds', 'faults', 'settings', 'messages'].map(async (what) => [what, (await control(sandbox.info, 'GET', `/sandbox/${what}`)).json])));

  it.each([
    ['/v3/pay/transactions/jsapi', () => `{"appid":"${sandbox.info.merchant.appid}","mchid":"${sandbox.info.merchant.mchid}","detail":${deepArrays(DEEP)}}`],
    ['/v3/refund/domestic/refunds', () => `{"out_refund_no":"R1","amount":${deepObjects(DEEP)}}`],
  ])('v3 POST %s (signed) with JSON nested 100,000 deep → 400 PARAM_ERROR naming the limit, nothing created', async (path, body) => {
    const before = await state();
    const res = await v3Request(sandbox.info, 'POST', path, body());
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ code: 'PARAM_ERROR', message: '请求体JSON嵌套过深（超过64层）', detail: { location: 'body', issue: 'JSON objects/arrays nest deeper than 64 levels' } });
    expect(await state()).toEqual(before);
  });

  it('v3 still takes a well-formed prepay (the limit is far above what WeChat Pay bodies nest)', async () => {
    const res = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, newOutTradeNo(), NOTIFY));
    expect(res.status).toBe(200);
  });

  it('v3 GET with a malformed percent-encoded path parameter (signed) → 400 naming the parameter', async () => {
    const res = await v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${BAD_ESCAPE}?mchid=${sandbox.info.merchant.mchid}`);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'out_trade_no', location: 'path', issue: 'invalid percent-encoding' } });
  });

  it.each([['/sandbox/settings'], ['/sandbox/refunds'], ['/sandbox/faults'], ['/sandbox/messages']])('control POST %s with JSON nested 100,000 deep → 400 PARAM_ERROR, nothing changed', async (path) => {
    const before = await state();
    const res = await post(`${sandbox.info.baseUrl}${path}`, `{"x":${deepArrays(DEEP)}}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'PARAM_ERROR', detail: { issue: 'JSON objects/arrays nest deeper than 64 levels' } });
    expect(await state()).toEqual(before);
  });

  it('control GET with a malformed percent-encoded path parameter → 400 naming the parameter', async () => {
    const res = await control(sandbox.info, 'GET', `/sandbox/transactions/${BAD_ESCAPE}`);
    expect(res).toEqual({ status: 400, json: expect.objectContaining({ code: 'PARAM_ERROR', detail: expect.objectContaining({ field: 'out_trade_no', issue: 'invalid percent-encoding' }) }) });
  });

  it('CloudPay with JSON nested 100,000 deep, or a malformed API name → 400 in CloudPay\'s error shape, nothing created', async () => {
    const before = await state();
    const deep = await post(`${sandbox.info.baseUrl}/cloudpay/unifiedOrder`, `{"body":"x","detail":${deepArrays(DEEP)}}`);
    expect(deep).toEqual({ status: 400, body: { errCode: -1, code: 'INVALID_PARAM', message: 'request data nests JSON objects/arrays deeper than 64 levels', errMsg: 'INVALID_PARAM: request data nests JSON objects/arrays deeper than 64 levels' } });
    const badName = await post(`${sandbox.info.baseUrl}/cloudpay/${BAD_ESCAPE}`, '{}');
    expect(badName).toMatchObject({ status: 400, body: { errCode: -1, code: 'PARAM_ERROR', message: 'path parameter apiName is not valid percent-encoding' } });
    expect(await state()).toEqual(before);
  });

  it('refuses a body over 1 MiB with 413 on every route family', async () => {
    const big = JSON.stringify({ x: 'x'.repeat(1 << 20) });
    expect((await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', big)).status).toBe(413);
    expect((await post(`${sandbox.info.baseUrl}/sandbox/settings`, big)).status).toBe(413);
    expect((await post(`${sandbox.info.baseUrl}/cloudpay/unifiedOrder`, big)).status).toBe(413);
  });
});
