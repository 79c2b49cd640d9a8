/**
 * A refund made in the merchant platform (商户平台) reaches the refund notify URL as a v2 XML notification with an
 * AES-256-ECB `req_info`, even for APIv3 merchants (peers.md §3.4). The app holds no APIv2 key, so it cannot read
 * (or trust) it: refused unread — no XML parser, a DTD never looked into — with one log line telling the operator
 * what it was and what to do, and no order or refund record changed. What the line says to do works: a refunds
 * record in PROCESSING for that refund is confirmed by reconcile with queryRefund and applied.
 */
import { createCipheriv, createHash } from 'node:crypto';
import {
  cloudPayPaymentEvent, createOrder, invoke, orderOf, placeAndPay, sinkConnector, startCallbackDev, startSink, Sink,
  TestDev,
} from './helpers/callback-harness';
import { changesNothing, post, refusals } from './helpers/hostile';
import type { Connector } from '../connector';

let t: TestDev;
let sink: Sink;
let connector: Connector;
const logs: string[] = [];
let v2Key: string;
beforeAll(async () => {
  t = await startCallbackDev({ refundSettleSeconds: null, callbacks: { reconcile: { queryAfterMinutes: 0 } }, log: (l) => logs.push(l) });
  sink = await startSink();
  connector = sinkConnector(t, sink.url);
  v2Key = (await t.get(`${t.dev.info.baseUrl}/sandbox/cloudpay`)).body.v2Key;
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const sandbox = (p: string) => `${t.dev.info.baseUrl}${p}`;

/** `req_info` as WeChat Pay makes it: AES-256-ECB, PKCS#7, key = lower-case hex MD5 of the APIv2 key (wxpay-v2-cloudpay.md §3.2). */
function reqInfo(fields: Record<string, string | number>): string {
  const key = Buffer.from(createHash('md5').update(v2Key).digest('hex'), 'utf8');
  const root = `<root>\n${Object.entries(fields).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('\n')}\n</root>`;
  const cipher = createCipheriv('aes-256-ecb', key, null);
  return Buffer.concat([cipher.update(root, 'utf8'), cipher.final()]).toString('base64');
}

function v2RefundXml(fields: Record<string, string | number>): string {
  return `<xml><return_code>SUCCESS</return_code><appid><![CDATA[${t.dev.info.merchant.appid}]]></appid><mch_id><![CDATA[${t.dev.info.merchant.mchid}]]></mch_id>`
    + `<nonce_str><![CDATA[TeqClE3i0mvn3DrK]]></nonce_str><req_info><![CDATA[${reqInfo(fields)}]]></req_info></xml>`;
}

describe('a refund made in the merchant platform', () => {
  let orderNo: string;
  let refundNo: string;
  let xml: string;
  beforeAll(async () => {
    orderNo = await createOrder(t, 1000);
    expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, await placeAndPay(t, connector, orderNo, 1000)))).body.errcode).toBe(0);
    refundNo = `CONSOLE${orderNo}`.slice(0, 64);
    await connector.call('refund', { outTradeNo: orderNo, outRefundNo: refundNo, totalFee: 1000, refundFee: 400 });
    expect((await t.post(sandbox(`/sandbox/refunds/${refundNo}/settle`), { status: 'SUCCESS' })).status).toBe(200);
    const atWechat = (await t.get(sandbox(`/sandbox/refunds/${refundNo}`))).body;
    xml = v2RefundXml({
      out_refund_no: refundNo, out_trade_no: orderNo, refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS', refund_fee: 400, refund_id: atWechat.refund_id,
      refund_recv_accout: '支付用户零钱', refund_request_source: 'VENDOR_PLATFORM', refund_status: 'SUCCESS', settlement_refund_fee: 400, settlement_total_fee: 1000,
      success_time: '2024-03-01 12:00:05', total_fee: 1000, transaction_id: atWechat.transaction_id,
    });
  });

  it.each([
    ['as WeChat Pay sends it (text/xml, no Wechatpay-* headers)', { 'Content-Type': 'text/xml' }],
    ['with made-up Wechatpay-* headers', { 'Content-Type': 'text/xml', 'Wechatpay-Signature': 'x', 'Wechatpay-Serial': 'y', 'Wechatpay-Timestamp': '1', 'Wechatpay-Nonce': 'n' }],
  ])('is refused %s, changes nothing, and one log line says what to do', async (_how, headers) => {
    const seen = logs.length;
    const answer = await changesNothing(t, () => post(t.dev.info.devServer.refundNotify, xml, headers));
    expect(answer).toMatchObject({ status: 400, json: { code: 'FAIL', message: 'v2 (XML) refund notifications are not read here: see the function log' } });
    const lines = refusals(logs.slice(seen));
    expect(lines).toEqual([expect.objectContaining({
      event: 'notification.v2_refund_refused', outTradeNo: null, mchId: t.dev.info.merchant.mchid, appid: t.dev.info.merchant.appid, reqInfo: true,
      reason: expect.stringMatching(/商户平台.*no APIv2 key.*nothing was changed/),
      todo: expect.stringMatching(/refunds model.*status PROCESSING.*reconcile confirms it with queryRefund/),
    })]);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2 });
  });

  it('is recorded the way the log line says: a PROCESSING refunds record, confirmed and applied by reconcile', async () => {
    await t.model('refunds', 'wedaCreateV2', { data: { refundNo, orderNo, amount: 400, status: 'PROCESSING' } });
    await new Promise((r) => setTimeout(r, 5));
    const summary = (await invoke(t, 'reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() })).body;
    expect(summary.errors).toEqual([]);
    const atWechat = (await t.get(sandbox(`/sandbox/refunds/${refundNo}`))).body;
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, refundedAmount: 400, refundId: atWechat.refund_id });
    const [record] = (await t.model('refunds', 'wedaGetRecordsV2', { filter: { where: { refundNo: { $eq: refundNo } } } })).records;
    expect(record).toMatchObject({ status: 'SUCCESS', amount: 400, refundId: atWechat.refund_id });
  });
});

it('XML with a DTD is refused without being looked into (XXE)', async () => {
  const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><return_code>&xxe;</return_code><mch_id>1900000109</mch_id><req_info>x</req_info></xml>`;
  for (const url of [t.dev.info.devServer.refundNotify, t.dev.info.devServer.payNotify]) {
    const seen = logs.length;
    const answer = await changesNothing(t, () => post(url, xxe, { 'Content-Type': 'text/xml' }));
    expect(answer).toMatchObject({ status: 400, json: { code: 'FAIL', message: 'XML with a DTD is not accepted' } });
    expect(answer.text).not.toContain('root:');
    expect(refusals(logs.slice(seen))).toEqual([expect.objectContaining({ event: 'notification.xml_refused', reason: expect.stringMatching(/DTD/), outTradeNo: null })]);
    expect(logs.slice(seen).join('\n')).not.toContain('1900000109');
  }
});

it('a v2 XML payment notification at pay-notify is refused the same way', async () => {
  const orderNo = await createOrder(t, 100);
  const xml = `<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code><![CDATA[SUCCESS]]></result_code><mch_id><![CDATA[${t.dev.info.merchant.mchid}]]></mch_id>`
    + `<out_trade_no><![CDATA[${orderNo}]]></out_trade_no><total_fee>100</total_fee><transaction_id><![CDATA[4200000000000000000000000001]]></transaction_id><sign><![CDATA[X]]></sign></xml>`;
  const seen = logs.length;
  const answer = await changesNothing(t, () => post(t.dev.info.devServer.payNotify, `\uFEFF  ${xml}`, { 'Content-Type': 'text/xml' }));
  expect(answer).toMatchObject({ status: 400, json: { code: 'FAIL', message: 'v2 (XML) notifications are not read here: see the function log' } });
  expect(refusals(logs.slice(seen))).toEqual([expect.objectContaining({ event: 'notification.xml_refused', mchId: t.dev.info.merchant.mchid, reqInfo: false })]);
  expect((await orderOf(t, orderNo)).status).toBe(1);
});
