/**
 * The dev server's function endpoints (`POST /functions/<name>`) under requests no WeChat Pay or CloudPay would
 * send. The route only tells a direct invocation (a JSON event; `{}` for an empty body) from what an HTTP trigger
 * would get (Wechatpay-* headers, or a body that is not JSON) — the function decides, and refuses: a non-zero
 * errcode for an event that is not a CloudPay event, 401/400 for what came "through the trigger". Nothing is ever
 * acknowledged that was not applied, no order or refund record changes, and each refusal leaves one log line.
 */
import { createOrder, invoke, orderOf, startCallbackDev, TestDev } from './helpers/callback-harness';
import { changesNothing, post, refusals } from './helpers/hostile';

let t: TestDev;
const logs: string[] = [];
beforeAll(async () => {
  t = await startCallbackDev({ log: (l) => logs.push(l) });
});
afterAll(async () => { await t?.close(); });

const fn = (name: string) => `${t.dev.info.devServer.functions}/${name}`;

/** Posts, checks that nothing changed and that exactly one refusal was logged; answers the answer. */
async function refusedOnce(name: string, body: string | undefined, headers: Record<string, string> = {}) {
  const seen = logs.length;
  const answer = await changesNothing(t, () => post(fn(name), body, headers));
  expect(refusals(logs.slice(seen))).toHaveLength(1);
  return answer;
}

it('an empty POST without headers is refused by pay-notify and refund-notify, not acknowledged', async () => {
  expect(await refusedOnce('pay-notify', undefined)).toMatchObject({ status: 200, json: { errcode: 1, errmsg: 'refused: not a CloudPay payment event: returnCode is required' } });
  expect(await refusedOnce('refund-notify', undefined)).toMatchObject({ status: 200, json: { errcode: 1, errmsg: 'refused: not a CloudPay refund event: outTradeNo is required' } });
  // Under every name a function answers to.
  for (const name of ['wxpay-pay-notify', 'wxpay-refund-notify']) expect((await refusedOnce(name, '')).json.errcode).toBe(1);
});

it.each([
  ['{}', '{}'],
  ['null', 'null'],
  ['an array', '[{"outTradeNo":"X"}]'],
  ['a number', '42'],
  ['a string', '"SUCCESS"'],
  ['the fields only under __proto__', '{"__proto__":{"returnCode":"SUCCESS","resultCode":"SUCCESS","outTradeNo":"HF0000001","totalFee":1,"transactionId":"4200000000000000000000000001"}}'],
])('a JSON event that is %s is refused by both', async (_what, body) => {
  for (const name of ['pay-notify', 'refund-notify']) {
    const answer = await refusedOnce(name, body, { 'Content-Type': 'application/json' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ errcode: 1, errmsg: expect.stringMatching(/^refused: not a CloudPay (payment|refund) event: /) });
  }
});

it('an event naming a real order but missing what a CloudPay event always has is refused, and the order stays unpaid', async () => {
  const orderNo = await createOrder(t, 100);
  const answer = await refusedOnce('pay-notify', JSON.stringify({ outTradeNo: orderNo, totalFee: 100, resultCode: 'SUCCESS' }), { 'Content-Type': 'application/json' });
  expect(answer.json).toEqual({ errcode: 1, errmsg: 'refused: not a CloudPay payment event: returnCode is required' });
  expect(refusals(logs).at(-1)).toMatchObject({ event: 'cloudpay.malformed_event', outTradeNo: orderNo });
  expect((await orderOf(t, orderNo)).status).toBe(1);
});

it('a body that is not JSON is what the HTTP trigger would get: refused as an unsigned notification', async () => {
  for (const name of ['pay-notify', 'refund-notify']) {
    const answer = await refusedOnce(name, 'returnCode=SUCCESS&outTradeNo=X', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(answer).toMatchObject({ status: 401, json: { code: 'FAIL', message: 'signature verification failed: Wechatpay-* signature headers are missing' } });
  }
});

it('a direct invocation dressed as the HTTP trigger still needs WeChat Pay\'s signature', async () => {
  const orderNo = await createOrder(t, 100);
  const trigger = { httpMethod: 'POST', headers: {}, body: JSON.stringify({ event_type: 'TRANSACTION.SUCCESS', resource: {} }), isBase64Encoded: false };
  expect((await refusedOnce('pay-notify', JSON.stringify(trigger), { 'Content-Type': 'application/json' })).status).toBe(401);
  expect((await orderOf(t, orderNo)).status).toBe(1);
});

it('an order number thousands of characters long is refused, and the log line keeps it short', async () => {
  const seen = logs.length;
  const answer = await invoke(t, 'pay-notify', { returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: 'N'.repeat(5000), totalFee: 1, transactionId: '1' });
  expect(answer.body).toEqual({ errcode: 1, errmsg: 'refused: not a CloudPay payment event: outTradeNo must be at most 32 characters' });
  const [line] = refusals(logs.slice(seen));
  expect(line!.outTradeNo.length).toBeLessThanOrEqual(65);
  expect(logs.slice(seen).join('\n').length).toBeLessThan(1000);
});

it('reconcile and the connector still take JSON only', async () => {
  expect(await changesNothing(t, () => post(fn('reconcile'), '<xml/>'))).toMatchObject({ status: 400, json: { code: 'INVALID_REQUEST', message: 'the event must be JSON' } });
});
