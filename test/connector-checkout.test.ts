/**
 * checkout (下单并支付) on both backends, through the dev server's `POST /connector/checkout` with the real SQLite
 * store and the sandbox over HTTP: the amount is the goods model's price × quantity, never the client's; the
 * order row is written (status 1) through the configured field mapping; paying it charges exactly that amount.
 * Every bad input is refused naming the field, with no order row written and nothing sent to WeChat Pay.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnector, createProvider, exportWedaConnector, MANIFEST } from '../connector';
import { DEFAULT_ORDER_FIELDS } from '../config';
import { buildModelDefinitions } from '../datasources/models';
import { modelsFile, openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, ModelStore } from '../datasources/weda';
import { startCallbackDev, TestDev } from './helpers/callback-harness';
import { buildInto, runFunction, sandboxBuildConfig, sandboxSecrets } from './helpers/callback-bundle';

const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const SEED = { models: { orders: 'wxzfmbddsj_e3xp7j6' }, fields: { orderNo: 'ddh', status: 'zfzt' }, envType: 'pre' as const };

/** A dev server on one backend, and what reached the sandbox's payment APIs (its request log holds v3 and CloudPay calls). */
async function startBackend(provider: 'v3' | 'cloudpay', config?: Record<string, unknown>) {
  const t = await startCallbackDev({ provider, ...(config ? { config } : {}) });
  return {
    t,
    /** Requests that reached WeChat Pay (the sandbox): v3 API requests and CloudPay API calls alike. */
    async sent(): Promise<number> {
      return t.sandboxRequestCount();
    },
  };
}

async function addGoods(t: TestDev, goods: Record<string, unknown>): Promise<string> {
  const created = await t.model('goods', 'wedaCreateV2', { data: { stock: 10, ...goods } });
  return created.id;
}

async function countRows(t: TestDev, model: string): Promise<number> {
  return (await t.model(model, 'wedaGetRecordsV2', { pageSize: 1, getCount: true })).total;
}

async function rowOf(t: TestDev, model: string, field: string, orderNo: string): Promise<any> {
  return t.model(model, 'wedaGetItemV2', { filter: { where: { [field]: { $eq: orderNo } } }, select: { $master: true } });
}

describe.each(['v3', 'cloudpay'] as const)('checkout on %s', (provider) => {
  let b: Awaited<ReturnType<typeof startBackend>>;
  let t: TestDev;
  let coffee: string;
  beforeAll(async () => {
    b = await startBackend(provider);
    t = b.t;
    coffee = await addGoods(t, { name: '咖啡券', price: 19900 });
  });
  afterAll(async () => { await t?.close(); });

  it('writes the order at the goods price × quantity, and paying it charges exactly that', async () => {
    const sent = await b.sent();
    const res = await t.connector('checkout', { goodsId: coffee, quantity: 2, openid: OPENID });
    expect(res.status).toBe(200);
    // One request to WeChat Pay: the order placed (what the bad-input cases below count is real).
    expect(await b.sent()).toBe(sent + 1);
    expect(res.body).toEqual({ orderNo: expect.stringMatching(/^\d{14}[0-9A-Z]{10}$/), amount: 39800, payment: expect.objectContaining({ package: expect.stringMatching(/^prepay_id=/), signType: provider === 'v3' ? 'RSA' : 'MD5' }) });
    const { orderNo } = res.body;
    expect(await rowOf(t, 'orders', 'orderNo', orderNo)).toMatchObject({ orderNo, status: 1, amount: 39800, goodsId: coffee, goodsName: '咖啡券', openid: OPENID });

    const paid = await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ out_trade_no: orderNo, trade_state: 'SUCCESS', amount: { total: 39800, payer_total: 39800 }, payer: { openid: OPENID } });
    // The payment callback accepts it: the notified amount is the order's.
    await t.waitFor(async () => (await rowOf(t, 'orders', 'orderNo', orderNo)).status === 2, 'the order paid (status 2)');
  });

  it('defaults to one item, and makes a new order number every time', async () => {
    const first = await t.connector('checkout', { goodsId: coffee, openid: OPENID });
    const second = await t.connector('checkout', { goodsId: coffee, openid: OPENID });
    expect(first.body.amount).toBe(19900);
    expect(second.body.amount).toBe(19900);
    expect(first.body.orderNo).not.toBe(second.body.orderNo);
    const tx = await t.get(`${t.dev.info.baseUrl}/sandbox/transactions/${first.body.orderNo}`);
    expect(tx.body).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 19900 } });
  });

  describe('bad input: refused naming the field, no order row, nothing sent', () => {
    let unlisted: string;
    let priceless: string;
    let dearest: string;
    beforeAll(async () => {
      unlisted = await addGoods(t, { name: '下架商品', price: 100, onSale: false });
      dearest = await addGoods(t, { name: '最贵的', price: 2147483647 });
      // A record edited by hand with a price in yuan: the server's data is wrong, not the caller's input. The
      // store refuses a price that is not an integer, so the edit goes straight into its file.
      priceless = await addGoods(t, { name: '坏价格', price: 1 });
      const db = new Database(modelsFile(path.join(t.dataDir, 'models'), t.dev.resolved.orders.envType));
      try {
        db.prepare(`UPDATE m_goods SET data = json_set(data, '$.price', 199.5) WHERE _id = ?`).run(priceless);
      } finally {
        db.close();
      }
    });

    const cases: Array<[what: string, params: () => Record<string, unknown>, status: number, code: string, field: string, message: RegExp]> = [
      ['an amount from the client (the issue: amount 1 for a 199.00 item)', () => ({ goodsId: coffee, openid: OPENID, amount: 1 }), 400, 'PARAM_ERROR', 'amount', /amount is not a known field/],
      ['a totalFee from the client', () => ({ goodsId: coffee, openid: OPENID, totalFee: 1 }), 400, 'PARAM_ERROR', 'totalFee', /totalFee is not a known field/],
      ['an unknown goods id', () => ({ goodsId: 'NO_SUCH_GOODS', openid: OPENID }), 400, 'INVALID_REQUEST', 'goodsId', /no goods "NO_SUCH_GOODS" in model goods \(pre\)/],
      ['goods not on sale', () => ({ goodsId: unlisted, openid: OPENID }), 400, 'INVALID_REQUEST', 'goodsId', /is not on sale/],
      ['a missing goods id', () => ({ openid: OPENID }), 400, 'PARAM_ERROR', 'goodsId', /goodsId is required/],
      ['quantity 0', () => ({ goodsId: coffee, quantity: 0, openid: OPENID }), 400, 'PARAM_ERROR', 'quantity', /quantity must be an integer ≥ 1 and ≤ 99/],
      ['a negative quantity', () => ({ goodsId: coffee, quantity: -2, openid: OPENID }), 400, 'PARAM_ERROR', 'quantity', /quantity must be an integer ≥ 1 and ≤ 99/],
      ['a fractional quantity', () => ({ goodsId: coffee, quantity: 1.5, openid: OPENID }), 400, 'PARAM_ERROR', 'quantity', /quantity must be an integer ≥ 1 and ≤ 99/],
      ['a quantity as text', () => ({ goodsId: coffee, quantity: '2', openid: OPENID }), 400, 'PARAM_ERROR', 'quantity', /quantity must be an integer/],
      ['an absurd quantity', () => ({ goodsId: coffee, quantity: 100, openid: OPENID }), 400, 'PARAM_ERROR', 'quantity', /quantity must be an integer ≥ 1 and ≤ 99/],
      ['an amount beyond what WeChat Pay accepts', () => ({ goodsId: dearest, quantity: 2, openid: OPENID }), 400, 'PARAM_ERROR', 'quantity', /2 × 2147483647 fen = 4294967294 fen, more than WeChat Pay accepts for one order \(2147483647 fen\)/],
      ['a missing openid', () => ({ goodsId: coffee }), 400, 'PARAM_ERROR', 'openid', /openid is required/],
      ['an empty openid', () => ({ goodsId: coffee, openid: '' }), 400, 'PARAM_ERROR', 'openid', /openid must not be empty/],
      ['a goods record whose price is not whole fen', () => ({ goodsId: priceless, openid: OPENID }), 500, 'CONFIG_ERROR', 'price', /has price 199\.5; price must be an integer number of fen/],
    ];

    it.each(cases)('%s', async (_what, params, status, code, field, message) => {
      const rows = await countRows(t, 'orders');
      const sent = await b.sent();
      const res = await t.connector('checkout', params());
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, retryable: false, detail: expect.objectContaining({ field }) });
      expect(res.body.message).toMatch(message);
      expect(await countRows(t, 'orders')).toBe(rows);
      expect(await b.sent()).toBe(sent);
    });
  });
});

describe('checkout with the seed tutorial\'s hand-built model (ddh / zfzt)', () => {
  let b: Awaited<ReturnType<typeof startBackend>>;
  let t: TestDev;
  beforeAll(async () => {
    b = await startBackend('v3', SEED);
    t = b.t;
  });
  afterAll(async () => { await t?.close(); });

  it('writes ddh and zfzt, and the payment callback finds the order by them', async () => {
    const sticker = await addGoods(t, { name: '微搭贴纸', price: 1 });
    const res = await t.connector('checkout', { goodsId: sticker, quantity: 3, openid: OPENID });
    expect(res.status).toBe(200);
    const { orderNo } = res.body;
    const row = await rowOf(t, SEED.models.orders, 'ddh', orderNo);
    expect(row).toMatchObject({ ddh: orderNo, zfzt: 1, amount: 3, goodsId: sticker, goodsName: '微搭贴纸', openid: OPENID });
    expect(row.orderNo).toBeUndefined();
    expect(row.status).toBeUndefined();
    // The environment has no default orders model at all, so nothing went there.
    await expect(countRows(t, 'orders')).rejects.toThrow(/ModelNotFound/);
    const paid = await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
    expect(paid.body.amount.total).toBe(3);
    await t.waitFor(async () => (await rowOf(t, SEED.models.orders, 'ddh', orderNo)).zfzt === 2, 'zfzt 2');
  });

  it('writes only fields the seed model has (a store that enforces the model)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-checkout-seed-'));
    let store: ModelStore | undefined;
    try {
      store = openSqliteStore({ dataDir: dir, models: buildModelDefinitions({ model: SEED.models.orders, fields: SEED.fields }) });
      const weda = createWeda({ store });
      const binding = { model: SEED.models.orders, goodsModel: 'goods', refundsModel: 'refunds', fields: { ...DEFAULT_ORDER_FIELDS, ...SEED.fields }, envType: 'pre' as const };
      const connector = createConnector(createProvider(t.dev.resolved), { retry: { maxRetries: 0, baseDelayMs: 0 }, models: { weda, binding } });
      const { id } = await weda.callModel({ name: 'goods', methodName: 'wedaCreateV2', params: { data: { name: '年度会员', price: 19900 } }, envType: 'pre' });
      const out: any = await connector.call('checkout', { goodsId: id, openid: OPENID });
      const row = await weda.callModel({ name: SEED.models.orders, methodName: 'wedaGetItemV2', params: { filter: { where: { ddh: { $eq: out.orderNo } } } }, envType: 'pre' });
      expect(row).toMatchObject({ ddh: out.orderNo, zfzt: 1, amount: 19900, goodsName: '年度会员' });
    } finally {
      await store?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the built connector function', () => {
  let t: TestDev;
  beforeAll(async () => { t = await startCallbackDev(); });
  afterAll(async () => { await t?.close(); });

  it('runs checkout against its own data models in a fresh process', async () => {
    const built = await buildInto(sandboxBuildConfig(t));
    try {
      const goodsId = await addGoods(t, { name: '年度会员', price: 19900 });
      const dir = built.functions.find((f) => f.kind === 'connector')!.dir;
      const env = { ...sandboxSecrets(t), WEDA_WXPAY_STORE: `sqlite:${path.join(t.dataDir, 'models')}` };
      const run = await runFunction(dir, { method: 'checkout', params: { goodsId, quantity: 2, openid: OPENID } }, env);
      expect(run.result).toMatchObject({ ok: true, data: { amount: 39800, payment: { signType: 'RSA' } } });
      const { orderNo } = run.result.data;
      expect(await rowOf(t, 'orders', 'orderNo', orderNo)).toMatchObject({ status: 1, amount: 39800, goodsId, openid: OPENID });
      const refused = await runFunction(dir, { method: 'checkout', params: { goodsId, openid: OPENID, amount: 1 } }, env);
      expect(refused.result).toMatchObject({ ok: false, error: { code: 'PARAM_ERROR', status: 400, detail: { field: 'amount' } } });
    } finally {
      built.cleanup();
    }
  }, 60_000);
});

describe('the server methods in the manifest', () => {
  it('are rows of target server, exported to WeDa with their schemas (no amount in checkout\'s input)', () => {
    expect(MANIFEST.filter((m) => m.target === 'server').map((m) => [m.name, m.title, m.intent])).toEqual([
      ['checkout', '下单并支付', 'create'],
      ['requestRefund', '按订单申请退款', 'create'],
    ]);
    const methods = (exportWedaConnector().methods as any[]);
    const checkout = methods.find((m) => m.name === 'checkout');
    expect(Object.keys(checkout.inParams.properties)).toEqual(['goodsId', 'quantity', 'openid']);
    expect(checkout.inParams.properties.openid['x-required']).toBe(true);
    expect(checkout.inParams.properties.quantity).toMatchObject({ type: 'number', minimum: 1, maximum: 99, default: 1 });
    expect(Object.keys(checkout.outParams.properties)).toEqual(['orderNo', 'amount', 'payment']);
    const requestRefund = methods.find((m) => m.name === 'requestRefund');
    expect(requestRefund.inParams.required).toEqual(['orderNo']);
    expect(Object.keys(requestRefund.outParams.properties)).toEqual(['orderNo', 'outRefundNo', 'refundFee', 'status']);
  });

  it('answer CONFIG_ERROR from a connector created without the data models, sending nothing', async () => {
    let calls = 0;
    const provider = new Proxy({ kind: 'v3' }, { get: (target, key) => (key === 'kind' ? target.kind : async () => { calls += 1; return {}; }) }) as never;
    const connector = createConnector(provider);
    await expect(connector.call('checkout', { goodsId: 'G1', openid: OPENID })).rejects.toMatchObject({ code: 'CONFIG_ERROR', detail: { field: 'models' } });
    await expect(connector.call('requestRefund', { orderNo: 'ORDER000001' })).rejects.toMatchObject({ code: 'CONFIG_ERROR', detail: { field: 'models' } });
    expect(calls).toBe(0);
  });
});
