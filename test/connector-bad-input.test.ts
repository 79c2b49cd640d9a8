/**
 * Bad input, method by method: missing required field, wrong type, out-of-range amount, bad order-number
 * pattern, unknown field → PARAM_ERROR whose message and detail name the field and the rule, on both
 * backends — and the sandbox's request log shows nothing was sent to WeChat Pay.
 */
import { createConnector, CloudPayProvider, Connector, CloudPayApi } from '../connector';
import { startTestDev, TestDev } from './helpers/dev';

type Case = [method: string, kind: string, params: Record<string, unknown>, field: string, rule: RegExp];

const okUnified = { body: 'goods', outTradeNo: 'ORDER000001', totalFee: 100, openid: 'o1' };
const okRefund = { outTradeNo: 'ORDER000001', outRefundNo: 'R000001', totalFee: 100, refundFee: 50 };

const CASES: Case[] = [
  ['unifiedOrder', 'missing required', { ...okUnified, body: undefined }, 'body', /body is required/],
  ['unifiedOrder', 'wrong type', { ...okUnified, totalFee: '100' }, 'totalFee', /totalFee must be an integer ≥ 1/],
  ['unifiedOrder', 'out-of-range amount', { ...okUnified, totalFee: 0 }, 'totalFee', /totalFee must be an integer ≥ 1/],
  ['unifiedOrder', 'amount too large', { ...okUnified, totalFee: 2 ** 31 }, 'totalFee', /≤ 2147483647/],
  ['unifiedOrder', 'bad order-number pattern', { ...okUnified, outTradeNo: 'A1' }, 'outTradeNo', /outTradeNo must match \^\[0-9A-Za-z_\\-\|\*\]\{6,32\}\$/],
  ['unifiedOrder', 'unknown field', { ...okUnified, total_fee: 100 }, 'total_fee', /total_fee is not a known field/],
  ['unifiedOrder', 'body too long', { ...okUnified, body: 'x'.repeat(128) }, 'body', /body must be at most 127 characters/],
  ['queryOrder', 'missing required', {}, 'outTradeNo|transactionId', /exactly one of outTradeNo, transactionId is required/],
  ['queryOrder', 'both given', { outTradeNo: 'ORDER000001', transactionId: '4200000001' }, 'outTradeNo|transactionId', /exactly one of/],
  ['queryOrder', 'wrong type', { outTradeNo: 123456 }, 'outTradeNo', /outTradeNo must be a string/],
  ['queryOrder', 'bad order-number pattern', { outTradeNo: 'has space 1' }, 'outTradeNo', /outTradeNo must match/],
  ['queryOrder', 'unknown field', { outTradeNo: 'ORDER000001', mchid: '1' }, 'mchid', /mchid is not a known field/],
  ['closeOrder', 'missing required', {}, 'outTradeNo', /outTradeNo is required/],
  ['closeOrder', 'wrong type', { outTradeNo: ['ORDER000001'] }, 'outTradeNo', /outTradeNo must be a string/],
  ['closeOrder', 'bad order-number pattern', { outTradeNo: 'x'.repeat(33) }, 'outTradeNo', /outTradeNo must match/],
  ['closeOrder', 'unknown field', { outTradeNo: 'ORDER000001', force: true }, 'force', /force is not a known field/],
  ['refund', 'missing required', { ...okRefund, outRefundNo: undefined }, 'outRefundNo', /outRefundNo is required/],
  ['refund', 'missing order reference', { outRefundNo: 'R000001', totalFee: 100, refundFee: 50 }, 'outTradeNo|transactionId', /at least one of outTradeNo, transactionId is required/],
  ['refund', 'wrong type', { ...okRefund, refundFee: 1.5 }, 'refundFee', /refundFee must be an integer ≥ 1/],
  ['refund', 'out-of-range amount', { ...okRefund, refundFee: -1 }, 'refundFee', /refundFee must be an integer ≥ 1/],
  ['refund', 'bad order-number pattern', { ...okRefund, outTradeNo: '订单号000001' }, 'outTradeNo', /outTradeNo must match/],
  ['refund', 'bad refund-number pattern', { ...okRefund, outRefundNo: 'R 1' }, 'outRefundNo', /outRefundNo must match/],
  ['refund', 'unknown field', { ...okRefund, refund_fee: 50 }, 'refund_fee', /refund_fee is not a known field/],
  ['queryRefund', 'missing required', {}, 'outRefundNo', /outRefundNo is required/],
  ['queryRefund', 'wrong type', { outRefundNo: 7 }, 'outRefundNo', /outRefundNo must be a string/],
  ['queryRefund', 'bad refund-number pattern', { outRefundNo: 'x'.repeat(65) }, 'outRefundNo', /outRefundNo must match/],
  ['queryRefund', 'unknown field', { outRefundNo: 'R000001', outTradeNo: 'ORDER000001' }, 'outTradeNo', /outTradeNo is not a known field/],
  ['downloadBill', 'missing required', { billType: 'ALL' }, 'billDate', /billDate is required/],
  ['downloadBill', 'wrong type', { billDate: 20240101 }, 'billDate', /billDate must be a string/],
  ['downloadBill', 'bad date pattern', { billDate: '2024/01/01' }, 'billDate', /billDate must match/],
  ['downloadBill', 'bad enum', { billDate: '2024-01-01', billType: 'EVERYTHING' }, 'billType', /billType must be one of ALL, SUCCESS, REFUND/],
  ['downloadBill', 'unknown field', { billDate: '2024-01-01', tarType: 'GZIP' }, 'tarType', /tarType is not a known field/],
  // WeChat Pay's own rules, checked here so the request is never sent (wxpay-v3.md §0, §1.1, §1.4).
  ['unifiedOrder', '4-byte character (emoji)', { ...okUnified, body: 'goods😀' }, 'body', /body must not contain characters outside the Basic Multilingual Plane \(emoji\)/],
  ['unifiedOrder', 'payer IP not an address', { ...okUnified, spbillCreateIp: '999.999.999.999' }, 'spbillCreateIp', /spbillCreateIp must be an IPv4 or IPv6 address/],
  ['unifiedOrder', 'expiry not a real time', { ...okUnified, timeExpire: '20240230120000' }, 'timeExpire', /timeExpire must be a time that exists/],
  ['refund', 'refundFee above totalFee', { ...okRefund, refundFee: 101 }, 'refundFee', /refundFee must be ≤ totalFee \(100\)/],
  ['refund', '4-byte character (emoji)', { ...okRefund, refundDesc: '😀' }, 'refundDesc', /refundDesc must not contain characters outside the Basic Multilingual Plane/],
  ['downloadBill', 'mixed date formats', { billDate: '2024-0101' }, 'billDate', /billDate must match/],
  ['downloadBill', 'not a real date', { billDate: '2024-02-30' }, 'billDate', /billDate must be a date that exists/],
  ['checkout', '4-byte character (emoji)', { goodsId: 'g1', openid: 'o😀' }, 'openid', /openid must not contain characters outside the Basic Multilingual Plane/],
  ['requestRefund', '4-byte character (emoji)', { orderNo: 'ORDER000001', reason: '😀' }, 'reason', /reason must not contain characters outside the Basic Multilingual Plane/],
];

let t: TestDev;
let connectors: Record<'v3' | 'cloudpay', Connector>;
let cloudPayCalls = 0;

beforeAll(async () => {
  t = await startTestDev({ seedGoods: false });
  // A CloudPay object that counts calls: bad input must never reach it either.
  const counting = new Proxy({}, { get: () => async () => { cloudPayCalls += 1; return { returnCode: 'SUCCESS', resultCode: 'SUCCESS' }; } }) as CloudPayApi;
  connectors = {
    v3: t.dev.connector,
    cloudpay: createConnector(new CloudPayProvider({ cloudPay: counting, subMchId: t.dev.info.merchant.mchid, envId: 'local', payCallbackFunction: 'wxpay-pay-notify' })),
  };
});
afterAll(async () => { await t?.close(); });

describe.each(['v3', 'cloudpay'] as const)('%s backend', (backend) => {
  it.each(CASES)('%s: %s → names %s', async (method, _kind, params, field, rule) => {
    const sentBefore = await t.sandboxRequestCount();
    const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    const err: any = await connectors[backend].call(method, clean).then(() => undefined, (e: unknown) => e);
    expect(err).toBeDefined();
    expect(err.code).toBe('PARAM_ERROR');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(rule);
    expect(err.detail.field).toBe(field);
    expect(await t.sandboxRequestCount()).toBe(sentBefore);
    expect(cloudPayCalls).toBe(0);
  });
});

it('lists every problem in detail.problems, structural ones first', async () => {
  const err: any = await connectors.v3.call("unifiedOrder", { outTradeNo: "x", totalFee: 0, extra: 1 }).catch((e: unknown) => e);
  const fields = err.detail.problems.map((p: { field: string }) => p.field);
  expect(fields.slice(0, 2).sort()).toEqual(['body', 'extra']);
  expect(fields).toEqual(expect.arrayContaining(['outTradeNo', 'totalFee']));
  expect(err.message).toMatch(/\(and 3 more\)$/);
});

it('says first that an input is not an object at all', async () => {
  const err: any = await connectors.v3.call('queryOrder', ['ORDER000001']).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '(input)', issue: 'type' } });
  expect(err.message).toMatch(/^queryOrder: \(input\) must be an object/);
});

it('refuses an unknown method by name', async () => {
  await expect(connectors.v3.call('payOrder', {})).rejects.toMatchObject({ code: 'PARAM_ERROR', message: expect.stringContaining('unknown method "payOrder"') });
});
