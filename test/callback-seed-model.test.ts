/**
 * The seed tutorial's hand-built model, unchanged: name `wxzfmbddsj_e3xp7j6`, `ddh` = order number, `zfzt` =
 * pay status, envType `pre`. The generated source names them (builders recognise their model in it), and it
 * works: the generated functions run in-process against a store that enforces the model (every field they
 * write must exist and have the model's type), through the dev server's v3 spine, and as a built bundle in a
 * fresh process.
 */
import vm from 'node:vm';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLOUDPAY_API_NAMES } from '../wxpay';
import type { CloudPayApi } from '../connector';
import { generateFunctions } from '../callbacks/generate';
import { createLocalFunctionHost, LocalFunctionHost } from '../callbacks/local-host';
import { buildModelDefinitions } from '../datasources/models';
import { openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, ModelStore } from '../datasources/weda';
import {
  cloudPayPaymentEvent, cloudPayRefundEvent, createOrder, orderOf, placeAndPay, SEED_VIEW, sinkConnector, startCallbackDev,
  startSink, Sink, TestDev,
} from './helpers/callback-harness';
import { buildInto, runFunction, sandboxBuildConfig, sandboxSecrets } from './helpers/callback-bundle';

const SEED = { models: { orders: 'wxzfmbddsj_e3xp7j6' }, fields: { orderNo: 'ddh', status: 'zfzt' }, envType: 'pre' as const };
const seedConfig = (extra: Record<string, unknown> = {}) => ({
  provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109',
  cloudpay: { envId: 'weda-7g5x', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
  ...SEED, ...extra,
}) as never;

describe('generated source', () => {
  const fns = generateFunctions({ config: seedConfig() });

  it.each(['pay-notify', 'refund-notify', 'reconcile'])('%s names the model, its fields and envType, and compiles', (kind) => {
    const source = fns.find((f) => f.kind === kind)!.source;
    expect(() => new vm.Script(source, { filename: `${kind}/index.js` })).not.toThrow();
    expect(source).toContain("const ORDERS_MODEL = 'wxzfmbddsj_e3xp7j6';");
    expect(source).toContain("const ENV_TYPE = 'pre';");
    expect(source).toContain("orderNo: 'ddh',");
    expect(source).toContain("status: 'zfzt',");
    // The seed's call, now a compare-and-set: order number AND current status in the where.
    expect(source).toContain("methodName: 'wedaBatchUpdate',");
    expect(source).toContain("{ key: 'ddh', rel: 'eq', val: orderNo },");
    expect(source).toContain("{ key: 'zfzt', rel: 'eq', val: expectedStatus },");
    expect(source).toContain('envType: ENV_TYPE,');
    expect(source).toContain('exports.main = async (event, context) => {');
    expect(source).not.toMatch(/setInterval|setTimeout/);
  });

  it('takes envType from the configuration, never from the template', () => {
    const prod = generateFunctions({ config: seedConfig({ envType: 'prod' }) });
    // The functions that write orders; the connector function reaches no data model.
    const orderFunctions = prod.filter((f) => f.kind !== 'connector');
    expect(orderFunctions.map((f) => f.kind)).toEqual(['pay-notify', 'refund-notify', 'reconcile']);
    for (const f of orderFunctions) {
      expect(f.source).toContain("const ENV_TYPE = 'prod';");
      expect(f.source).not.toContain("const ENV_TYPE = 'pre';");
    }
    expect(prod.find((f) => f.kind === 'connector')!.source).not.toContain('callModel');
  });

  it('matches refund updates on the order number, not the refund number (the seed matched ddh to outRefundNo)', () => {
    const source = fns.find((f) => f.kind === 'refund-notify')!.source;
    expect(source).not.toMatch(/val: outRefundNo/);
  });
});

describe('the generated functions, run against a store that enforces the seed model', () => {
  let dir: string;
  let store: ModelStore;
  let host: LocalFunctionHost;
  const logs: string[] = [];
  // CloudPay as it answers for an order it never placed: reconcile closes such an order once it is old enough.
  const neverPlaced = async () => ({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCode: 0, errCodeDes: '订单不存在', errMsg: 'cloudPay.queryOrder:ok' });
  const cloudPay = Object.fromEntries(CLOUDPAY_API_NAMES.map((api) => [api, neverPlaced])) as unknown as CloudPayApi;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-seed-'));
    store = openSqliteStore({ dataDir: dir, models: buildModelDefinitions({ model: SEED.models.orders, fields: SEED.fields }), now: () => Date.now() - 3600_000 });
    host = createLocalFunctionHost({
      config: seedConfig({ callbacks: { confirmCloudPayEvents: false } }), baseDir: dir, weda: createWeda({ store }), cloudPay, log: (l) => logs.push(l),
    });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const create = (ddh: string, amount: number, zfzt = 1) => store.callModel({ name: SEED.models.orders, methodName: 'wedaCreate', params: { ddh, amount, zfzt }, envType: 'pre' });
  const get = (ddh: string) => store.callModel({ name: SEED.models.orders, methodName: 'wedaGetItem', params: { where: [{ key: 'ddh', rel: 'eq', val: ddh }] }, envType: 'pre' });
  const run = async (name: string, event: unknown): Promise<any> => (await host.invoke(name, { headers: {}, rawBody: Buffer.from(JSON.stringify(event)) })).body;

  it('pays, refunds and closes, writing ddh / zfzt and only fields the model has', async () => {
    await create('SEED0001', 1);
    const paid = await run('wxpay-pay-notify', { returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: 'SEED0001', transactionId: '4200001234202403011234567890', totalFee: 1, subOpenid: 'o-seed', timeEnd: '20240301120005' });
    expect(paid).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await get('SEED0001')).toMatchObject({ ddh: 'SEED0001', zfzt: 2, transactionId: '4200001234202403011234567890', openid: 'o-seed', paidAt: Date.parse('2024-03-01T12:00:05+08:00') });

    const refunded = await run('wxpay-refund-notify', cloudPayRefundEvent({ outTradeNo: 'SEED0001', outRefundNo: 'RSEED0001', refundStatus: 'SUCCESS', totalFee: 1 }));
    expect(refunded).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await get('SEED0001')).toMatchObject({ zfzt: 4, refundNo: 'RSEED0001', refundAmount: 1, refundedAt: Date.parse('2024-03-01T12:00:05+08:00') });

    await create('SEED0002', 1);
    const summary = await run('wxpay-reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() });
    expect(summary.errors).toEqual([]);
    expect(await get('SEED0002')).toMatchObject({ zfzt: 1, closedAt: expect.any(Number) });
  });

  it('finds the refunded order by its ORDER number, even when another order\'s ddh is the refund number', async () => {
    await create('SEED0003', 5, 3);
    // The seed looked the order up with ddh = outRefundNo: this one would have been "refunded" instead.
    await create('RSEED0003', 5, 3);
    const answer = await run('wxpay-refund-notify', cloudPayRefundEvent({ outTradeNo: 'SEED0003', outRefundNo: 'RSEED0003', refundStatus: 'SUCCESS', totalFee: 5 }));
    expect(answer).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await get('SEED0003')).toMatchObject({ zfzt: 4, refundNo: 'RSEED0003' });
    expect(await get('RSEED0003')).toMatchObject({ zfzt: 3 });
    expect((await get('RSEED0003')).refundNo).toBeUndefined();
  });
});

describe('end to end with the seed model', () => {
  let t: TestDev;
  let sink: Sink;
  beforeAll(async () => {
    t = await startCallbackDev({ config: SEED });
    sink = await startSink();
  });
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  it('the dev server pays a seed-model order from the v3 notification (zfzt 1 → 2)', async () => {
    const orderNo = await createOrder(t, 1, { view: SEED_VIEW });
    expect((await t.connector('unifiedOrder', { body: '微搭贴纸', outTradeNo: orderNo, totalFee: 1, openid: 'o-seed' })).status).toBe(200);
    await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
    const order = await t.waitFor(async () => { const o = await orderOf(t, orderNo, { view: SEED_VIEW }); return o.zfzt === 2 && o; }, 'zfzt 2');
    expect(order.ddh).toBe(orderNo);
    expect(order.status).toBeUndefined();
  });

  it('the built pay-notify bundle pays a seed-model order in a fresh process', async () => {
    const built = await buildInto(sandboxBuildConfig(t, SEED));
    try {
      const orderNo = await createOrder(t, 1, { view: SEED_VIEW });
      const tx = await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 1);
      const dir = built.functions.find((f) => f.kind === 'pay-notify')!.dir;
      expect(fs.readFileSync(path.join(dir, 'index.js'), 'utf8')).toContain("{ key: 'zfzt', rel: 'eq', val: expectedStatus },");
      const run = await runFunction(dir, cloudPayPaymentEvent(t, tx), { ...sandboxSecrets(t), WEDA_WXPAY_STORE: `sqlite:${path.join(t.dataDir, 'models')}` });
      expect(run.result).toEqual({ errcode: 0, errmsg: 'OK' });
      expect(await orderOf(t, orderNo, { view: SEED_VIEW })).toMatchObject({ ddh: orderNo, zfzt: 2, transactionId: tx.transaction_id });
    } finally {
      built.cleanup();
    }
  });
});
