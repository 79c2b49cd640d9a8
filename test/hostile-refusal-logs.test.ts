/**
 * Every refusal leaves one log line — JSON on one line, with the reason and the order number the input named (null
 * when it named none) — and no secret appears in any answer or log line: not the APIv3 key, not a line of a private
 * key (the merchant's, the platform's), not the APIv2 key (nor its MD5, the req_info key). A set of hostile requests
 * runs through two dev servers (v3, and CloudPay), with everything logged and answered captured and searched.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildNotification, toRfc3339Cst } from '../wxpay';
import { startTestDev } from './helpers/dev';
import {
  cloudPayPaymentEvent, cloudPayRefundEvent, createOrder, placeAndPay, refundResource, signedRefundNotification, sinkConnector, startCallbackDev,
  startSink, Sink, TestDev,
} from './helpers/callback-harness';
import { platformPrivateKey, signedNotification, transactionResource } from './helpers/notify';
import { post, refusals, signedRaw } from './helpers/hostile';

interface Case { name: string; fn: 'pay-notify' | 'refund-notify' | string; send: () => { body?: string; headers?: Record<string, string> }; orderNo: string | null }

/** Runs each case, one at a time; answers what was logged per case and everything answered. */
async function runCases(t: TestDev, logs: string[], cases: Case[]): Promise<{ perCase: Array<{ c: Case; status: number; lines: string[] }>; answered: string[] }> {
  const perCase = [];
  const answered = [];
  for (const c of cases) {
    const seen = logs.length;
    const { body, headers } = c.send();
    const answer = await post(`${t.dev.info.devServer.functions}/${c.fn}`, body, headers ?? {});
    answered.push(answer.text);
    perCase.push({ c, status: answer.status, lines: logs.slice(seen) });
  }
  return { perCase, answered };
}

function secretsOf(t: TestDev, v2Key?: string): string[] {
  const pemLines = (file: string) => fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l && !l.startsWith('-----'));
  const secrets = [
    t.dev.info.merchant.apiV3Key,
    ...pemLines(t.dev.info.merchant.privateKeyPath),
    ...pemLines(path.join(t.dataDir, 'sandbox', 'keys', 'platform_private_key.pem')),
  ];
  if (v2Key) secrets.push(v2Key, createHash('md5').update(v2Key).digest('hex'));
  expect(secrets.length).toBeGreaterThan(10);
  return secrets;
}

function expectRefusalLines(perCase: Array<{ c: Case; status: number; lines: string[] }>) {
  for (const { c, lines } of perCase) {
    for (const line of lines) expect(line).not.toContain('\n');
    const refused = refusals(lines);
    expect({ case: c.name, refusals: refused.length }).toEqual({ case: c.name, refusals: 1 });
    expect({ case: c.name, reason: typeof refused[0]!.reason, orderNo: refused[0]!.outTradeNo }).toEqual({ case: c.name, reason: 'string', orderNo: c.orderNo });
    expect(refused[0]!.reason.length).toBeGreaterThan(5);
  }
}

function expectNoSecrets(secrets: string[], texts: string[]) {
  const all = texts.join('\n');
  for (const s of secrets) expect(all.includes(s) ? `leaked ${s.slice(0, 6)}…` : 'no leak').toBe('no leak');
}

describe('a v3 dev server', () => {
  let t: TestDev;
  let sink: Sink;
  const logs: string[] = [];
  beforeAll(async () => {
    t = await startCallbackDev({ refundSettleSeconds: null, log: (l) => logs.push(l) });
    sink = await startSink();
  });
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  it('refuses each hostile request with one log line, and leaks no secret', async () => {
    const connector = sinkConnector(t, sink.url);
    const paid = await createOrder(t, 700);
    const tx = await placeAndPay(t, connector, paid, 700);
    const refunding = await createOrder(t, 300, { status: 3, extra: { refundNo: 'RF-LOGS-1' } });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const json = { 'Content-Type': 'application/json' };
    const otherKey = 'K'.repeat(32);
    const cases: Case[] = [
      { name: 'empty pay-notify', fn: 'pay-notify', send: () => ({}), orderNo: null },
      { name: 'empty refund-notify', fn: 'refund-notify', send: () => ({}), orderNo: null },
      { name: 'junk JSON', fn: 'pay-notify', send: () => ({ body: '{"a":1}', headers: json }), orderNo: null },
      { name: 'null event', fn: 'refund-notify', send: () => ({ body: 'null', headers: json }), orderNo: null },
      { name: 'forged payer', fn: 'pay-notify', send: () => ({ body: JSON.stringify(cloudPayPaymentEvent(t, tx, { subOpenid: 'oEVIL' })), headers: json }), orderNo: paid },
      { name: 'forged transaction', fn: 'pay-notify', send: () => ({ body: JSON.stringify(cloudPayPaymentEvent(t, tx, { transactionId: '4200000000000000000000000999' })), headers: json }), orderNo: paid },
      { name: 'forged refund', fn: 'refund-notify', send: () => ({ body: JSON.stringify(cloudPayRefundEvent({ outTradeNo: refunding, outRefundNo: 'RF-LOGS-1', refundStatus: 'SUCCESS', totalFee: 300 })), headers: json }), orderNo: refunding },
      { name: 'refund status under __proto__', fn: 'refund-notify', send: () => ({ body: `{"__proto__":{"refundStatus":"SUCCESS"},"outTradeNo":"${refunding}","outRefundNo":"RF-LOGS-1","refundId":"1"}`, headers: json }), orderNo: refunding },
      { name: 'text body', fn: 'pay-notify', send: () => ({ body: 'hello', headers: { 'Content-Type': 'text/plain' } }), orderNo: null },
      { name: 'stranger signature', fn: 'pay-notify', send: () => signedNotification(t, transactionResource(t, paid, 700), { key: stranger }), orderNo: null },
      { name: 'stale timestamp', fn: 'pay-notify', send: () => signedNotification(t, transactionResource(t, paid, 700), { timestamp: Math.floor(Date.now() / 1000) - 400 }), orderNo: null },
      { name: 'unknown serial', fn: 'pay-notify', send: () => signedNotification(t, transactionResource(t, paid, 700), { serial: 'PUB_KEY_ID_0000000000000000000000000000000000' }), orderNo: null },
      { name: 'signature probe', fn: 'refund-notify', orderNo: null, send: () => {
        const n = signedRefundNotification(t, refundResource(t, { outTradeNo: refunding, outRefundNo: 'RF-LOGS-1', status: 'SUCCESS', total: 300 }));
        return { body: n.body, headers: { ...n.headers, 'Wechatpay-Signature': `WECHATPAY/SIGNTEST/${n.headers['Wechatpay-Signature']}` } };
      } },
      {
        name: 'encrypted with another APIv3 key', fn: 'pay-notify', orderNo: null,
        send: () => buildNotification({ eventType: 'TRANSACTION.SUCCESS', resource: transactionResource(t, paid, 700), apiV3Key: otherKey, signingKey: platformPrivateKey(t), serial: t.dev.info.platform.publicKeyId, createTime: toRfc3339Cst(Date.now()) }),
      },
      { name: 'resource null', fn: 'pay-notify', send: () => signedRaw(t, { plaintext: 'null' }), orderNo: null },
      { name: 'resource not JSON', fn: 'refund-notify', send: () => signedRaw(t, { eventType: 'REFUND.SUCCESS', plaintext: '{' }), orderNo: null },
      { name: 'refund_status missing', fn: 'refund-notify', send: () => signedRaw(t, { eventType: 'REFUND.SUCCESS', plaintext: JSON.stringify({ mchid: t.dev.info.merchant.mchid, out_trade_no: refunding, out_refund_no: 'RF-LOGS-1', amount: { total: 300, refund: 300 } }) }), orderNo: refunding },
      { name: 'v2 XML refund', fn: 'refund-notify', send: () => ({ body: `<xml><return_code>SUCCESS</return_code><mch_id>${t.dev.info.merchant.mchid}</mch_id><req_info><![CDATA[AAAA]]></req_info></xml>`, headers: { 'Content-Type': 'text/xml' } }), orderNo: null },
      { name: 'XXE', fn: 'refund-notify', send: () => ({ body: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>', headers: { 'Content-Type': 'text/xml' } }), orderNo: null },
      { name: 'no such function', fn: 'no-such-function', send: () => ({ body: '{}', headers: json }), orderNo: null },
      { name: 'reconcile with XML', fn: 'reconcile', send: () => ({ body: '<xml/>', headers: { 'Content-Type': 'text/xml' } }), orderNo: null },
      { name: 'a body over 1 MiB', fn: 'pay-notify', send: () => ({ body: `{"x":"${'x'.repeat(1 << 20)}"}`, headers: json }), orderNo: null },
    ];
    logs.length = 0;
    const { perCase, answered } = await runCases(t, logs, cases);
    expect(perCase.filter((p) => p.status === 204 || (p.status === 200 && JSON.parse(answered[perCase.indexOf(p)]!).errcode === 0)).map((p) => p.c.name)).toEqual([]);
    expectRefusalLines(perCase);
    expectNoSecrets(secretsOf(t), [...logs, ...answered]);
  });
});

describe('a CloudPay dev server', () => {
  let t: TestDev;
  const logs: string[] = [];
  beforeAll(async () => {
    t = await startTestDev({ provider: 'cloudpay', seedGoods: false, log: (l) => logs.push(l) });
  });
  afterAll(async () => { await t?.close(); });

  it('refuses each hostile event with one log line, and leaks no secret (the APIv2 key included)', async () => {
    const v2Key = (await t.get(`${t.dev.info.baseUrl}/sandbox/cloudpay`)).body.v2Key as string;
    const orderNo = await createOrder(t, 250);
    const placed = await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 250, openid: 'o-payer' });
    expect(placed.status).toBe(200);
    const json = { 'Content-Type': 'application/json' };
    const fake = { transaction_id: '4200000000000000000000000888', out_trade_no: orderNo, amount: { total: 250 }, payer: { openid: 'oEVIL' }, success_time: '2024-03-01T12:00:05+08:00' };
    const cases: Case[] = [
      { name: 'empty', fn: 'wxpay-pay-notify', send: () => ({}), orderNo: null },
      { name: 'unpaid order', fn: 'wxpay-pay-notify', send: () => ({ body: JSON.stringify(cloudPayPaymentEvent(t, fake)), headers: json }), orderNo },
      { name: 'refund of an unknown refund', fn: 'wxpay-refund-notify', send: () => ({ body: JSON.stringify(cloudPayRefundEvent({ outTradeNo: orderNo, outRefundNo: `R${orderNo}`, refundStatus: 'SUCCESS', totalFee: 250 })), headers: json }), orderNo },
      { name: 'v2 XML', fn: 'wxpay-refund-notify', send: () => ({ body: '<xml><req_info>AAAA</req_info></xml>', headers: { 'Content-Type': 'text/xml' } }), orderNo: null },
    ];
    logs.length = 0;
    const { perCase, answered } = await runCases(t, logs, cases);
    expect(answered.every((a) => !a.includes('"errcode":0'))).toBe(true);
    expectRefusalLines(perCase);
    expectNoSecrets(secretsOf(t, v2Key), [...logs, ...answered]);
  });
});
