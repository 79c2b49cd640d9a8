/**
 * The local store enforces its models as WeDa does (weda.md §2.3, §3): opened as the dev server and the function
 * bundles open it, it refuses an unknown model, a field the model lacks, a value of the wrong type or outside
 * the field's enum, a missing required field and a second record with a unique field's value — creates and
 * updates alike — with a WedaModelError whose `code`, `model`, `field` and message name what was refused, and
 * it writes nothing (a batch with one bad record writes none). Uniqueness is the database's: it holds between
 * store instances on one file. The same through the dev server's `POST /models/...` route, for the generated
 * models and for the seed tutorial's hand-built one (ddh = order number, unique).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { buildModelDefinitions } from '../datasources/models';
import { definitionsFile, modelsFile, openSqliteStore, type SqliteStoreOptions } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';
import { modelRefusal } from './helpers/model-errors';
import { startCallbackDev, type TestDev } from './helpers/callback-harness';

const dirs: string[] = [];
const stores: ModelStore[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weda-enforce-'));
  dirs.push(d);
  return d;
}
function open(opts: Partial<SqliteStoreOptions> = {}): ModelStore {
  const s = openSqliteStore({ dataDir: tempDir(), ...opts });
  stores.push(s);
  return s;
}
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Call = (methodName: string, params?: Record<string, unknown>) => Promise<any>;
const caller = (store: ModelStore, name: string): Call => (methodName, params) => store.callModel({ name, methodName, params, envType: 'pre' });


/** Every record of the model, as stored. */
async function all(call: Call): Promise<unknown[]> {
  return (await call('wedaGetRecordsV2', { pageSize: 200, orderBy: [{ createdAt: 'asc' }] })).records;
}

const order = (orderNo: string, extra: Record<string, unknown> = {}) => ({ orderNo, amount: 100, status: 1, ...extra });

describe('opened as the dev server and the bundles open it (no definitions given): the generated models', () => {
  const dataDir = tempDir();
  const store = openSqliteStore({ dataDir });
  stores.push(store);
  const orders = caller(store, 'orders');

  test('an unknown model is refused by name, and no table is made for it', async () => {
    const err = await modelRefusal(store.callModel({ name: 'ordres', methodName: 'wedaCreateV2', params: { data: order('UNKNOWN01') }, envType: 'pre' }));
    expect(err).toMatchObject({ code: 'ModelNotFound', model: 'ordres' });
    expect(err.message).toBe(`model "ordres" is not defined (defined: ${Object.keys(buildModelDefinitions()).join(', ')})`);
    await orders('wedaGetRecordsV2', {}); // opens the pre file
    const db = new Database(modelsFile(dataDir, 'pre'), { readonly: true });
    try {
      // The orders model's table and the store's record of the types its rows hold to; nothing for the unknown model.
      expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all()).toEqual(['m_orders', 'weda_field_types']);
    } finally {
      db.close();
    }
  });

  test('creates: wrong type, outside the enum, missing required, unknown field → SchemaViolation naming model and field; nothing written', async () => {
    await orders('wedaCreateV2', { data: order('KEEP00001') });
    const before = await all(orders);
    const cases: Array<[method: string, params: Record<string, unknown>, field: string, rule: RegExp]> = [
      ['wedaCreate', order('BAD000001', { status: '1' }), 'status', /^orders\.status must be of type integer \(got "1"\) \(params\.status\)$/],
      ['wedaCreate', order('BAD000002', { amount: 1.5 }), 'amount', /^orders\.amount must be of type integer \(got 1\.5\) \(params\.amount\)$/],
      ['wedaCreateV2', { data: order('BAD000003', { status: 9 }) }, 'status', /^orders\.status must be one of \[1,2,3,4\] \(got 9\) \(params\.data\.status\)$/],
      ['wedaCreateV2', { data: { amount: 100, status: 1 } }, 'orderNo', /^orders\.orderNo is required \(params\.data\.orderNo is missing\)$/],
      ['wedaCreateV2', { data: { orderNo: 'BAD000004', status: 1 } }, 'amount', /^orders\.amount is required/],
      ['wedaCreateV2', { data: order('BAD000005', { status: null }) }, 'status', /^orders\.status is required and must not be null/],
      ['wedaCreateV2', { data: order('BAD000006', { colour: 'red' }) }, 'colour', /^orders\.colour is not a field of model "orders" \(params\.data\.colour\)$/],
      ['wedaCreateV2', { data: order('BAD000007', { orderNo: 7 }) }, 'orderNo', /^orders\.orderNo must be of type string \(got 7\)/],
      ['wedaUpsertV2', { filter: { where: { orderNo: 'BAD000008' } }, create: order('BAD000008', { status: 0 }), update: { status: 1 } }, 'status', /^orders\.status must be one of \[1,2,3,4\] \(got 0\) \(params\.create\.status\)$/],
    ];
    for (const [method, params, field, rule] of cases) {
      const err = await modelRefusal(orders(method, params));
      expect({ method, code: err.code, model: err.model, field: err.field }).toEqual({ method, code: 'SchemaViolation', model: 'orders', field });
      expect(`${method}: ${err.message}`).toMatch(new RegExp(`^${method}: ${rule.source.slice(1)}`));
    }
    expect(await all(orders)).toEqual(before);
  });

  test('updates: status 9, a status or amount of the wrong type, a null required field, an unknown field → refused; the order unchanged', async () => {
    const { id } = await orders('wedaCreateV2', { data: order('UPD000001') });
    const before = await orders('wedaGetItemV2', { filter: { where: { _id: id } } });
    const byOrderNo = [{ key: 'orderNo', rel: 'eq', val: 'UPD000001' }];
    const cases: Array<[method: string, params: Record<string, unknown>, field: string, rule: RegExp]> = [
      ['wedaBatchUpdate', { where: [...byOrderNo, { key: 'status', rel: 'eq', val: 1 }], record: { status: 9 } }, 'status', /orders\.status must be one of \[1,2,3,4\] \(got 9\) \(params\.record\.status\)/],
      ['wedaBatchUpdate', { where: byOrderNo, record: { status: '2' } }, 'status', /orders\.status must be of type integer \(got "2"\)/],
      ['wedaBatchUpdate', { where: byOrderNo, record: { status: 2, paidAt: '2024-03-01' } }, 'paidAt', /orders\.paidAt must be of type integer/],
      ['wedaUpdateV2', { filter: { where: { orderNo: { $eq: 'UPD000001' } } }, data: { status: 9 } }, 'status', /orders\.status must be one of \[1,2,3,4\] \(got 9\) \(params\.data\.status\)/],
      ['wedaUpdateV2', { filter: { where: { orderNo: 'UPD000001' } }, data: { amount: '100' } }, 'amount', /orders\.amount must be of type integer \(got "100"\)/],
      ['wedaBatchUpdateV2', { filter: { where: { orderNo: 'UPD000001' } }, data: { status: null } }, 'status', /orders\.status is required and must not be null/],
      ['wedaUpdate', { _id: id, status: 2, note: 'x' }, 'note', /orders\.note is not a field of model "orders"/],
      ['wedaUpsertV2', { filter: { where: { orderNo: 'UPD000001' } }, create: order('UPD000001'), update: { status: 5 } }, 'status', /orders\.status must be one of \[1,2,3,4\] \(got 5\) \(params\.update\.status\)/],
    ];
    for (const [method, params, field, rule] of cases) {
      const err = await modelRefusal(orders(method, params));
      expect({ method, code: err.code, model: err.model, field: err.field }).toEqual({ method, code: 'SchemaViolation', model: 'orders', field });
      expect(err.message).toMatch(rule);
    }
    expect(await orders('wedaGetItemV2', { filter: { where: { _id: id } } })).toEqual(before);
    // What the payment callback writes is accepted.
    expect(await orders('wedaBatchUpdate', { where: [...byOrderNo, { key: 'status', rel: 'eq', val: 1 }], record: { status: 2, transactionId: '4200000001', paidAt: 1_700_000_000_000, openid: 'o-1' } })).toEqual({ updated: 1 });
  });

  test('a second order with the same orderNo → DuplicateValue naming orders.orderNo, by create, batch create, update or upsert; nothing written', async () => {
    await orders('wedaCreateV2', { data: order('DUP000001') });
    await orders('wedaCreateV2', { data: order('DUP000002') });
    const before = await all(orders);
    const cases: Array<[method: string, params: Record<string, unknown>]> = [
      ['wedaCreate', order('DUP000001')],
      ['wedaCreateV2', { data: order('DUP000001', { amount: 5 }) }],
      // the first record is new, the second repeats an existing order: neither is written
      ['wedaBatchCreate', { records: [order('DUP000003'), order('DUP000001')] }],
      // both new, but the batch repeats itself
      ['wedaBatchCreateV2', { data: [order('DUP000004'), order('DUP000005'), order('DUP000004')] }],
      ['wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'DUP000002' }], record: { orderNo: 'DUP000001' } }],
      ['wedaBatchUpdateV2', { filter: { where: { orderNo: { $in: ['DUP000001', 'DUP000002'] } } }, data: { orderNo: 'DUP000009' } }],
      ['wedaUpsertV2', { filter: { where: { orderNo: 'DUP000006' } }, create: order('DUP000001'), update: { status: 2 } }],
    ];
    for (const [method, params] of cases) {
      const err = await modelRefusal(orders(method, params));
      expect({ method, code: err.code, model: err.model, field: err.field }).toEqual({ method, code: 'DuplicateValue', model: 'orders', field: 'orderNo' });
      expect(err.message).toBe('orders.orderNo must be unique: a record with this value already exists');
    }
    expect(await all(orders)).toEqual(before);
  });

  test('a batch with one bad record writes none of them', async () => {
    const before = await all(orders);
    const err = await modelRefusal(orders('wedaBatchCreateV2', { data: [order('BATCH0001'), order('BATCH0002'), order('BATCH0003', { status: 7 })] }));
    expect(err).toMatchObject({ code: 'SchemaViolation', model: 'orders', field: 'status', message: expect.stringContaining('params.data[2].status') });
    expect(await all(orders)).toEqual(before);
  });

  test('goods are enforced too', async () => {
    const goods = caller(store, 'goods');
    expect(await modelRefusal(goods('wedaCreateV2', { data: { name: 'Tea', price: 990, onSale: 'yes' } }))).toMatchObject({ code: 'SchemaViolation', model: 'goods', field: 'onSale' });
    expect(await modelRefusal(goods('wedaCreateV2', { data: { name: 'Tea' } }))).toMatchObject({ code: 'SchemaViolation', model: 'goods', field: 'price' });
    expect(await all(goods)).toEqual([]);
  });
});

describe('the definitions belong to the data directory, as a WeDa environment holds its models', () => {
  test('given once, they are saved; a store opened there without definitions (another process, a helper) enforces them', async () => {
    const dataDir = tempDir();
    const seed = buildModelDefinitions({ model: 'wxzfmbddsj_e3xp7j6', fields: { orderNo: 'ddh', status: 'zfzt' } });
    const defining = openSqliteStore({ dataDir, models: seed });
    const other = openSqliteStore({ dataDir });
    stores.push(defining, other);
    await caller(defining, 'wxzfmbddsj_e3xp7j6')('wedaCreateV2', { data: { ddh: 'SEED0001', zfzt: 1, amount: 1 } });
    const seedModel = caller(other, 'wxzfmbddsj_e3xp7j6');
    expect(await modelRefusal(seedModel('wedaCreateV2', { data: { ddh: 'SEED0001', zfzt: 1, amount: 1 } }))).toMatchObject({ code: 'DuplicateValue', model: 'wxzfmbddsj_e3xp7j6', field: 'ddh' });
    expect(await modelRefusal(seedModel('wedaBatchUpdate', { where: [{ key: 'ddh', rel: 'eq', val: 'SEED0001' }], record: { zfzt: 9 } }))).toMatchObject({ code: 'SchemaViolation', field: 'zfzt' });
    expect(await modelRefusal(caller(other, 'orders')('wedaGetRecordsV2', {}))).toMatchObject({ code: 'ModelNotFound', message: `model "orders" is not defined (defined: ${Object.keys(seed).join(', ')})` });
    expect(Object.keys(seed)).toContain('wxzfmbddsj_e3xp7j6');
    expect(JSON.parse(readFileSync(definitionsFile(dataDir), 'utf8'))).toEqual(seed);
  });

  test('a model added to the definitions (a refunds model, say) is enforced with no code for it', async () => {
    const refundsModel: ModelDefinition = {
      properties: { refundNo: { type: 'string', 'x-unique': true }, orderNo: { type: 'string', 'x-index': true }, amount: { type: 'integer' }, state: { type: 'string', enum: ['PROCESSING', 'SUCCESS', 'CLOSED'] } },
      required: ['refundNo', 'orderNo', 'amount', 'state'],
    };
    const store = open({ models: { ...buildModelDefinitions(), refunds: refundsModel } });
    const refunds = caller(store, 'refunds');
    await refunds('wedaCreateV2', { data: { refundNo: 'R1', orderNo: 'O1', amount: 1, state: 'PROCESSING' } });
    expect(await modelRefusal(refunds('wedaCreateV2', { data: { refundNo: 'R1', orderNo: 'O1', amount: 1, state: 'PROCESSING' } }))).toMatchObject({ code: 'DuplicateValue', model: 'refunds', field: 'refundNo' });
    expect(await modelRefusal(refunds('wedaBatchUpdateV2', { filter: { where: { refundNo: 'R1' } }, data: { state: 'DONE' } }))).toMatchObject({ code: 'SchemaViolation', model: 'refunds', field: 'state' });
    expect(await modelRefusal(refunds('wedaCreateV2', { data: { refundNo: 'R2', orderNo: 'O1', state: 'SUCCESS' } }))).toMatchObject({ code: 'SchemaViolation', model: 'refunds', field: 'amount' });
    expect((await all(refunds)).length).toBe(1);
  });

  test('records written before the field was unique that share a value: the model is refused, naming the field, the values and the file', async () => {
    const dataDir = tempDir();
    // What a data directory of the earlier, schemaless store can hold: one order number twice.
    const db = new Database(modelsFile(dataDir, 'pre'));
    db.exec(`CREATE TABLE m_orders (_id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL CHECK (json_valid(data)), createdAt INTEGER NOT NULL, updatedAt INTEGER NOT NULL)`);
    const insert = db.prepare('INSERT INTO m_orders VALUES (?, ?, 1, 1)');
    insert.run('A', JSON.stringify(order('TWICE0001')));
    insert.run('B', JSON.stringify(order('TWICE0001')));
    db.close();
    const store = openSqliteStore({ dataDir });
    stores.push(store);
    const err = await modelRefusal(caller(store, 'orders')('wedaGetItemV2', { filter: { where: { orderNo: 'TWICE0001' } } }));
    expect(err).toMatchObject({ code: 'DuplicateValue', model: 'orders', field: 'orderNo' });
    expect(err.message).toContain(`orders.orderNo must be unique, but records in ${modelsFile(dataDir, 'pre')} already share a value: "TWICE0001" (2 records)`);
  });
});

describe('uniqueness is the database constraint', () => {
  test('two store instances on one file insert the same orderNo: one wins, the other gets DuplicateValue', async () => {
    const dataDir = tempDir();
    const a = openSqliteStore({ dataDir });
    const b = openSqliteStore({ dataDir });
    stores.push(a, b);
    // Both have opened the model (and read its empty table) before either writes.
    expect((await all(caller(a, 'orders'))).length + (await all(caller(b, 'orders'))).length).toBe(0);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => caller(i % 2 ? a : b, 'orders')('wedaCreateV2', { data: order('RACE00001', { amount: 100 + i }) })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
      expect(r.reason).toMatchObject({ code: 'DuplicateValue', model: 'orders', field: 'orderNo' });
    }
    expect(await all(caller(a, 'orders'))).toHaveLength(1);
  });
});

describe("through the dev server's POST /models/{name}/{methodName}", () => {
  let t: TestDev | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function post(name: string, methodName: string, params: unknown): Promise<{ status: number; body: any }> {
    return t!.post(`${t!.dev.info.devServer.models}/${name}/${methodName}?envType=pre`, params);
  }

  test('a second order with the same orderNo is answered 400 DuplicateValue; one order stays', async () => {
    t = await startCallbackDev();
    expect((await post('orders', 'wedaCreateV2', { data: order('HTTP00001') })).status).toBe(200);
    const dup = await post('orders', 'wedaCreateV2', { data: order('HTTP00001', { amount: 1 }) });
    expect(dup).toEqual({ status: 400, body: { code: 'DuplicateValue', message: 'orders.orderNo must be unique: a record with this value already exists', requestId: expect.any(String) } });
    expect(await post('orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'HTTP00001' }], record: { status: 9 } })).toMatchObject({ status: 400, body: { code: 'SchemaViolation', message: expect.stringMatching(/^orders\.status must be one of \[1,2,3,4\] \(got 9\)/) } });
    expect(await post('nosuch', 'wedaGetRecordsV2', {})).toMatchObject({ status: 400, body: { code: 'ModelNotFound' } });
    const list = await post('orders', 'wedaGetRecordsV2', { filter: { where: { orderNo: 'HTTP00001' } }, getCount: true });
    expect(list.body).toMatchObject({ total: 1, records: [{ orderNo: 'HTTP00001', amount: 100, status: 1 }] });
  });

  test("the seed tutorial's model (configured name and field mapping): ddh is unique, zfzt keeps its enum, orders does not exist", async () => {
    t = await startCallbackDev({ config: { models: { orders: 'wxzfmbddsj_e3xp7j6' }, fields: { orderNo: 'ddh', status: 'zfzt' }, envType: 'pre' } });
    const seed = (methodName: string, params: unknown) => post('wxzfmbddsj_e3xp7j6', methodName, params);
    expect((await seed('wedaCreate', { ddh: 'SEEDHTTP01', zfzt: 1, amount: 1 })).status).toBe(200);
    expect(await seed('wedaCreate', { ddh: 'SEEDHTTP01', zfzt: 1, amount: 2 })).toMatchObject({ status: 400, body: { code: 'DuplicateValue', message: 'wxzfmbddsj_e3xp7j6.ddh must be unique: a record with this value already exists' } });
    expect(await seed('wedaCreate', { orderNo: 'SEEDHTTP02', status: 1, amount: 1 })).toMatchObject({ status: 400, body: { code: 'SchemaViolation', message: expect.stringMatching(/^wxzfmbddsj_e3xp7j6\.orderNo is not a field/) } });
    expect(await seed('wedaBatchUpdate', { where: [{ key: 'ddh', rel: 'eq', val: 'SEEDHTTP01' }], record: { zfzt: 9 } })).toMatchObject({ status: 400, body: { code: 'SchemaViolation', message: expect.stringMatching(/^wxzfmbddsj_e3xp7j6\.zfzt must be one of/) } });
    expect(await post('orders', 'wedaCreateV2', { data: order('SEEDHTTP03') })).toMatchObject({ status: 400, body: { code: 'ModelNotFound' } });
    expect((await seed('wedaGetRecordsV2', { getCount: true })).body).toMatchObject({ total: 1, records: [{ ddh: 'SEEDHTTP01', zfzt: 1, amount: 1 }] });
  });
});
