/**
 * `npm run build` output, exercised as CloudBase would run it: build into a temp dir, check cloudbaserc.json
 * against schemas/deploy/cloudbaserc.json, then load each function in a fresh Node process against the sandbox
 * and a SQLite store dir (WEDA_WXPAY_STORE=sqlite:<dir>): pay-notify marks an order paid (v3 HTTP trigger and
 * CloudPay event), refund-notify settles a refund, reconcile finds a lost payment, closes a stale order and
 * settles a refund whose result was lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { buildNotification, toRfc3339Cst } from '../wxpay';
import cloudbasercSchema from '../schemas/deploy/cloudbaserc.json';
import { cloudbasercProblems } from '../scripts/build';
import {
  cloudPayPaymentEvent, createOldOrders, createOrder, newOrderNo, orderOf, PAYER, placeAndPay, refundResource, signedRefundNotification,
  sinkConnector, startCallbackDev, startSink, Sink, TestDev,
} from './helpers/callback-harness';
import { buildInto, httpTriggerEvent, runFunction, sandboxBuildConfig, sandboxSecrets } from './helpers/callback-bundle';
import { platformPrivateKey } from './helpers/notify';
import type { Connector } from '../connector';

let t: TestDev;
let sink: Sink;
let connector: Connector;
let built: Awaited<ReturnType<typeof buildInto>>;
let env: Record<string, string>;
const dirOf = (kind: string) => built.functions.find((f) => f.kind === kind)!.dir;

beforeAll(async () => {
  t = await startCallbackDev();
  sink = await startSink();
  connector = sinkConnector(t, sink.url);
  built = await buildInto(sandboxBuildConfig(t, {
    callbacks: {
      reconcile: { schedule: '0 */10 * * * * *', queryAfterMinutes: 5, closeAfterMinutes: 30, batchSize: 20 },
      payerMessage: { templateId: 'TPL_PAID_001', page: 'pages/order/index?no={orderNo}', data: { character_string1: '{orderNo}', amount2: '{amount}元', time3: '{paidTime}' } },
    },
  }));
  env = { ...sandboxSecrets(t), WEDA_WXPAY_STORE: `sqlite:${path.join(t.dataDir, 'models')}`, WEDA_WXPAY_MESSAGES_URL: `${sink.url}/messages` };
}, 60_000);
afterAll(async () => {
  built?.cleanup();
  await t?.close();
  await sink?.close();
});

describe('the build output', () => {
  it('writes each function as index.js + the bundled runtime + package.json', () => {
    expect(built.functions.map((f) => [f.kind, path.basename(f.dir)])).toEqual([
      ['pay-notify', 'wxpay-pay-notify'], ['refund-notify', 'wxpay-refund-notify'], ['reconcile', 'wxpay-reconcile'], ['connector', 'wxpay-connector'],
    ]);
    for (const f of built.functions) {
      expect(fs.readdirSync(f.dir).sort()).toEqual(['index.js', 'package.json', 'weda-wxpay-runtime.js']);
      const pkg = JSON.parse(fs.readFileSync(path.join(f.dir, 'package.json'), 'utf8'));
      expect(pkg.main).toBe('index.js');
      // node-sdk for the CloudBase store; wx-server-sdk for the payer message. better-sqlite3 is local only.
      expect(Object.keys(pkg.dependencies).sort()).toEqual(['@cloudbase/node-sdk', 'wx-server-sdk']);
      const index = fs.readFileSync(path.join(f.dir, 'index.js'), 'utf8');
      expect(index).toContain("require('./weda-wxpay-runtime')");
      expect(index).toContain('exports.main = async (event, context) =>');
    }
  });

  it('writes a cloudbaserc.json that the schema accepts, with the runtime, handler, timeouts, secrets as names and a 7-field timer', () => {
    const rc = JSON.parse(fs.readFileSync(built.cloudbasercPath, 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: true }).compile(cloudbasercSchema);
    expect(validate(rc)).toBe(true);
    expect(cloudbasercProblems(rc)).toEqual([]);
    expect(rc.functionRoot).toBe('./functions');
    for (const fn of rc.functions) {
      expect(fn).toMatchObject({ runtime: 'Nodejs18.15', handler: 'index.main', installDependency: true });
      expect(fn.envVariables).toEqual({
        WXPAY_PRIVATE_KEY: '{{env.WXPAY_PRIVATE_KEY}}', WXPAY_APIV3_KEY: '{{env.WXPAY_APIV3_KEY}}', WXPAY_PLATFORM_KEY_1: '{{env.WXPAY_PLATFORM_KEY_1}}',
      });
    }
    expect(rc.functions.map((f: any) => f.timeout)).toEqual([20, 20, 60, 20]);
    const reconcile = rc.functions.find((f: any) => f.name === 'wxpay-reconcile');
    expect(reconcile.triggers).toEqual([{ name: 'reconcile', type: 'timer', config: '0 */10 * * * * *' }, { name: 'reconcile-bill', type: 'timer', config: '0 30 10 * * * *' }]);
    expect(reconcile.triggers[0].config.split(' ')).toHaveLength(7);
    expect(fs.readFileSync(path.join(built.outDir, '.env.example'), 'utf8')).toContain('WXPAY_APIV3_KEY=\n');
  });

  it('never writes a secret: no APIv3 key, no private key, no key file path', () => {
    const secrets = [t.dev.info.merchant.apiV3Key, t.dev.info.merchant.privateKeyPath, 'PRIVATE KEY'];
    const files: string[] = [];
    const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
    walk(built.outDir);
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      // The runtime's own code mentions "PRIVATE KEY" (PEM parsing); the values must be in no file at all.
      const look = file.endsWith('weda-wxpay-runtime.js') ? secrets.slice(0, 2) : secrets;
      for (const s of look) expect({ file, leaked: text.includes(s) }).toEqual({ file, leaked: false });
    }
  });

  it('the schema refuses what CloudBase would not take', () => {
    const rc = JSON.parse(fs.readFileSync(built.cloudbasercPath, 'utf8'));
    const bad = structuredClone(rc);
    bad.functions[2].triggers[0].config = '*/5 * * * *';
    bad.functions[0].runtime = 'Nodejs8.9';
    bad.functions[1].envVariables.WXPAY_PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMII…';
    const problems = cloudbasercProblems(bad);
    expect(problems.join('\n')).toMatch(/triggers\/0\/config/);
    expect(problems.join('\n')).toMatch(/functions\/0\/runtime/);
    expect(problems.join('\n')).toMatch(/envVariables\/WXPAY_PRIVATE_KEY/);
  });
});

describe('each bundle in a fresh Node process', () => {
  it('pay-notify marks an order paid from a v3 notification through the HTTP trigger, and answers 204', async () => {
    const orderNo = await createOrder(t, 1800);
    await placeAndPay(t, connector, orderNo, 1800);
    const tx = (await t.get(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}`)).body;
    const n = buildNotification({
      eventType: 'TRANSACTION.SUCCESS', resource: tx, apiV3Key: t.dev.info.merchant.apiV3Key, signingKey: platformPrivateKey(t),
      serial: t.dev.info.platform.publicKeyId, createTime: toRfc3339Cst(Date.now()),
    });
    const run = await runFunction(dirOf('pay-notify'), httpTriggerEvent(n), env);
    expect(run.result).toMatchObject({ statusCode: 204, body: '' });
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 2, transactionId: tx.transaction_id, openid: PAYER });
    expect(run.logs.map((l) => l.event)).toContain('payment.applied');

    // A tampered body does not verify: 401, order untouched by it.
    const forged = await runFunction(dirOf('pay-notify'), httpTriggerEvent({ body: n.body.replace('SUCCESS', 'SUCCESS '), headers: n.headers }), env);
    expect(forged.result.statusCode).toBe(401);
  });

  it('pay-notify marks an order paid from a CloudPay event (confirmed by queryOrder) and sends the payer message', async () => {
    const orderNo = await createOrder(t, 250);
    const tx = await placeAndPay(t, connector, orderNo, 250);
    const run = await runFunction(dirOf('pay-notify'), cloudPayPaymentEvent(t, tx), env);
    expect(run.result).toEqual({ errcode: 0, errmsg: 'OK' });
    expect((await orderOf(t, orderNo)).status).toBe(2);
    const message = await t.waitFor(async () => sink.received.find((r) => r.path === '/messages' && r.body.includes(orderNo)), 'the payer message');
    expect(JSON.parse(message.body)).toMatchObject({
      touser: PAYER, templateId: 'TPL_PAID_001', page: `pages/order/index?no=${orderNo}`, miniprogramState: 'trial',
      data: { character_string1: { value: orderNo }, amount2: { value: '2.50元' } },
    });
    // A forged event for an order WeChat Pay has not seen paid is not applied, and asks for redelivery.
    const unpaid = await createOrder(t, 250);
    const forged = await runFunction(dirOf('pay-notify'), cloudPayPaymentEvent(t, { ...tx, out_trade_no: unpaid }), env);
    expect(forged.result.errcode).not.toBe(0);
    expect((await orderOf(t, unpaid)).status).toBe(1);
  });

  it('refund-notify settles a refund from a v3 REFUND.SUCCESS notification', async () => {
    const orderNo = newOrderNo('BR');
    await createOrder(t, 300, { orderNo, status: 3, extra: { refundNo: `R${orderNo}` } });
    const n = signedRefundNotification(t, refundResource(t, { outTradeNo: orderNo, outRefundNo: `R${orderNo}`, status: 'SUCCESS', total: 300 }));
    const run = await runFunction(dirOf('refund-notify'), httpTriggerEvent(n), env);
    expect(run.result.statusCode).toBe(204);
    expect(await orderOf(t, orderNo)).toMatchObject({ status: 4, refundAmount: 300 });
  });

  it('reconcile marks a lost payment paid, closes a stale unpaid order and settles a refund whose result was lost', async () => {
    const lost = newOrderNo('BL');
    const stale = newOrderNo('BS');
    const refunding = newOrderNo('BF');
    await createOldOrders(t, 40, [
      { orderNo: lost, amount: 700, status: 1 },
      { orderNo: stale, amount: 100, status: 1 },
    ]);
    const lostTx = await placeAndPay(t, connector, lost, 700);
    await connector.call('unifiedOrder', { body: 'x', outTradeNo: stale, totalFee: 100, openid: PAYER });
    const refundTx = await placeAndPay(t, connector, refunding, 900);
    await connector.call('refund', { outTradeNo: refunding, outRefundNo: `R${refunding}`, totalFee: 900, refundFee: 900 });
    await createOldOrders(t, 20, [{ orderNo: refunding, amount: 900, status: 3, transactionId: refundTx.transaction_id, refundNo: `R${refunding}` }]);
    await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/R${refunding}/settle`, { status: 'SUCCESS' });

    const run = await runFunction(dirOf('reconcile'), { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() }, env);
    expect(run.result.errors).toEqual([]);
    expect(run.result.unpaid).toMatchObject({ paid: 1, closed: 1 });
    expect(run.result.refunding).toMatchObject({ refunded: 1 });
    expect(await orderOf(t, lost)).toMatchObject({ status: 2, transactionId: lostTx.transaction_id });
    expect(await orderOf(t, stale)).toMatchObject({ status: 1, closedAt: expect.any(Number) });
    expect((await t.get(`${t.dev.info.baseUrl}/sandbox/transactions/${stale}`)).body.trade_state).toBe('CLOSED');
    expect(await orderOf(t, refunding)).toMatchObject({ status: 4, refundAmount: 900 });
  });
});
