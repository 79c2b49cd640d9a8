/**
 * WeChat Pay's rules that the connector checks itself, so a request WeChat Pay would refuse is never sent: text
 * limited to 1–3-byte UTF-8 (no emoji, wxpay-v3.md §0) in every free-text field, the payer IP an IPv4/IPv6 address
 * (§1.1), timeExpire and billDate times and dates that exist (no 30 February), billDate in one format, and
 * refundFee ≤ totalFee (§1.4) — the server methods' inputs (checkout, requestRefund) included. Through the dev
 * server's `POST /connector/<method>` on 127.0.0.1: each answer is 400 PARAM_ERROR whose message names the field and
 * the rule, and nothing was written (orders and refunds models unchanged) or sent (the sandbox request log unchanged).
 */
import { METHOD_SCHEMAS } from '../schemas';
import { findProblems } from '../schemas/validate';
import { startTestDev, TestDev } from './helpers/dev';

type Case = [method: string, kind: string, field: string, params: Record<string, unknown> | (() => Record<string, unknown>), rule: RegExp];

const EMOJI = '😀'; // U+1F600: 4 bytes in UTF-8
const BMP_RULE = /must not contain characters outside the Basic Multilingual Plane \(emoji\): WeChat Pay accepts 1–3-byte UTF-8 only \(wxpay-v3\.md §0\)/;
const okUnified = { body: '咖啡券', outTradeNo: 'HOSTILE0001', totalFee: 100, openid: 'oOPENID' };
const okRefund = { outTradeNo: 'HOSTILE0001', outRefundNo: 'HOSTILE0001-R1', totalFee: 100, refundFee: 50 };
const PAID_ORDER = 'HOSTILEPAID0001';

const CASES: Case[] = [
  ['unifiedOrder', 'emoji in body', 'body', { ...okUnified, body: `咖啡${EMOJI}` }, BMP_RULE],
  ['unifiedOrder', 'a lone surrogate in body (not UTF-8 at all)', 'body', { ...okUnified, body: '咖啡\uD83D' }, BMP_RULE],
  ['unifiedOrder', 'emoji in attach', 'attach', { ...okUnified, attach: `note ${EMOJI}` }, BMP_RULE],
  ['unifiedOrder', 'emoji in goodsTag', 'goodsTag', { ...okUnified, goodsTag: EMOJI }, BMP_RULE],
  ['unifiedOrder', 'emoji in openid', 'openid', { ...okUnified, openid: `o${EMOJI}` }, BMP_RULE],
  ['unifiedOrder', 'IPv4 out of range', 'spbillCreateIp', { ...okUnified, spbillCreateIp: '999.999.999.999' }, /spbillCreateIp must be an IPv4 or IPv6 address/],
  ['unifiedOrder', 'IPv4 with three parts', 'spbillCreateIp', { ...okUnified, spbillCreateIp: '10.0.1' }, /spbillCreateIp must be an IPv4 or IPv6 address/],
  ['unifiedOrder', 'IPv6 with a bad group', 'spbillCreateIp', { ...okUnified, spbillCreateIp: '2001:db8::gg' }, /spbillCreateIp must be an IPv4 or IPv6 address/],
  ['unifiedOrder', 'a host name for an IP', 'spbillCreateIp', { ...okUnified, spbillCreateIp: 'localhost' }, /spbillCreateIp must be an IPv4 or IPv6 address/],
  ['unifiedOrder', '30 February (yyyyMMddHHmmss)', 'timeExpire', { ...okUnified, timeExpire: '20240230120000' }, /timeExpire must be a time that exists/],
  ['unifiedOrder', '30 February (RFC 3339)', 'timeExpire', { ...okUnified, timeExpire: '2024-02-30T12:00:00+08:00' }, /timeExpire must be a time that exists/],
  ['unifiedOrder', '29 February of a common year', 'timeExpire', { ...okUnified, timeExpire: '2023-02-29T12:00:00+08:00' }, /timeExpire must be a time that exists/],
  ['unifiedOrder', 'month 13', 'timeExpire', { ...okUnified, timeExpire: '20241301120000' }, /timeExpire must be a time that exists/],
  ['unifiedOrder', 'hour 24', 'timeExpire', { ...okUnified, timeExpire: '2024-01-01T24:00:00+08:00' }, /timeExpire must be a time that exists/],
  ['unifiedOrder', 'an offset of 25 hours', 'timeExpire', { ...okUnified, timeExpire: '2024-01-01T10:00:00+25:00' }, /timeExpire must be a time that exists/],
  ['refund', 'refundFee more than totalFee', 'refundFee', { ...okRefund, refundFee: 150 }, /refundFee must be ≤ totalFee \(100\)/],
  ['refund', 'emoji in refundDesc', 'refundDesc', { ...okRefund, refundDesc: `不想要了${EMOJI}` }, BMP_RULE],
  ['downloadBill', 'mixed formats (yyyy-MMdd)', 'billDate', { billDate: '2024-0101' }, /billDate must match \^\(\\d\{4\}-\\d\{2\}-\\d\{2\}\|\\d\{8\}\)\$/],
  ['downloadBill', 'mixed formats (yyyyMM-dd)', 'billDate', { billDate: '202401-01' }, /billDate must match/],
  ['downloadBill', '30 February', 'billDate', { billDate: '2024-02-30' }, /billDate must be a date that exists \(yyyy-MM-dd or yyyyMMdd/],
  ['downloadBill', '29 February of a common year (yyyyMMdd)', 'billDate', { billDate: '20230229' }, /billDate must be a date that exists/],
  ['downloadBill', 'month 13', 'billDate', { billDate: '2024-13-01' }, /billDate must be a date that exists/],
  ['downloadBill', 'day 0', 'billDate', { billDate: '20240100' }, /billDate must be a date that exists/],
  ['checkout', 'emoji in openid', 'openid', () => ({ goodsId, openid: `o${EMOJI}` }), BMP_RULE],
  ['requestRefund', 'emoji in reason', 'reason', { orderNo: PAID_ORDER, reason: `不想要了${EMOJI}` }, BMP_RULE],
];

let t: TestDev;
/** A seeded goods on sale, so a refused checkout had a price to write an order row from and did not. */
let goodsId: string;
beforeAll(async () => {
  t = await startTestDev();
  goodsId = (await t.model('goods', 'wedaGetRecordsV2', { pageSize: 1 })).records[0]._id;
  // A paid order, so a refused requestRefund has a row it could have claimed (2 → 3) and did not.
  await t.model('orders', 'wedaCreateV2', { data: { orderNo: PAID_ORDER, status: 2, amount: 1800, goodsName: '咖啡券', openid: 'oOPENID' } });
});
afterAll(async () => { await t?.close(); });

/** What a refused call must leave as it was: the rows of the orders and refunds models, and what reached WeChat Pay. */
async function written(): Promise<unknown> {
  const all = { pageSize: 200, pageNumber: 1, orderBy: [{ createdAt: 'asc' }] };
  return {
    orders: (await t.model('orders', 'wedaGetRecordsV2', all)).records,
    refunds: (await t.model('refunds', 'wedaGetRecordsV2', all)).records,
    sent: await t.sandboxRequestCount(),
  };
}

it.each(CASES)('%s: %s → 400 PARAM_ERROR naming %s, nothing written or sent', async (method, _kind, field, params, rule) => {
  const before = await written();
  const res = await t.connector(method, typeof params === 'function' ? params() : params);
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({ code: 'PARAM_ERROR', retryable: false, detail: { field } });
  expect(res.body.message).toMatch(new RegExp(`^${method}: `));
  expect(res.body.message).toMatch(rule);
  expect(await written()).toEqual(before);
});

it('says each broken rule once, the shape before the calendar', async () => {
  // A billDate that breaks the pattern is not also told it is no date; one that fits is told only that.
  const mixed = await t.connector('downloadBill', { billDate: '2024-1301' });
  expect(mixed.body.detail.problems).toEqual([expect.objectContaining({ field: 'billDate', rule: 'pattern' })]);
  const unreal = await t.connector('downloadBill', { billDate: '2024-13-01' });
  expect(unreal.body.detail.problems).toEqual([expect.objectContaining({ field: 'billDate', rule: 'format' })]);
});

it('lets through what WeChat Pay accepts: BMP text (3-byte ☕ included), IPv4 and IPv6, leap days, refundFee = totalFee', () => {
  const unified = METHOD_SCHEMAS.unifiedOrder.input;
  expect(findProblems(unified, { ...okUnified, body: '咖啡☕ ×2', attach: 'café', spbillCreateIp: '203.0.113.7', timeExpire: '20240229235959' })).toEqual([]);
  expect(findProblems(unified, { ...okUnified, spbillCreateIp: '2001:db8::1', timeExpire: '2024-02-29T23:59:59.5+08:00' })).toEqual([]);
  expect(findProblems(unified, { ...okUnified, spbillCreateIp: '::ffff:192.0.2.1', timeExpire: '2000-02-29T00:00:00Z' })).toEqual([]);
  expect(findProblems(METHOD_SCHEMAS.refund.input, { ...okRefund, refundFee: 100 })).toEqual([]);
  expect(findProblems(METHOD_SCHEMAS.downloadBill.input, { billDate: '2024-02-29' })).toEqual([]);
  expect(findProblems(METHOD_SCHEMAS.downloadBill.input, { billDate: '20240229' })).toEqual([]);
});

it('sends an order whose text is 3-byte UTF-8 (☕ U+2615): the rule refuses 4-byte characters only', async () => {
  const res = await t.connector('unifiedOrder', { ...okUnified, outTradeNo: 'HOSTILE0002', body: '咖啡☕', spbillCreateIp: '2001:db8::1' });
  expect(res.status).toBe(200);
  expect(res.body.payment.package).toMatch(/^prepay_id=/);
});
