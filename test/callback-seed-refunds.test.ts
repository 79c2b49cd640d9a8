/**
 * Partial refunds with the seed tutorial's hand-built orders model (`wxzfmbddsj_e3xp7j6`, ddh = order number,
 * zfzt = pay status) and a refunds model under a configured name (`models.refunds`): the generated functions name
 * both models, and run against a store that enforces them (every field they write must exist with its type); and
 * end to end through the dev server, requestRefund included.
 */
import vm from 'node:vm';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateFunctions } from '../callbacks/generate';
import { createLocalFunctionHost, LocalFunctionHost } from '../callbacks/local-host';
import { buildModelDefinitions } from '../datasources/models';
import { openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, ModelStore } from '../datasources/weda';
import { cloudPayRefundEvent, createOrder, orderOf, SEED_VIEW, startCallbackDev, TestDev } from './helpers/callback-harness';

const REFUNDS = 'wxzftkjl_r7m2';
const SEED = { models: { orders: 'wxzfmbddsj_e3xp7j6', refunds: REFUNDS }, fields: { orderNo: 'ddh', status: 'zfzt' }, envType: 'pre' as const };
const seedConfig = (extra: Record<string, unknown> = {}) => ({
  provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109',
  cloudpay: { envId: 'weda-7g5x', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
  ...SEED, ...extra,
}) as never;

it('the generated refund-notify and reconcile name the configured refunds model and the seed\'s fields', () => {
  for (const kind of ['refund-notify', 'reconcile']) {
    const source = generateFunctions({ config: seedConfig() }).find((f) => f.kind === kind)!.source;
    expect(() => new vm.Script(source)).not.toThrow();
    expect(source).toContain(`const REFUNDS_MODEL = '${REFUNDS}';`);
    expect(source).toContain("refundedAmount: 'refundedAmount',");
    expect(source).toContain("{ key: 'zfzt', rel: 'eq', val: expectedStatus },");
    expect(source).toContain("params: { filter: { where: { $and: [{ refundNo: { $eq: refundNo } }, { status: { $eq: expectedStatus } }] } }, data: record },");
  }
  expect(generateFunctions({ config: seedConfig() }).find((f) => f.kind === 'reconcile')!.source).toContain("orderBy: [{ reconciledAt: 'asc' }, { [timeField]: 'asc' }],");
});

describe('the generated refund-notify against a store that enforces the seed model and the refunds model', () => {
  let dir: string;
  let store: ModelStore;
  let host: LocalFunctionHost;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-seed-refunds-'));
    store = openSqliteStore({ dataDir: dir, models: buildModelDefinitions({ model: SEED.models.orders, refundsModel: REFUNDS, fields: SEED.fields }) });
    host = createLocalFunctionHost({ config: seedConfig({ callbacks: { confirmCloudPayEvents: false } }), baseDir: dir, weda: createWeda({ store }), log: () => {} });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const get = (ddh: string) => store.callModel({ name: SEED.models.orders, methodName: 'wedaGetItem', params: { where: [{ key: 'ddh', rel: 'eq', val: ddh }] }, envType: 'pre' });
  const refundsOf = async (ddh: string) => (await store.callModel({ name: REFUNDS, methodName: 'wedaGetRecordsV2', params: { filter: { where: { orderNo: { $eq: ddh } } }, orderBy: [{ createdAt: 'asc' }] }, envType: 'pre' })).records;
  const run = async (event: unknown): Promise<any> => (await host.invoke('wxpay-refund-notify', { headers: {}, rawBody: Buffer.from(JSON.stringify(event)) })).body;
  const event = (outRefundNo: string, refundFee: number) => cloudPayRefundEvent({ outTradeNo: 'SEEDR0001', outRefundNo, refundStatus: 'SUCCESS', totalFee: 1000, refundFee });

  it('300 then 700 of 1000: zfzt 2 with refundedAmount 300, then 4; both refunds in the configured model; a duplicate counts once', async () => {
    await store.callModel({ name: SEED.models.orders, methodName: 'wedaCreate', params: { ddh: 'SEEDR0001', amount: 1000, zfzt: 2 }, envType: 'pre' });
    expect(await run(event('SEEDR0001-R1', 300))).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await get('SEEDR0001')).toMatchObject({ zfzt: 2, refundedAmount: 300, refundNo: 'SEEDR0001-R1', refundAmount: 300 });
    expect(await run(event('SEEDR0001-R1', 300))).toEqual({ errcode: 0, errmsg: 'OK (duplicate)' });
    expect(await get('SEEDR0001')).toMatchObject({ zfzt: 2, refundedAmount: 300 });
    expect(await run(event('SEEDR0001-R2', 700))).toEqual({ errcode: 0, errmsg: 'OK' });
    expect(await get('SEEDR0001')).toMatchObject({ zfzt: 4, refundedAmount: 1000, refundNo: 'SEEDR0001-R2' });
    expect((await refundsOf('SEEDR0001')).map((r: any) => [r.refundNo, r.amount, r.status])).toEqual([['SEEDR0001-R1', 300, 'SUCCESS'], ['SEEDR0001-R2', 700, 'SUCCESS']]);
  });
});

describe('end to end with the seed model and a configured refunds model', () => {
  let t: TestDev;
  beforeAll(async () => {
    t = await startCallbackDev({ config: SEED, refundSettleSeconds: null });
  });
  afterAll(async () => { await t?.close(); });
  const order = (orderNo: string) => orderOf(t, orderNo, { view: SEED_VIEW });

  it('requestRefund in two parts: zfzt 2 with refundedAmount, then 4, the refunds in the configured model', async () => {
    const orderNo = await createOrder(t, 1000, { view: SEED_VIEW });
    expect((await t.connector('unifiedOrder', { body: '咖啡券', outTradeNo: orderNo, totalFee: 1000, openid: 'o-seed' })).status).toBe(200);
    await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
    await t.waitFor(async () => (await order(orderNo)).zfzt === 2, 'zfzt 2');

    const first = (await t.connector('requestRefund', { orderNo, refundFee: 300 })).body;
    expect(first).toMatchObject({ outRefundNo: `${orderNo}-R1`, refundFee: 300 });
    expect(await order(orderNo)).toMatchObject({ zfzt: 3, refundNo: `${orderNo}-R1` });
    await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${orderNo}-R1/settle`, { status: 'SUCCESS' });
    await t.waitFor(async () => { const o = await order(orderNo); return o.zfzt === 2 && o.refundedAmount === 300; }, 'zfzt 2, refundedAmount 300');

    expect((await t.connector('requestRefund', { orderNo })).body).toMatchObject({ outRefundNo: `${orderNo}-R2`, refundFee: 700 });
    await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${orderNo}-R2/settle`, { status: 'SUCCESS' });
    await t.waitFor(async () => (await order(orderNo)).zfzt === 4, 'zfzt 4');
    expect((await order(orderNo)).status).toBeUndefined();
    const records = (await t.model(REFUNDS, 'wedaGetRecordsV2', { filter: { where: { orderNo: { $eq: orderNo } } }, orderBy: [{ createdAt: 'asc' }] })).records;
    expect(records.map((r: any) => [r.refundNo, r.amount, r.status])).toEqual([[`${orderNo}-R1`, 300, 'SUCCESS'], [`${orderNo}-R2`, 700, 'SUCCESS']]);
  });
});
