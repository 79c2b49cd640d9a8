/**
 * Forged CloudPay events. Anyone able to invoke a callback function can send one, so an event only names the order
 * (or refund) to look at: every fact written comes from WeChat Pay's own answer (queryOrder / queryRefund), and an
 * event that answer contradicts — transaction, amount, payer, refund id, refund amount, status, order — is refused
 * (errcode ≠ 0), logged, and changes no order and no refund record. Here against a payment and refunds WeChat Pay
 * really made, whose own events never arrived (their notifications went to a sink). Plus the invocation source
 * check (`callbacks.checkCloudPaySource`, getWXContext().SOURCE).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalFunctionHost, LocalFunctionHost } from '../callbacks/local-host';
import { invocationSource } from '../callbacks/runtime';
import type { CloudPayApi } from '../connector';
import { openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, ModelStore } from '../datasources/weda';
import { CLOUDPAY_API_NAMES } from '../wxpay';
import {
  cloudPayPaymentEvent, cloudPayRefundEvent, cloudPayRefundEventFor, createOrder, invoke, orderOf, PAYER, placeAndPay,
  TestDev, withSinkDev,
} from './helpers/callback-harness';
import { changesNothing, refusals } from './helpers/hostile';
import type { Connector } from '../connector';

const ATTACKER = 'oATTACKER0000000000000000000';

let t: TestDev;
let connector: Connector;
const logs: string[] = [];
withSinkDev({
    refundSettleSeconds: null,
    callbacks: { payerMessage: { templateId: 'TPL_PAID', data: { character_string1: '{orderNo}' } } },
    log: (l) => logs.push(l),
  }, (d) => ({ t, connector } = d));

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;
const messagesTo = async (openid: string) => ((await t.get(sandbox('/sandbox/messages'))).body.messages as any[]).filter((m) => m.touser === openid);
const refusalsOf = (orderNo: string) => refusals(logs).filter((l) => l.outTradeNo === orderNo);

describe('a payment WeChat Pay made, whose event has not arrived', () => {
  let orderNo: string;
  let tx: any;
  beforeAll(async () => {
    orderNo = await createOrder(t, 1800);
    tx = await placeAndPay(t, connector, orderNo, 1800);
  });

  it.each([
    ['another payer (the payer message would go to them)', (e: any) => ({ ...e, subOpenid: ATTACKER }), "refused: the event's payer openid is not WeChat Pay's (queryOrder)"],
    ['another transaction id', (e: any) => ({ ...e, transactionId: '4200000000000000000000000666' }), "refused: the event's transactionId is not WeChat Pay's (queryOrder)"],
    ['no transaction id', ({ transactionId: _none, ...e }: any) => e, 'refused: not a CloudPay payment event: transactionId is required for a successful payment'],
    ['an empty transaction id', (e: any) => ({ ...e, transactionId: '' }), 'refused: not a CloudPay payment event: transactionId is required for a successful payment'],
  ])('an event with %s is refused, and changes nothing', async (_what, forge, errmsg) => {
    const answer = await changesNothing(t, () => invoke(t, 'pay-notify', forge(cloudPayPaymentEvent(t, tx))));
    expect(answer).toEqual({ status: 200, body: { errcode: 1, errmsg } });
    expect((await orderOf(t, orderNo)).status).toBe(1);
    expect(refusalsOf(orderNo).at(-1)).toMatchObject({ reason: expect.any(String), outTradeNo: orderNo });
  });

  it('one with made-up time and payer fields that WeChat Pay does not contradict writes WeChat Pay\'s facts, not the event\'s', async () => {
    // The payer the event names is the real one (a forger who is the payer); the time is made up.
    const event = cloudPayPaymentEvent(t, tx, { timeEnd: '20200101000000', openid: ATTACKER });
    expect((await invoke(t, 'pay-notify', event)).body).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, transactionId: tx.transaction_id, openid: PAYER, paidAt: Date.parse(tx.success_time) });
    expect(await messagesTo(ATTACKER)).toEqual([]);
    expect(await messagesTo(PAYER)).toHaveLength(1);
  });
});

it('an event whose amount is the order\'s but not what WeChat Pay was paid is refused', async () => {
  const orderNo = await createOrder(t, 500);
  const tx = await placeAndPay(t, connector, orderNo, 400);
  const answer = await changesNothing(t, () => invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx, { totalFee: 500, cashFee: 500 })));
  expect(answer.body).toEqual({ errcode: 1, errmsg: "refused: the event's totalFee is not WeChat Pay's (queryOrder)" });
  expect(refusalsOf(orderNo)).toEqual([expect.objectContaining({ event: 'payment.unconfirmed', retry: false, field: 'totalFee', claimed: 500, wechat: 400 })]);
});

it('an event for an order WeChat Pay has not seen paid is asked for again; for a failed payment, refused for good', async () => {
  const unpaid = await createOrder(t, 300);
  await connector.call('unifiedOrder', { body: 'x', outTradeNo: unpaid, totalFee: 300, openid: PAYER });
  const fake = { transaction_id: '4200000000000000000000000777', out_trade_no: unpaid, amount: { total: 300 }, payer: { openid: ATTACKER }, success_time: '2024-03-01T12:00:05+08:00' };
  expect((await changesNothing(t, () => invoke(t, 'pay-notify', cloudPayPaymentEvent(t, fake)))).body)
    .toEqual({ errcode: 1, errmsg: 'not applied: queryOrder says NOTPAY; deliver again' });
  expect(refusalsOf(unpaid).at(-1)).toMatchObject({ event: 'payment.unconfirmed', retry: true });

  expect((await t.post(sandbox(`/sandbox/transactions/${unpaid}/pay`), { result: 'PAYERROR' })).status).toBe(200);
  expect((await changesNothing(t, () => invoke(t, 'pay-notify', cloudPayPaymentEvent(t, fake)))).body)
    .toEqual({ errcode: 1, errmsg: 'refused: queryOrder says PAYERROR' });
  expect(refusalsOf(unpaid).at(-1)).toMatchObject({ event: 'payment.unconfirmed', retry: false });

  const neverPlaced = await createOrder(t, 300);
  expect((await changesNothing(t, () => invoke(t, 'pay-notify', cloudPayPaymentEvent(t, { ...fake, out_trade_no: neverPlaced })))).body)
    .toEqual({ errcode: 1, errmsg: 'not applied: queryOrder: WeChat Pay has no such order; deliver again' });
});

describe('refunds WeChat Pay made, whose events have not arrived', () => {
  let orderNo: string;
  let otherOrderNo: string;
  const refundNo = () => `${orderNo}-F1`;
  beforeAll(async () => {
    orderNo = await createOrder(t, 1000);
    expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, await placeAndPay(t, connector, orderNo, 1000)))).body.errcode).toBe(0);
    await connector.call('refund', { outTradeNo: orderNo, outRefundNo: refundNo(), totalFee: 1000, refundFee: 600 });
    expect((await t.post(sandbox(`/sandbox/refunds/${refundNo()}/settle`), { status: 'SUCCESS' })).status).toBe(200);
    // The app marks the order refunding when it asks for a refund (DESIGN.md 2 → 3).
    await t.model('orders', 'wedaBatchUpdateV2', { filter: { where: { orderNo: { $eq: orderNo } } }, data: { status: 3, refundNo: refundNo() } });
    otherOrderNo = await createOrder(t, 200);
    expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, await placeAndPay(t, connector, otherOrderNo, 200)))).body.errcode).toBe(0);
    await connector.call('refund', { outTradeNo: otherOrderNo, outRefundNo: `${otherOrderNo}-F1`, totalFee: 200, refundFee: 200 });
  });

  it.each([
    ['another refund amount', (e: any) => ({ ...e, refundFee: 1000, settlementRefundFee: 1000 }), "refused: the event's refundFee is not WeChat Pay's (queryRefund)"],
    ['another refund id', (e: any) => ({ ...e, refundId: '50300000000000000000000000666' }), "refused: the event's refundId is not WeChat Pay's (queryRefund)"],
    ['another payment', (e: any) => ({ ...e, transactionId: '4200000000000000000000000666' }), "refused: the event's transactionId is not WeChat Pay's (queryRefund)"],
    ['another final status (CLOSED, where WeChat Pay says SUCCESS)', (e: any) => ({ ...e, refundStatus: 'REFUNDCLOSE' }), 'refused: queryRefund says SUCCESS, the event says CLOSED'],
    ['a status outside the enum (PROCESSING)', (e: any) => ({ ...e, refundStatus: 'PROCESSING' }), 'refused: not a CloudPay refund event: refundStatus must be one of SUCCESS, CHANGE, REFUNDCLOSE'],
    ['its status only under __proto__', ({ refundStatus, ...e }: any) => JSON.parse(JSON.stringify({ ...e, ['__proto__']: { refundStatus } })), 'refused: not a CloudPay refund event: refundStatus is required'],
    ['no refund id', ({ refundId: _none, ...e }: any) => e, 'refused: not a CloudPay refund event: refundId is required'],
  ])('an event with %s is refused, and changes nothing', async (_what, forge, errmsg) => {
    const event = forge(await cloudPayRefundEventFor(t, refundNo(), 'SUCCESS'));
    const answer = await changesNothing(t, () => invoke(t, 'refund-notify', event));
    expect(answer).toEqual({ status: 200, body: { errcode: 1, errmsg } });
    expect(refusalsOf(orderNo).at(-1)).toMatchObject({ reason: expect.any(String), outTradeNo: orderNo });
  });

  it('an event pairing this order with another order\'s refund is refused', async () => {
    const theirs = await cloudPayRefundEventFor(t, `${otherOrderNo}-F1`, 'SUCCESS');
    const answer = await changesNothing(t, () => invoke(t, 'refund-notify', { ...theirs, outTradeNo: orderNo, totalFee: 1000 }));
    expect(answer.body).toEqual({ errcode: 1, errmsg: "refused: the event's outTradeNo is not WeChat Pay's (queryRefund)" });
  });

  it('a SUCCESS for a refund WeChat Pay still processes is asked for again', async () => {
    const answer = await changesNothing(t, () => invoke(t, 'refund-notify', cloudPayRefundEvent({ outTradeNo: otherOrderNo, outRefundNo: `${otherOrderNo}-F1`, refundStatus: 'SUCCESS', totalFee: 200 })));
    expect(answer.body).toEqual({ errcode: 1, errmsg: 'not applied: queryRefund says PROCESSING, the event says SUCCESS; deliver again' });
  });

  it('the genuine event, with a made-up success time, is applied with WeChat Pay\'s amount, id and time', async () => {
    const atWechat = (await t.get(sandbox(`/sandbox/refunds/${refundNo()}`))).body;
    const event = { ...(await cloudPayRefundEventFor(t, refundNo(), 'SUCCESS')), successTime: '2020-01-01 00:00:00' };
    expect((await invoke(t, 'refund-notify', event)).body).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, refundedAmount: 600, refundAmount: 600, refundId: atWechat.refund_id, refundedAt: Date.parse(atWechat.success_time) });
    const [record] = (await t.model('refunds', 'wedaGetRecordsV2', { filter: { where: { refundNo: { $eq: refundNo() } } } })).records;
    expect(record).toMatchObject({ orderNo, amount: 600, status: 'SUCCESS', refundId: atWechat.refund_id, successTime: Date.parse(atWechat.success_time) });
  });
});

describe('the invocation source (callbacks.checkCloudPaySource, getWXContext().SOURCE)', () => {
  let dir: string;
  let store: ModelStore;
  const queried: string[] = [];
  // CloudPay as it answers queryOrder for a paid order (wxpay-v2-cloudpay.md §5.3).
  const cloudPay = Object.fromEntries(CLOUDPAY_API_NAMES.map((api) => [api, async (p: any) => {
    queried.push(api);
    return {
      returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: p.outTradeNo, tradeState: 'SUCCESS', totalFee: 100, transactionId: '4200000000000000000000000100',
      subOpenid: PAYER, timeEnd: '20240301120005', errCode: 0, errMsg: `cloudPay.${api}:ok`,
    };
  }])) as unknown as CloudPayApi;
  const config = (callbacks: Record<string, unknown> = {}) => ({
    provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109', envType: 'pre',
    cloudpay: { envId: 'env-1', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' }, callbacks,
  }) as never;
  const hostFor = (env: Record<string, string>, callbacks?: Record<string, unknown>): LocalFunctionHost =>
    createLocalFunctionHost({ config: config(callbacks), baseDir: dir, weda: createWeda({ store }), cloudPay, env, log: (l) => logs.push(l) });
  const event = (orderNo: string) => ({
    returnCode: 'SUCCESS', resultCode: 'SUCCESS', subMchId: '1900000109', outTradeNo: orderNo, transactionId: '4200000000000000000000000100', totalFee: 100, subOpenid: PAYER, timeEnd: '20240301120005',
  });
  const pay = async (host: LocalFunctionHost, orderNo: string) => (await host.invoke('pay-notify', { headers: {}, rawBody: Buffer.from(JSON.stringify(event(orderNo))) })).body;
  const create = (orderNo: string) => store.callModel({ name: 'orders', methodName: 'wedaCreateV2', params: { data: { orderNo, amount: 100, status: 1 } }, envType: 'pre' });
  const statusOf = async (orderNo: string) => (await store.callModel({ name: 'orders', methodName: 'wedaGetItemV2', params: { filter: { where: { orderNo: { $eq: orderNo } } } }, envType: 'pre' })).status;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-source-'));
    store = openSqliteStore({ dataDir: dir });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an event a client invoked (wx_client), before asking WeChat Pay or writing', async () => {
    await create('SRC000001');
    queried.length = 0;
    expect(await pay(hostFor({ TCB_SOURCE: 'wx_client' }), 'SRC000001')).toEqual({ errcode: 1, errmsg: 'refused: not invoked by CloudPay' });
    const refund = await hostFor({ TCB_SOURCE: 'wx_http' }).invoke('refund-notify', { headers: {}, rawBody: Buffer.from(JSON.stringify({ outTradeNo: 'SRC000001', outRefundNo: 'R1', refundId: '1', refundStatus: 'SUCCESS' })) });
    expect(refund.body).toEqual({ errcode: 1, errmsg: 'refused: not invoked by CloudPay' });
    expect(queried).toEqual([]);
    expect(await statusOf('SRC000001')).toBe(1);
    expect(refusals(logs).filter((l) => l.outTradeNo === 'SRC000001').map((l) => l.event)).toEqual(['cloudpay.wrong_source', 'cloudpay.wrong_source']);
  });

  it('goes on for CloudPay\'s own (wx_paycallback), for a source the runtime does not show, and when the check is off', async () => {
    for (const [orderNo, host] of [
      ['SRC000002', hostFor({ TCB_SOURCE: 'wx_paycallback' })],
      ['SRC000003', hostFor({})],
      ['SRC000004', hostFor({ TCB_SOURCE: 'wx_client' }, { checkCloudPaySource: false })],
    ] as const) {
      await create(orderNo);
      expect(await pay(host, orderNo)).toEqual({ errcode: 0, errmsg: 'OK' });
      expect(await statusOf(orderNo)).toBe(2);
    }
  });

  it('reads the source from the function\'s context first (environment, then environ), then its environment variables', () => {
    expect(invocationSource({ environment: { TCB_SOURCE: 'wx_client' } }, { TCB_SOURCE: 'wx_paycallback' })).toBe('wx_client');
    expect(invocationSource({ environment: JSON.stringify({ TCB_SOURCE: 'wx_http' }) }, {})).toBe('wx_http');
    expect(invocationSource({ environ: 'WX_OPENID=o1;TCB_SOURCE=wx_paycallback;TCB_ENV=e' }, {})).toBe('wx_paycallback');
    expect(invocationSource({ environment: '{not json' }, { TCB_SOURCE: 'wx_devtools' })).toBe('wx_devtools');
    expect(invocationSource({ function_name: 'f' }, {})).toBeUndefined();
    expect(invocationSource(undefined, { TCB_SOURCE: '' })).toBeUndefined();
  });
});
