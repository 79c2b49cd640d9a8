/**
 * The goods/orders data models (datasources/models.ts, schemas/models/*.json): the committed WeDa JSON is
 * what the generator makes now; it passes the data-source JSON Schema that @cloudbase/cals ships; the
 * field mapping (the seed tutorial's ddh/zfzt model) carries into the WeDa JSON and into the store
 * definitions; records the store returns validate against the source schemas.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ORDER_FIELDS, resolveConfig } from '../config';
import {
  GOODS_SCHEMA, ORDERS_SCHEMA, WEDA_DEFAULT_METHODS, buildModelDefinitions, buildWedaModel, buildWedaModels,
  type ModelSourceSchema, type WedaModelJson,
} from '../datasources/models';
import { modelsFile, openSqliteStore } from '../datasources/sqlite-store';
import { WedaModelError, type ModelStore } from '../datasources/weda';
import { MODELS_OUT_DIR, renderModels } from '../scripts/models';
import { REPO_ROOT } from './helpers/paths';

const CALS_DATA_SOURCE_SCHEMA = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/@cloudbase/cals/lib/schema/platform_data_source.json'), 'utf8'));
const SEED = { model: 'wxzfmbddsj_e3xp7j6', fields: { orderNo: 'ddh', status: 'zfzt' } };

const dirs: string[] = [];
const stores: ModelStore[] = [];
function openStore(models: ReturnType<typeof buildModelDefinitions>): { store: ModelStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weda-models-'));
  dirs.push(dir);
  const store = openSqliteStore({ dataDir: dir, models });
  stores.push(store);
  return { store, dir };
}
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('generated files', () => {
  test('datasources/models/*.json are up to date (run `npm run codegen` when this fails)', () => {
    const expected = renderModels();
    expect(Object.keys(expected).sort()).toEqual(['goods.json', 'orders.json', 'refunds.json']);
    expect(readdirSync(MODELS_OUT_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(expected).sort());
    for (const [file, text] of Object.entries(expected)) {
      expect({ file, text: readFileSync(join(MODELS_OUT_DIR, file), 'utf8') }).toEqual({ file, text });
    }
  });
});

describe('validation with the data-source schema shipped by @cloudbase/cals (lib/schema/platform_data_source.json)', () => {
  // weda.md §1.6: the bundled schema is strict (additionalProperties:false) and lacks keys real WeDa exports
  // carry; these two are the only ones our models use. x-relatedType / x-viewId are required by the schema
  // but documented there as runtime-only ("新建/编辑数据源不需要该字段").
  const REAL_WORLD_EXTENSIONS = ['x-primary-column', 'x-system'];
  const strictAjv = new Ajv({ allErrors: true, strict: false });
  strictAjv.addSchema(CALS_DATA_SOURCE_SCHEMA, 'cals-ds');
  const validateDataSource = strictAjv.getSchema('cals-ds')!;

  /** The model as a CALS IDatabaseDataSource, with the listed extension keys removed (and counted). */
  function asCalsDataSource(name: string, model: WedaModelJson): { ds: unknown; removed: Set<string> } {
    const schema = structuredClone(model) as unknown as Record<string, unknown>;
    const removed = new Set<string>();
    const strip = (o: Record<string, unknown>): void => {
      for (const k of REAL_WORLD_EXTENSIONS) if (k in o) { delete o[k]; removed.add(k); }
    };
    strip(schema);
    for (const f of Object.values(schema.properties as Record<string, Record<string, unknown>>)) strip(f);
    return {
      ds: {
        type: 'database', id: `data-${name}`, name, title: model.title, description: model.description ?? '',
        schema: { ...schema, 'x-relatedType': 'create', 'x-viewId': '' },
        configuration: {}, methods: [], version: '1.0.0', schemaVersion: '1.0.0',
      },
      removed,
    };
  }

  function relaxed(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(relaxed);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'additionalProperties' && v === false)).map(([k, v]) => [k, relaxed(v)]));
  }
  const relaxedAjv = new Ajv({ allErrors: true, strict: false });
  relaxedAjv.addSchema(relaxed(CALS_DATA_SOURCE_SCHEMA) as object, 'cals-ds-relaxed');
  const validateRelaxed = relaxedAjv.getSchema('cals-ds-relaxed')!;

  const cases: [string, WedaModelJson][] = [
    ...Object.entries(buildWedaModels()),
    ...Object.entries(buildWedaModels(SEED)).filter(([n]) => n === SEED.model),
  ];
  test.each(cases)('%s passes strictly once only the documented real-world extensions are removed', (name, model) => {
    const { ds, removed } = asCalsDataSource(name, model);
    const ok = validateDataSource(ds);
    expect(validateDataSource.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect([...removed].sort()).toEqual(REAL_WORLD_EXTENSIONS);
  });

  test.each(cases)('%s passes as is against the schema with additionalProperties relaxed', (name, model) => {
    const ds = { type: 'database', id: `data-${name}`, name, title: model.title, description: '', schema: { ...model, 'x-relatedType': 'create', 'x-viewId': '' }, configuration: {}, methods: [], version: '1', schemaVersion: '1' };
    expect(validateRelaxed(ds) ? [] : validateRelaxed.errors).toEqual([]);
  });

  test('the validator bites: an integer field, an enum option without label, or an unknown keyword fails', () => {
    const orders = buildWedaModels().orders!;
    const broken: [string, (m: Record<string, any>) => void][] = [
      ['integer type', (m) => { m.properties.amount.type = 'integer'; }],
      ['enum option without label', (m) => { delete m.properties.status['x-enumObj'][0].label; }],
      ['unknown keyword', (m) => { m.properties.image = { ...m.properties.goodsId, 'x-thumbnail': true }; }],
      ['format on a boolean', (m) => { m.properties.flag = { type: 'boolean', title: 'f', format: 'x-switch' }; }],
    ];
    for (const [what, mutate] of broken) {
      const model = structuredClone(orders) as unknown as Record<string, any>;
      mutate(model);
      const { ds } = asCalsDataSource('orders', model as unknown as WedaModelJson);
      expect({ what, valid: validateDataSource(ds) }).toEqual({ what, valid: false });
    }
  });
});

describe('the WeDa data-model JSON (weda.md §2.3)', () => {
  const { goods, orders } = buildWedaModels() as Record<'goods' | 'orders', WedaModelJson>;

  test('envelope as the CLI pushes it', () => {
    for (const m of [goods, orders]) {
      expect(m).toMatchObject({ type: 'object', 'x-kind': 'tcb', 'x-primary-column': '_id', 'x-defaultMethods': [...WEDA_DEFAULT_METHODS] });
      expect(m['x-defaultMethods']).toEqual(expect.arrayContaining(['wedaCreate', 'wedaGetItem', 'wedaGetRecords', 'wedaUpdate', 'wedaBatchUpdate', 'wedaDelete', 'wedaBatchDelete']));
      // display order: 1..n, in schema order
      expect(Object.values(m.properties).map((f) => f['x-index'])).toEqual(Object.keys(m.properties).map((_, i) => i + 1));
    }
    expect(orders.title).toBe('订单');
    expect(goods.title).toBe('商品');
  });

  test('orders: numeric status with labels, amounts in fen, datetimes, unique order number', () => {
    const p = orders.properties;
    expect(orders.required).toEqual(['orderNo', 'amount', 'status']);
    expect(p.status).toMatchObject({
      type: 'number', enum: [1, 2, 3, 4], default: 1, 'x-required': true,
      'x-enumObj': [{ label: '未支付', value: 1 }, { label: '已支付', value: 2 }, { label: '退款中', value: 3 }, { label: '已退款', value: 4 }],
    });
    expect(p.status!.format).toBeUndefined(); // not a WeDa 枚举: that would store "2"
    expect(p.amount).toMatchObject({ type: 'number', minimum: 1, 'x-required': true });
    expect(p.refundAmount).toMatchObject({ type: 'number', minimum: 1 });
    expect(p.orderNo).toMatchObject({ type: 'string', title: '订单号', 'x-unique': true, pattern: '^[0-9A-Za-z_\\-|*]{6,32}$' });
    for (const f of ['paidAt', 'closedAt', 'refundedAt', 'createdAt', 'updatedAt']) expect(p[f]).toMatchObject({ type: 'number', format: 'datetime' });
    for (const f of ['goodsId', 'goodsName', 'openid', 'transactionId', 'refundNo', 'refundId', 'attach', 'remark']) expect(p[f]!.type).toBe('string');
    const system = Object.entries(p).filter(([, f]) => f['x-system']).map(([n]) => n);
    expect(system).toEqual(['_id', 'createdAt', 'updatedAt']);
    for (const n of system) expect(orders.required).not.toContain(n);
    expect(JSON.stringify(orders)).not.toMatch(/x-indexed|x-index-ties|"integer"/);
  });

  test('goods: price in fen, stock, image (x-image), onSale boolean', () => {
    const p = goods.properties;
    expect(goods.required).toEqual(['name', 'price']);
    expect(p.price).toMatchObject({ type: 'number', minimum: 1, 'x-required': true });
    expect(p.stock).toMatchObject({ type: 'number', minimum: 0 });
    expect(p.image).toMatchObject({ type: 'string', format: 'x-image' });
    expect(p.onSale).toEqual({ type: 'boolean', title: '是否上架', default: true, 'x-index': 7 });
  });

  test('a string enum becomes a WeDa 枚举 (format x-enum) with generated labels', () => {
    const schema: ModelSourceSchema = {
      title: 'T', type: 'object', 'x-weda-model': { name: 'tags', title: '标签' },
      properties: { color: { type: 'string', title: '颜色', enum: ['red', 'blue'] } },
    };
    expect(buildWedaModel('tags', schema).properties.color).toEqual({
      type: 'string', title: '颜色', format: 'x-enum', enum: ['red', 'blue'],
      'x-enumObj': [{ label: 'red', value: 'red' }, { label: 'blue', value: 'blue' }], 'x-index': 1,
    });
  });

  test('the generator refuses what WeDa would not take', () => {
    const base = (field: Record<string, unknown>): ModelSourceSchema => ({
      title: 'T', type: 'object', 'x-weda-model': { name: 't', title: 'T' }, properties: { f: field as never },
    });
    expect(() => buildWedaModel('t', base({ type: 'string', title: 'F', minimum: 1 }))).toThrow(/t\.f: keyword "minimum" is not supported for type string/);
    expect(() => buildWedaModel('t', base({ type: 'integer', title: 'F', format: 'x-image' }))).toThrow(/t\.f\.format "x-image" is not a WeDa integer format/);
    expect(() => buildWedaModel('t', base({ type: 'object', title: 'F' }))).toThrow(/t\.f\.type must be one of/);
    expect(() => buildWedaModel('t', base({ type: 'string' }))).toThrow(/t\.f\.title is required/);
    expect(() => buildWedaModel('t', base({ type: 'integer', title: 'F', enum: [1, 2], 'x-enumObj': [{ label: 'a', value: 1 }] }))).toThrow(/x-enumObj values \[1\] must equal enum \[1,2\]/);
    expect(() => buildWedaModel('t', base({ type: 'string', title: 'F', 'x-system': true }))).toThrow(/x-system is only for platform fields/);
    expect(() => buildWedaModel('bad-name', ORDERS_SCHEMA)).toThrow(/model name "bad-name" must match/);
  });
});

describe('field mapping (config `models` / `fields`)', () => {
  test('every OrderFields key is an orders field, and the default mapping is the identity', () => {
    for (const [logical, real] of Object.entries(DEFAULT_ORDER_FIELDS)) {
      expect(ORDERS_SCHEMA.properties[logical]).toBeDefined();
      expect(real).toBe(logical);
    }
    expect(buildWedaModel('orders', ORDERS_SCHEMA, { fields: DEFAULT_ORDER_FIELDS })).toEqual(buildWedaModels().orders);
  });

  test("the seed's model: ddh / zfzt replace orderNo / status, titles and rules stay", () => {
    const seed = buildWedaModels(SEED)[SEED.model]!;
    const plain = buildWedaModels().orders!;
    expect(Object.keys(seed.properties)).toEqual(Object.keys(plain.properties).map((n) => ({ orderNo: 'ddh', status: 'zfzt' } as Record<string, string>)[n] ?? n));
    expect(seed.properties.ddh).toEqual(plain.properties.orderNo);
    expect(seed.properties.zfzt).toEqual(plain.properties.status);
    expect(seed.required).toEqual(['ddh', 'amount', 'zfzt']);
    expect(seed.properties.orderNo).toBeUndefined();
  });

  test('bad mappings are refused, naming the field', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ orderNumber: 'ddh' }, /fields\.orderNumber: "orderNumber" is not a field of the orders model \(fields: orderNo, goodsId/],
      [{ orderNo: 'ddh', status: 'ddh' }, /fields: orderNo and status both map to "ddh"/],
      [{ orderNo: 'amount' }, /fields: orderNo and amount both map to "amount"/],
      [{ status: 'createdAt' }, /fields\.status: "createdAt" is a platform field name/],
      [{ status: 'zf-zt' }, /fields\.status must be a field name matching/],
      [{ _id: 'id' }, /fields\._id: the system field _id cannot be renamed/],
    ];
    for (const [fields, rule] of bad) {
      expect(() => buildWedaModel('orders', ORDERS_SCHEMA, { fields })).toThrow(rule);
      expect(() => buildModelDefinitions({ fields })).toThrow(rule);
    }
    expect(() => buildModelDefinitions({ model: 'shop', goodsModel: 'shop' })).toThrow(/must have different names \(both "shop"\)/);
  });
});

describe('store definitions from the same schemas', () => {
  test('defaults: records are checked, orderNo is unique, status/openid/refundNo/paidAt/onSale are indexed', async () => {
    const { store, dir } = openStore(buildModelDefinitions());
    const call = (name: string, methodName: string, params: Record<string, unknown>) => store.callModel({ name, methodName, params });
    await call('orders', 'wedaCreate', { orderNo: 'DEF00001', status: 1, amount: 100, goodsId: 'G1', openid: 'o-1' });
    await call('goods', 'wedaCreate', { name: 'Tea', price: 990, stock: 3, onSale: true, image: 'cloud://env.bucket/tea.png' });
    const refusals: [string, Record<string, unknown>, string, RegExp][] = [
      ['orders', { orderNo: 'DEF00002', status: 1, amount: 1.5 }, 'SchemaViolation', /orders\.amount must be of type integer/],
      ['orders', { orderNo: 'DEF00002', status: 5, amount: 1 }, 'SchemaViolation', /orders\.status must be one of \[1,2,3,4\]/],
      ['orders', { orderNo: 'DEF00002', status: '2', amount: 1 }, 'SchemaViolation', /orders\.status must be of type integer \(got "2"\)/],
      ['orders', { status: 1, amount: 1 }, 'SchemaViolation', /orders\.orderNo is required/],
      ['orders', { orderNo: 'DEF00001', status: 1, amount: 1 }, 'DuplicateValue', /orders\.orderNo must be unique/],
      ['goods', { name: 'Cup', price: 100, onSale: 'yes' }, 'SchemaViolation', /goods\.onSale must be of type boolean/],
      ['goods', { name: 'Cup' }, 'SchemaViolation', /goods\.price is required/],
    ];
    for (const [model, params, code, rule] of refusals) {
      const err = await call(model, 'wedaCreate', params).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WedaModelError);
      expect(`${(err as WedaModelError).code} ${(err as Error).message}`).toMatch(new RegExp(`^${code} ${rule.source}`));
    }
    const db = new Database(modelsFile(dir, 'prod'), { readonly: true });
    const indexes = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    db.close();
    expect(indexes).toEqual(['ix_goods__onSale', 'ix_orders__openid', 'ix_orders__paidAt', 'ix_orders__refundNo', 'ix_orders__status', 'ux_orders__orderNo']);
  });

  test("the seed's hand-built model, configured through weda-wxpay.config.json, works unchanged", async () => {
    const { orders: binding } = resolveConfig(
      {
        provider: 'cloudpay', appid: 'wx0123456789abcdef', subMchId: '1900000109', envType: 'prod',
        cloudpay: { envId: 'wxpay-test-1a2b3c', payCallbackFunction: 'wxpayNotify' },
        models: { orders: SEED.model }, fields: SEED.fields,
      },
      { baseDir: REPO_ROOT, env: {} },
    );
    const defs = buildModelDefinitions(binding);
    expect(Object.keys(defs).sort()).toEqual(['goods', 'refunds', SEED.model]);
    const { store } = openStore(defs);
    const call = (methodName: string, params: Record<string, unknown>) => store.callModel({ name: binding.model, methodName, params, envType: binding.envType });
    await call('wedaCreate', { [binding.fields.orderNo]: 'SEED0001', [binding.fields.status]: 1, [binding.fields.amount]: 1 });
    const pay = { where: [{ key: binding.fields.orderNo, rel: 'eq', val: 'SEED0001' }, { key: binding.fields.status, rel: 'eq', val: 1 }], record: { [binding.fields.status]: 2 } };
    expect(await call('wedaBatchUpdate', pay)).toEqual({ updated: 1 });
    expect(await call('wedaBatchUpdate', pay)).toEqual({ updated: 0 });
    expect(await call('wedaGetItem', { where: [{ key: 'ddh', rel: 'eq', val: 'SEED0001' }] })).toMatchObject({ ddh: 'SEED0001', zfzt: 2, amount: 1 });
    await expect(call('wedaCreate', { orderNo: 'SEED0002', status: 1, amount: 1 })).rejects.toMatchObject({ code: 'SchemaViolation', message: expect.stringMatching(/wxzfmbddsj_e3xp7j6\.orderNo is not a field/) });
    await expect(call('wedaCreate', { ddh: 'SEED0001', zfzt: 1, amount: 1 })).rejects.toMatchObject({ code: 'DuplicateValue', message: expect.stringMatching(/\.ddh must be unique/) });
  });

  test('a WeDa model JSON passed as a definition creates no index for its x-index display order', async () => {
    const { store, dir } = openStore({ orders: buildWedaModels().orders as never });
    await store.callModel({ name: 'orders', methodName: 'wedaCreateV2', params: { data: { orderNo: 'IDX00001', status: 1, amount: 1 } } });
    const db = new Database(modelsFile(dir, 'prod'), { readonly: true });
    const indexes = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name);
    db.close();
    expect(indexes).toEqual(['ux_orders__orderNo']);
  });
});

describe('the source schemas describe the records the store returns', () => {
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addVocabulary(['x-weda-model', 'x-enumObj', 'x-unique', 'x-system', 'x-indexed', 'x-index-ties']);
  ajv.addFormat('datetime', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  ajv.addFormat('x-image', { type: 'string', validate: (s: string) => /^(cloud|https):\/\/\S+$/.test(s) });
  const validateOrder = ajv.compile(ORDERS_SCHEMA);
  const validateGoods = ajv.compile(GOODS_SCHEMA);

  test('records read back from the SQLite store validate; wrong ones do not', async () => {
    const { store } = openStore(buildModelDefinitions());
    const call = (name: string, methodName: string, params: Record<string, unknown>) => store.callModel({ name, methodName, params });
    const { _id } = await call('orders', 'wedaCreate', { orderNo: 'SRC00001', goodsId: 'G1', goodsName: '茶', amount: 990, status: 1, openid: 'o-x', attach: 'a' });
    await call('orders', 'wedaBatchUpdate', { where: [{ key: '_id', rel: 'eq', val: _id }, { key: 'status', rel: 'eq', val: 1 }], record: { status: 2, transactionId: '4200001234202401011234567890', paidAt: 1_700_000_000_000 } });
    const order = await call('orders', 'wedaGetItem', { _id });
    expect(validateOrder(order) ? [] : validateOrder.errors).toEqual([]);
    expect(validateOrder({ ...order, status: '2' })).toBe(false);
    expect(validateOrder({ ...order, amount: 0 })).toBe(false);
    expect(validateOrder({ ...order, paidAt: 1.5 })).toBe(false);
    expect(validateOrder({ ...order, extra: 1 })).toBe(false);

    const g = await call('goods', 'wedaCreateV2', { data: { name: 'Tea', price: 990, stock: 3, onSale: true, image: 'cloud://env-1.bucket/tea.png' } });
    const goods = await call('goods', 'wedaGetItemV2', { filter: { where: { _id: { $eq: g.id } } } });
    expect(validateGoods(goods) ? [] : validateGoods.errors).toEqual([]);
    expect(validateGoods({ ...goods, image: 'tea.png' })).toBe(false);
  });
});
