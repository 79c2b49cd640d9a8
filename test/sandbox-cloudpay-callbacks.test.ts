/**
 * CloudPay callbacks as cloud functions (wxpay-v2-cloudpay.md §5.4–5.5): the payment and refund events in
 * CloudPay's camelCase shape (validated against schemas/events/cloudpay-*.json), delivered to the function
 * named at unifiedOrder / refund, and redelivered on the v3 retry schedule (sandbox clock) until the function
 * returns `{errcode: 0}` — `{return_code:'SUCCESS'}`, `true`, HTTP errors and timeouts are not acks
 * (peers.md §3.2). Attempts are logged in `GET /sandbox/notifications` (kind "cloudpay", channel "cloud-function"),
 * in the same shape as v3 notifications, and can be resent.
 */
import Ajv from 'ajv';
import { RunningSandbox, startSandbox } from '../sandbox';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import type { CloudPayApi } from '../connector';
import { EVENT_SCHEMAS } from '../schemas';
import { control, newOutTradeNo, startReceiver, tempDataDir, v3Request, waitFor } from './helpers/sandbox-harness';
import { cloudPayDeliveries, FakeCloudFunction, registerFunction, startCloudFunction } from './helpers/cloudpay-functions';

const ajv = new Ajv({ allErrors: true, strict: false });
const validPayment = ajv.compile(EVENT_SCHEMAS.cloudPayPayment);
const validRefund = ajv.compile(EVENT_SCHEMAS.cloudPayRefund);
const ENV = 'cloud1-sandbox';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
let cloudPay: CloudPayApi;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, notifyTimeoutMs: 300, refundSettleSeconds: null });
  cloudPay = createHttpCloudPay(sandbox.baseUrl);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sandbox?.close();
  data?.remove();
});

async function fn(name: string, answer?: Parameters<typeof startCloudFunction>[0]): Promise<FakeCloudFunction> {
  const f = await startCloudFunction(answer);
  cleanups.push(f.close);
  await registerFunction(sandbox.info, ENV, name, f.url);
  return f;
}

async function placeAndPay(functionName: string, extra: Record<string, unknown> = {}): Promise<{ outTradeNo: string; paid: any }> {
  const outTradeNo = newOutTradeNo('CB');
  const r = await cloudPay.unifiedOrder({
    subMchId: sandbox.info.merchant.mchid, envId: ENV, functionName, body: '咖啡券', outTradeNo, totalFee: 1800, spbillCreateIp: '127.0.0.1', ...extra,
  });
  expect(r.resultCode).toBe('SUCCESS');
  const paid = await control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
  expect(paid.status).toBe(200);
  return { outTradeNo, paid: paid.json };
}

const advance = (seconds: number) => control(sandbox.info, 'POST', '/sandbox/clock/advance', { seconds });
const deliveryFor = async (outTradeNo: string) => (await cloudPayDeliveries(sandbox.info, `?out_trade_no=${outTradeNo}`))[0];

test('a paid CloudPay order invokes its payment function with the §5.4 event; no v3 notification is sent', async () => {
  const f = await fn('payCallback');
  const { outTradeNo, paid } = await placeAndPay('payCallback', { attach: '{"cart":7}' });
  await waitFor(() => f.events.length === 1, 'the payment event');
  const event = f.events[0];
  expect(validPayment(event)).toBe(true);
  expect(event).toEqual({
    returnCode: 'SUCCESS', resultCode: 'SUCCESS',
    appid: 'wxd2565e6a04246fd1', mchId: '1800780001', subAppid: sandbox.info.merchant.appid, subMchId: sandbox.info.merchant.mchid,
    nonceStr: expect.stringMatching(/^[0-9A-Za-z]{32}$/),
    openid: expect.stringMatching(/^o/), isSubscribe: 'N', subOpenid: paid.payer.openid, subIsSubscribe: 'N',
    tradeType: 'JSAPI', bankType: 'OTHERS', totalFee: 1800, feeType: 'CNY', cashFee: 1800,
    transactionId: paid.transaction_id, outTradeNo, timeEnd: paid.success_time.slice(0, 19).replace(/\D/g, ''), attach: '{"cart":7}',
  });
  expect(event).not.toHaveProperty('sign');
  expect(event.openid).not.toBe(event.subOpenid); // openid is under the provider's appid

  await waitFor(async () => (await deliveryFor(outTradeNo))?.status === 'delivered', 'the delivery to be logged as delivered');
  const log = await (await fetch(`${sandbox.baseUrl}/sandbox/notifications?out_trade_no=${outTradeNo}`)).json() as { notifications: any[] };
  expect(log.notifications).toHaveLength(1); // the CloudPay delivery only: no v3 TRANSACTION.SUCCESS for this order
  expect(log.notifications[0]).toMatchObject({
    kind: 'cloudpay', channel: 'cloud-function', event_type: 'CLOUDPAY.PAYMENT', url: `cloudfunction://${ENV}/payCallback`, out_trade_no: outTradeNo,
    status: 'delivered', nextRetryAt: null, attempts: [{ attempt: 1, url: f.url, statusCode: 200, acked: true, responseBody: '{"errcode":0,"errmsg":"OK"}' }],
  });
  // The full entry has the v3 entries' shape too: what was sent (the event, as the function received it) and what came back.
  const full = await (await fetch(`${sandbox.baseUrl}/sandbox/notifications/${log.notifications[0].id}`)).json() as any;
  expect(full.attempts[0].request.headers).toEqual({ 'Content-Type': 'application/json' });
  expect(JSON.parse(full.attempts[0].request.body)).toEqual(event);
  expect(full.attempts[0].response).toMatchObject({ statusCode: 200, body: '{"errcode":0,"errmsg":"OK"}', headers: expect.objectContaining({ 'content-type': 'application/json' }) });
});

test('retried on the schedule (sandbox clock) until {errcode: 0}: {return_code:"SUCCESS"}, true, HTTP 500 and a timeout are failures', async () => {
  const answers = [
    { result: { return_code: 'SUCCESS' } },   // Tencent's old demo (peers.md §3.2): not an ack
    { result: true },                           // "我直接返回TRUE后，是没有用的"
    { status: 500, result: { errcode: 0 } },    // an HTTP error, whatever the body
    { result: { errcode: 0 }, delayMs: 1000 },  // too late (sandbox timeout 300 ms)
    { result: { errcode: 0, errmsg: 'ok' } },   // the ack
  ];
  const f = await fn('payRetry', (_e, n) => answers[Math.min(n, answers.length - 1)]!);
  const { outTradeNo } = await placeAndPay('payRetry');
  const attempts = async (n: number) => waitFor(async () => {
    const d = await deliveryFor(outTradeNo);
    return d && d.attempts.length === n ? d : undefined;
  }, `attempt ${n}`);

  let d = await attempts(1);
  expect(d.status).toBe('pending');
  expect(d.attempts[0].error).toMatch(/not \{errcode: 0\}/);
  // Nothing more happens until the sandbox clock reaches the next retry (15 s later)…
  await new Promise((r) => setTimeout(r, 300));
  expect(f.events).toHaveLength(1);
  const gaps = [15, 15, 30, 180];
  for (let i = 0; i < gaps.length; i++) {
    expect(Date.parse(d.nextRetryAt) - Date.parse(d.attempts[i].at)).toBe(gaps[i]! * 1000);
    await advance(gaps[i]!);
    d = await attempts(i + 2);
  }
  expect(d.status).toBe('delivered');
  expect(d.attempts.map((a: any) => a.statusCode)).toEqual([200, 200, 500, null, 200]);
  expect(d.attempts[1].error).toMatch(/returned true/);
  expect(d.attempts[2].error).toMatch(/HTTP 500/);
  expect(d.attempts[3].error).toMatch(/no answer within 300 ms/);
  expect(f.events.map((e) => e.outTradeNo)).toEqual(Array(5).fill(outTradeNo));
  expect(new Set(f.events.map((e) => e.transactionId)).size).toBe(1); // the same payment each time
});

test('a function nobody registered fails like any other failure, and is reached once registered', async () => {
  const { outTradeNo } = await placeAndPay('payLater');
  const first = await waitFor(async () => {
    const d = await deliveryFor(outTradeNo);
    return d?.attempts.length === 1 ? d : undefined;
  }, 'the failed first attempt');
  expect(first.attempts[0]).toMatchObject({ statusCode: null, error: expect.stringContaining('FUNCTION_NOT_FOUND') });
  const f = await fn('payLater');
  await advance(15);
  await waitFor(() => f.events.length === 1, 'the retried event');
  expect(f.events[0].outTradeNo).toBe(outTradeNo);
});

test('resend: POST /sandbox/notifications/{id}/resend delivers again (a duplicate the function must tolerate)', async () => {
  const f = await fn('payResend');
  const { outTradeNo } = await placeAndPay('payResend');
  await waitFor(async () => (await deliveryFor(outTradeNo))?.status === 'delivered', 'delivery');
  const { id } = await deliveryFor(outTradeNo);
  const resent = await control(sandbox.info, 'POST', `/sandbox/notifications/${id}/resend`);
  expect(resent.status).toBe(200);
  expect(resent.json).toMatchObject({ id, kind: 'cloudpay', status: 'pending' });
  await waitFor(() => f.events.length === 2, 'the resent event');
  expect(f.events[1].transactionId).toBe(f.events[0].transactionId);
  expect((await control(sandbox.info, 'POST', '/sandbox/notifications/cloudpay-nope/resend')).status).toBe(404);
});

test('refund settlement invokes the refund function with the flat §5.5 event: SUCCESS, CHANGE (ABNORMAL), REFUNDCLOSE (CLOSED)', async () => {
  const pays = await fn('payForRefunds');
  const refunds = await fn('refundCallback');
  const { outTradeNo, paid } = await placeAndPay('payForRefunds');
  await waitFor(() => pays.events.length === 1, 'the payment event');
  const base = { subMchId: sandbox.info.merchant.mchid, envId: ENV, functionName: 'refundCallback', outTradeNo, totalFee: 1800 };
  const outcomes = [['SUCCESS', 'SUCCESS', 600], ['ABNORMAL', 'CHANGE', 500], ['CLOSED', 'REFUNDCLOSE', 400]] as const;
  const ids: string[] = [];
  for (const [i, [, , fee]] of outcomes.entries()) {
    const r = await cloudPay.refund({ ...base, outRefundNo: `${outTradeNo}-${i}`, refundFee: fee });
    expect(r.resultCode).toBe('SUCCESS');
    ids.push(r.refundId as string);
  }
  expect(refunds.events).toHaveLength(0); // accepted is not refunded: no event until settlement
  for (const [i, [status]] of outcomes.entries()) {
    expect((await control(sandbox.info, 'POST', `/sandbox/refunds/${outTradeNo}-${i}/settle`, { status })).status).toBe(200);
  }
  await waitFor(() => refunds.events.length === 3, 'three refund events');
  const byNo = new Map(refunds.events.map((e) => [e.outRefundNo as string, e]));
  for (const [i, [, v2Status, fee]] of outcomes.entries()) {
    const e = byNo.get(`${outTradeNo}-${i}`);
    expect(validRefund(e)).toBe(true);
    expect(e).toMatchObject({
      returnCode: 'SUCCESS', appid: 'wxd2565e6a04246fd1', mchId: '1800780001', subMchId: sandbox.info.merchant.mchid,
      transactionId: paid.transaction_id, outTradeNo, refundId: ids[i], outRefundNo: `${outTradeNo}-${i}`,
      totalFee: 1800, settlementTotalFee: 1800, refundFee: fee, settlementRefundFee: fee, refundStatus: v2Status,
      refundRecvAccout: '支付用户零钱', refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS', refundRequestSource: 'API',
    });
    expect(e).not.toHaveProperty('attach');
    if (v2Status === 'SUCCESS') expect(e.successTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    else expect(e).not.toHaveProperty('successTime');
  }
  const log = await cloudPayDeliveries(sandbox.info, `?out_trade_no=${outTradeNo}`);
  expect(log.filter((n) => n.event_type === 'CLOUDPAY.REFUND').map((n) => n.out_refund_no).sort()).toEqual([0, 1, 2].map((i) => `${outTradeNo}-${i}`));
});

test('v3 orders keep their v3 notifications; the shared log marks each entry with its kind', async () => {
  const rx = await startReceiver();
  cleanups.push(rx.close);
  const no = newOutTradeNo('V3K');
  const created = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', {
    appid: sandbox.info.merchant.appid, mchid: sandbox.info.merchant.mchid, description: 'v3', out_trade_no: no, notify_url: rx.url, amount: { total: 9, currency: 'CNY' }, payer: { openid: 'o-v3' },
  });
  expect(created.status).toBe(200);
  await control(sandbox.info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
  await waitFor(() => rx.received.length === 1, 'the v3 notification');
  const all = (await (await fetch(`${sandbox.baseUrl}/sandbox/notifications`)).json() as { notifications: any[] }).notifications;
  expect(all.find((n) => n.out_trade_no === no)).toMatchObject({ kind: 'v3', event_type: 'TRANSACTION.SUCCESS', url: rx.url });
  expect(all.some((n) => n.kind === 'cloudpay')).toBe(true);
  expect(all.every((n) => n.kind === 'v3' || n.kind === 'cloudpay')).toBe(true);
  const delivered = (await (await fetch(`${sandbox.baseUrl}/sandbox/notifications?status=pending`)).json() as { notifications: any[] }).notifications;
  expect(delivered.every((n) => n.status === 'pending')).toBe(true);
});

describe('with a short schedule, across a restart', () => {
  test('gives up after the last retry; the registry and pending deliveries survive a restart', async () => {
    const dir = tempDataDir();
    let s = await startSandbox({ dataDir: dir.dir, notifyTimeoutMs: 300, retryScheduleSeconds: [15, 15] });
    try {
      const refusing = await startCloudFunction(() => ({ result: { errcode: -1, errmsg: 'busy' } }));
      cleanups.push(refusing.close);
      await registerFunction(s.info, ENV, 'payGiveUp', refusing.url);
      const cp = createHttpCloudPay(s.baseUrl);
      const order = (no: string, functionName: string) => cp.unifiedOrder({ subMchId: s.info.merchant.mchid, envId: ENV, functionName, body: 'b', outTradeNo: no, totalFee: 1, spbillCreateIp: '127.0.0.1' });
      const no = newOutTradeNo('GU');
      await order(no, 'payGiveUp');
      await control(s.info, 'POST', `/sandbox/transactions/${no}/pay`, {});
      const attempts = (n: number) => waitFor(async () => {
        const d = (await cloudPayDeliveries(s.info, `?out_trade_no=${no}`))[0];
        return d?.attempts.length === n ? d : undefined;
      }, `attempt ${n}`);
      await attempts(1);
      await control(s.info, 'POST', '/sandbox/clock/advance', { seconds: 15 });
      await attempts(2);
      await control(s.info, 'POST', '/sandbox/clock/advance', { seconds: 15 });
      const last = await attempts(3);
      expect(last).toMatchObject({ status: 'failed', nextRetryAt: null });
      expect(refusing.events).toHaveLength(3);

      // A delivery to a function that is down stays pending across a restart, and goes out after it.
      const down = await startCloudFunction();
      await down.close();
      await registerFunction(s.info, ENV, 'payAfterRestart', down.url);
      const no2 = newOutTradeNo('RS');
      await order(no2, 'payAfterRestart');
      await control(s.info, 'POST', `/sandbox/transactions/${no2}/pay`, {});
      await waitFor(async () => (await cloudPayDeliveries(s.info, `?out_trade_no=${no2}`))[0]?.attempts.length === 1, 'the failed attempt');
      await s.close();

      s = await startSandbox({ dataDir: dir.dir, notifyTimeoutMs: 300, retryScheduleSeconds: [15, 15] });
      const functions = (await (await fetch(`${s.baseUrl}/sandbox/cloudpay/functions`)).json() as { functions: any[] }).functions;
      expect(functions.map((f) => f.functionName).sort()).toEqual(['payAfterRestart', 'payGiveUp']);
      const up = await startCloudFunction();
      cleanups.push(up.close);
      await registerFunction(s.info, ENV, 'payAfterRestart', up.url);
      await control(s.info, 'POST', '/sandbox/clock/advance', { seconds: 15 });
      await waitFor(() => up.events.length === 1, 'the delivery after restart');
      expect(up.events[0].outTradeNo).toBe(no2);
      // CloudPay still knows the order's callback after the restart
      expect(await createHttpCloudPay(s.baseUrl).queryOrder({ subMchId: s.info.merchant.mchid, outTradeNo: no2 })).toMatchObject({ tradeState: 'SUCCESS' });
    } finally {
      await s.close();
      dir.remove();
    }
  });
});
