/**
 * The indexes the model definitions give the local store, and that they are used: every statement the generated
 * callback functions (pay-notify, refund-notify, reconcile, run as the dev server runs them) and the connector's
 * server methods make on the orders model is an index seek — by order number on the unique index, by status on
 * the status index (EXPLAIN QUERY PLAN) — for the generated model and for the seed tutorial's mapped one. The
 * mirror columns the indexes sit on always hold what the data holds, and a data directory written by the earlier
 * store (expression indexes, no mirror columns) or under other definitions is brought to the layout on first use.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLOUDPAY_API_NAMES } from '../wxpay';
import type { CloudPayApi } from '../connector';
import { createLocalFunctionHost } from '../callbacks/local-host';
import type { ModelDefinition } from '../datasources/definitions';
import { buildModelDefinitions } from '../datasources/models';
import { modelsFile, openSqliteStore, tableLayout } from '../datasources/sqlite-store';
import { createWeda, type ModelStore } from '../datasources/weda';
import { cloudPayRefundEvent } from './helpers/callback-harness';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-indexes-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface IndexInfo { name: string; unique: boolean; columns: string[] }

function indexesOf(file: string, table: string): IndexInfo[] {
  const db = new Database(file, { readonly: true });
  try {
    const list = db.prepare(`SELECT name, "unique" FROM pragma_index_list(?) WHERE origin = 'c' ORDER BY name`).all(table) as { name: string; unique: number }[];
    return list.map(({ name, unique }) => ({
      name,
      unique: unique === 1,
      columns: (db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all(name) as string[]),
    }));
  } finally {
    db.close();
  }
}

/** EXPLAIN QUERY PLAN of each statement, on a connection of its own. */
function plans(file: string, statements: string[]): Array<{ sql: string; plan: string }> {
  const db = new Database(file, { readonly: true });
  try {
    return statements.map((sql) => ({ sql, plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ') }));
  } finally {
    db.close();
  }
}

describe('the indexes the definitions ask for', () => {
  test('generated models: a unique index per x-unique field, one with createdAt (or _id, x-index-ties) per indexed field, on mirror columns; none else', async () => {
    const dir = tempDir();
    const definitions = buildModelDefinitions();
    const store = openSqliteStore({ dataDir: dir });
    try {
      for (const name of Object.keys(definitions)) await store.callModel({ name, methodName: 'wedaGetRecordsV2', params: {} });
    } finally {
      store.close();
    }
    for (const [model, def] of Object.entries(definitions)) {
      const expected = Object.entries(def.properties).flatMap(([field, fd]): IndexInfo[] => {
        if (fd['x-unique'] === true) return [{ name: `ux_${model}__${field}`, unique: true, columns: [`f_${field}`] }];
        if (fd['x-index'] === true) return [{ name: `ix_${model}__${field}`, unique: false, columns: [`f_${field}`, fd['x-index-ties'] === '_id' ? '_id' : 'createdAt'] }];
        return [];
      }).sort((a, b) => a.name.localeCompare(b.name));
      expect({ model, indexes: indexesOf(modelsFile(dir, 'prod'), `m_${model}`) }).toEqual({ model, indexes: expected });
    }
    // The ones the callbacks and reconcile rely on.
    const orders = indexesOf(modelsFile(dir, 'prod'), 'm_orders');
    expect(orders).toContainEqual({ name: 'ux_orders__orderNo', unique: true, columns: ['f_orderNo'] });
    expect(orders).toContainEqual({ name: 'ix_orders__status', unique: false, columns: ['f_status', 'createdAt'] });
    // The bill reconciliation pages a day's payments by (paidAt, _id): served in that order, no sort.
    expect(orders).toContainEqual({ name: 'ix_orders__paidAt', unique: false, columns: ['f_paidAt', '_id'] });
    expect(indexesOf(modelsFile(dir, 'prod'), 'm_goods')).toContainEqual({ name: 'ix_goods__onSale', unique: false, columns: ['f_onSale', 'createdAt'] });
  });

  test("the seed tutorial's mapping: the unique index is on ddh, the status index on zfzt", async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir, models: buildModelDefinitions({ model: 'wxzfmbddsj_e3xp7j6', fields: { orderNo: 'ddh', status: 'zfzt' } }) });
    try {
      await store.callModel({ name: 'wxzfmbddsj_e3xp7j6', methodName: 'wedaGetRecordsV2', params: {} });
    } finally {
      store.close();
    }
    const names = indexesOf(modelsFile(dir, 'prod'), 'm_wxzfmbddsj_e3xp7j6').map((i) => [i.name, i.unique, i.columns.join(',')]);
    expect(names).toContainEqual(['ux_wxzfmbddsj_e3xp7j6__ddh', true, 'f_ddh']);
    expect(names).toContainEqual(['ix_wxzfmbddsj_e3xp7j6__zfzt', false, 'f_zfzt,createdAt']);
  });
});

const VIEWS = [
  { label: 'the generated orders model', model: 'orders', orderNo: 'orderNo', status: 'status', config: {} },
  { label: "the seed tutorial's model (ddh / zfzt)", model: 'wxzfmbddsj_e3xp7j6', orderNo: 'ddh', status: 'zfzt', config: { models: { orders: 'wxzfmbddsj_e3xp7j6' }, fields: { orderNo: 'ddh', status: 'zfzt' } } },
];

describe.each(VIEWS)('every lookup on $label is an index seek', (view) => {
  let dir: string;
  let store: ModelStore;
  const statements: string[] = [];
  const table = `m_${view.model}`;
  const ux = `ux_${view.model}__${view.orderNo}`;
  const ix = `ix_${view.model}__${view.status}`;

  beforeAll(async () => {
    dir = tempDir();
    // An hour old, so reconcile looks at the unpaid ones.
    store = openSqliteStore({
      dataDir: dir, models: buildModelDefinitions(view.model === 'orders' ? {} : { model: view.model, fields: { orderNo: view.orderNo, status: view.status } }),
      now: () => Date.now() - 3600_000, trace: (sql) => statements.push(sql),
    });
    const data = Array.from({ length: 300 }, (_, i) => ({ [view.orderNo]: `IDX${String(i).padStart(6, '0')}`, amount: 1 + i, [view.status]: 1 + (i % 4) }));
    await store.callModel({ name: view.model, methodName: 'wedaBatchCreateV2', params: { data }, envType: 'pre' });
  });
  afterAll(() => store.close());

  /** The statements run on the model's table since `from`, with their plans. */
  function planned(from: number): Array<{ sql: string; plan: string }> {
    const own = statements.slice(from).filter((s) => /^(SELECT|UPDATE|DELETE)\b/.test(s) && s.includes(`"${table}"`));
    expect(own.length).toBeGreaterThan(0);
    return plans(modelsFile(dir, 'pre'), own);
  }

  test('the generated functions: pay-notify, refund-notify and reconcile', async () => {
    // CloudPay as it answers for an order it never placed (reconcile then closes the unpaid ones).
    const neverPlaced = async () => ({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCode: 0, errCodeDes: '订单不存在', errMsg: 'cloudPay.queryOrder:ok' });
    const cloudPay = Object.fromEntries(CLOUDPAY_API_NAMES.map((api) => [api, neverPlaced])) as unknown as CloudPayApi;
    const host = createLocalFunctionHost({
      config: {
        provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109', envType: 'pre',
        cloudpay: { envId: 'weda-7g5x', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
        callbacks: { confirmCloudPayEvents: false }, ...view.config,
      } as never,
      baseDir: dir, weda: createWeda({ store }), cloudPay, log: () => undefined,
    });
    const run = async (name: string, event: unknown): Promise<any> => (await host.invoke(name, { headers: {}, rawBody: Buffer.from(JSON.stringify(event)) })).body;
    const from = statements.length;
    expect(await run('wxpay-pay-notify', { returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: 'IDX000000', transactionId: '4200001234202403011234567890', totalFee: 1, subOpenid: 'o-idx', timeEnd: '20240301120005' })).toEqual({ errcode: 0, errmsg: 'OK' });
    // IDX000002 is refunding (status 3).
    expect(await run('wxpay-refund-notify', cloudPayRefundEvent({ outTradeNo: 'IDX000002', outRefundNo: 'RIDX000002', refundStatus: 'SUCCESS', totalFee: 3 }))).toEqual({ errcode: 0, errmsg: 'OK' });
    const summary = await run('wxpay-reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() });
    expect(summary.errors).toEqual([]);

    const ran = planned(from);
    for (const { sql, plan } of ran) {
      expect({ sql, plan }).toEqual({ sql, plan: expect.stringMatching(/^SEARCH /) });
      expect({ sql, plan }).not.toEqual({ sql, plan: expect.stringMatching(/\bSCAN\b/) });
    }
    const byOrderNo = ran.filter((r) => r.sql.includes(`"f_${view.orderNo}" = `));
    expect(byOrderNo.length).toBeGreaterThanOrEqual(4); // find + compare-and-set, for the payment and for the refund
    for (const r of byOrderNo) expect(r.plan).toBe(`SEARCH ${table} USING INDEX ${ux} (f_${view.orderNo}=?)`);
    const byStatus = ran.filter((r) => !r.sql.includes(`"f_${view.orderNo}" = `));
    expect(byStatus.length).toBeGreaterThanOrEqual(2); // reconcile's two lists (unpaid by createdAt, refunding by updatedAt)
    for (const r of byStatus) expect(r.plan).toMatch(new RegExp(`^SEARCH ${table} USING INDEX ${ix} \\(f_${view.status}=\\?`));
    // Unpaid orders are found by status and age in the index; reconcile's cursor then orders that status's rows by
    // reconciledAt (least recently asked first), which SQLite sorts — bounded by the status, never the whole table.
    expect(byStatus.map((r) => r.plan)).toContain(`SEARCH ${table} USING INDEX ${ix} (f_${view.status}=? AND createdAt<?) | USE TEMP B-TREE FOR ORDER BY`);
  });

  test("the connector's server methods: the order by number, and its compare-and-set", async () => {
    const from = statements.length;
    const call = (methodName: string, params: Record<string, unknown>) => store.callModel({ name: view.model, methodName, params, envType: 'pre' });
    // connector/server-methods.ts findOrder and moveOrder.
    await call('wedaGetItemV2', { filter: { where: { [view.orderNo]: { $eq: 'IDX000005' } } }, select: { $master: true } });
    expect(await call('wedaBatchUpdateV2', { filter: { where: { $and: [{ [view.orderNo]: { $eq: 'IDX000005' } }, { [view.status]: { $eq: 2 } }] } }, data: { [view.status]: 3 } })).toEqual({ count: 1 });
    for (const { plan } of planned(from)) expect(plan).toBe(`SEARCH ${table} USING INDEX ${ux} (f_${view.orderNo}=?)`);
  });
});

describe('the mirror columns', () => {
  test('hold json_extract of the data after every kind of write', async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir });
    const call = (methodName: string, params: Record<string, unknown>) => store.callModel({ name: 'orders', methodName, params });
    try {
      const { _id } = await call('wedaCreate', { orderNo: 'MIR000001', amount: 1, status: 1, openid: 'o-1' });
      await call('wedaBatchCreateV2', { data: [{ orderNo: 'MIR000002', amount: 2, status: 1 }, { orderNo: 'MIR000003', amount: 3, status: 2, refundNo: 'R3' }] });
      await call('wedaUpdate', { _id, status: 2, openid: 'o-2' });
      await call('wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'MIR000002' }], record: { orderNo: 'MIR000022', status: 3, refundNo: 'R2' } });
      await call('wedaUpdateV2', { filter: { where: { orderNo: 'MIR000003' } }, data: { refundNo: 'R33', openid: 'o-3' } });
      await call('wedaBatchUpdateV2', { filter: { where: { status: 3 } }, data: { status: 4 } });
      await call('wedaUpsertV2', { filter: { where: { orderNo: 'MIR000004' } }, create: { orderNo: 'MIR000004', amount: 4, status: 1 }, update: { status: 2 } });
      await call('wedaUpsertV2', { filter: { where: { orderNo: 'MIR000004' } }, create: { orderNo: 'MIR000004', amount: 4, status: 1 }, update: { status: 2, openid: 'o-4' } });
    } finally {
      store.close();
    }
    const db = new Database(modelsFile(dir, 'prod'), { readonly: true });
    try {
      for (const field of ['orderNo', 'status', 'openid', 'refundNo']) {
        const differ = db.prepare(`SELECT count(*) FROM m_orders WHERE "f_${field}" IS NOT json_extract(data, '$.${field}') OR typeof("f_${field}") IS NOT typeof(json_extract(data, '$.${field}'))`).pluck().get();
        expect({ field, differ }).toEqual({ field, differ: 0 });
      }
      expect(db.prepare(`SELECT f_orderNo, f_status, f_openid, f_refundNo FROM m_orders ORDER BY f_orderNo`).raw().all()).toEqual([
        ['MIR000001', 2, 'o-2', null], ['MIR000003', 2, 'o-3', 'R33'], ['MIR000004', 2, 'o-4', null], ['MIR000022', 4, null, 'R2'],
      ]);
    } finally {
      db.close();
    }
  });
});

describe('bringing a data directory to the layout on first use', () => {
  test("the earlier store's table (expression indexes on data, no mirror columns): columns filled, indexes replaced, records intact", async () => {
    const dir = tempDir();
    const file = modelsFile(dir, 'pre');
    const old = new Database(file);
    old.exec(`CREATE TABLE "m_orders" (_id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL CHECK (json_valid(data)), createdAt INTEGER NOT NULL, updatedAt INTEGER NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS "ux_orders__orderNo" ON "m_orders" (json_extract(data, '$.orderNo'));
      CREATE INDEX IF NOT EXISTS "ix_orders__status" ON "m_orders" (json_extract(data, '$.status'))`);
    const insert = old.prepare('INSERT INTO m_orders VALUES (?, ?, 1, 1)');
    for (let i = 0; i < 20; i++) insert.run(`ID${i}`, JSON.stringify({ orderNo: `OLD${String(i).padStart(6, '0')}`, amount: 100 + i, status: 1 + (i % 2) }));
    old.close();

    const statements: string[] = [];
    const store = openSqliteStore({ dataDir: dir, trace: (sql) => statements.push(sql) });
    try {
      const found = await store.callModel({ name: 'orders', methodName: 'wedaGetItemV2', params: { filter: { where: { orderNo: 'OLD000007' } } }, envType: 'pre' });
      expect(found).toEqual({ _id: 'ID7', orderNo: 'OLD000007', amount: 107, status: 2, createdAt: 1, updatedAt: 1 });
      const list = await store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2', params: { filter: { where: { status: 1 } }, getCount: true }, envType: 'pre' });
      expect(list.total).toBe(10);
    } finally {
      store.close();
    }
    const indexes = indexesOf(file, 'm_orders');
    expect(indexes.map((i) => i.name).sort()).toEqual([...tableLayout('orders', buildModelDefinitions().orders!).indexes.keys()].sort());
    expect(indexes).toContainEqual({ name: 'ux_orders__orderNo', unique: true, columns: ['f_orderNo'] });
    expect(indexes).toContainEqual({ name: 'ix_orders__status', unique: false, columns: ['f_status', 'createdAt'] });
    expect(indexes.every((i) => String(i.columns[0]).startsWith('f_'))).toBe(true); // no expression index on data is left
    const lookup = statements.filter((s) => s.startsWith('SELECT _id') && s.includes('"f_orderNo" = '));
    expect(plans(file, lookup).map((p) => p.plan)).toEqual(['SEARCH m_orders USING INDEX ux_orders__orderNo (f_orderNo=?)']);
  });

  test('other definitions: an index no longer asked for goes with its column, a new one is made and filled', async () => {
    const dir = tempDir();
    const first: Record<string, ModelDefinition> = { things: { properties: { code: { type: 'string', 'x-unique': true }, colour: { type: 'string', 'x-index': true }, size: { type: 'number' } } } };
    const second: Record<string, ModelDefinition> = { things: { properties: { code: { type: 'string' }, colour: { type: 'string' }, size: { type: 'number', 'x-index': true } } } };
    const a = openSqliteStore({ dataDir: dir, models: first });
    await a.callModel({ name: 'things', methodName: 'wedaBatchCreateV2', params: { data: [{ code: 'A', colour: 'red', size: 1 }, { code: 'B', colour: 'red', size: 2 }] } });
    a.close();
    const b = openSqliteStore({ dataDir: dir, models: second });
    try {
      // code is no longer unique
      await b.callModel({ name: 'things', methodName: 'wedaCreateV2', params: { data: { code: 'A', colour: 'blue', size: 2 } } });
      const two = await b.callModel({ name: 'things', methodName: 'wedaGetRecordsV2', params: { filter: { where: { size: 2 } }, getCount: true } });
      expect(two.total).toBe(2);
    } finally {
      b.close();
    }
    const file = modelsFile(dir, 'prod');
    expect(indexesOf(file, 'm_things').map((i) => [i.name, i.columns.join(',')])).toEqual([['ix_things__size', 'f_size,createdAt']]);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('m_things')).toEqual(['_id', 'data', 'createdAt', 'updatedAt', 'f_size']);
      expect(db.prepare('SELECT f_size FROM m_things ORDER BY rowid').pluck().all()).toEqual([1, 2, 2]);
    } finally {
      db.close();
    }
  });

  test('a required number field is mirrored without an index: filled for existing records, written by inserts and by updates that set it, read by select', async () => {
    const dir = tempDir();
    const before: Record<string, ModelDefinition> = { things: { properties: { code: { type: 'string', 'x-unique': true }, price: { type: 'integer' }, note: { type: 'string' } }, required: ['code', 'note'] } };
    const after: Record<string, ModelDefinition> = { things: { properties: { code: { type: 'string', 'x-unique': true }, price: { type: 'integer' }, note: { type: 'string' } }, required: ['code', 'price', 'note'] } };
    const a = openSqliteStore({ dataDir: dir, models: before });
    await a.callModel({ name: 'things', methodName: 'wedaBatchCreateV2', params: { data: [{ code: 'A', price: 10, note: 'x' }, { code: 'B', price: 20, note: 'y' }] } });
    a.close();
    const b = openSqliteStore({ dataDir: dir, models: after });
    try {
      await b.callModel({ name: 'things', methodName: 'wedaCreateV2', params: { data: { code: 'C', price: 30, note: 'z' } } });
      await b.callModel({ name: 'things', methodName: 'wedaUpdateV2', params: { filter: { where: { code: 'B' } }, data: { price: 21 } } });
      await b.callModel({ name: 'things', methodName: 'wedaUpdateV2', params: { filter: { where: { code: 'C' } }, data: { note: 'w' } } });
      const listed = await b.callModel({ name: 'things', methodName: 'wedaGetRecordsV2', params: { select: { code: true, price: true }, orderBy: [{ code: 'asc' }] } });
      expect(listed.records.map((r: Record<string, unknown>) => [r.code, r.price])).toEqual([['A', 10], ['B', 21], ['C', 30]]);
      const dear = await b.callModel({ name: 'things', methodName: 'wedaGetRecordsV2', params: { filter: { where: { price: { $gt: 15 } } }, getCount: true } });
      expect(dear.total).toBe(2);
    } finally {
      b.close();
    }
    const file = modelsFile(dir, 'prod');
    expect(indexesOf(file, 'm_things').map((i) => i.name)).toEqual(['ux_things__code']);
    expect(tableLayout('things', after.things!).columns).toEqual(new Map([['code', 'f_code'], ['price', 'f_price']]));
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare("SELECT f_price, json_extract(data, '$.price') FROM m_things ORDER BY rowid").raw(true).all()).toEqual([[10, 10], [21, 21], [30, 30]]);
    } finally {
      db.close();
    }
  });
});
