/**
 * The local SQLite model store behind the weda-compatible callModel (weda.md §2, §3): every V1/V2 method,
 * where operators, paging/order, compare-and-set, pre/prod isolation, the seed tutorial's hand-built model,
 * and refusals that leave the data unchanged. The store enforces model definitions (test/store-model-enforcement),
 * so the models these tests exercise are defined below.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { buildModelDefinitions } from '../datasources/models';
import { modelsFile, openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, type EnvType, type ModelStore, type WedaSdk } from '../datasources/weda';
import { modelRefusal } from './helpers/model-errors';

const dirs: string[] = [];
const stores: ModelStore[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weda-store-'));
  dirs.push(d);
  return d;
}
const text = { type: 'string' } as const;
const num = { type: 'number' } as const;
/** The models these tests write: every field they use, with its JSON type. */
const TEST_MODELS: Record<string, ModelDefinition> = {
  orders: {
    properties: {
      orderNo: { ...text, 'x-unique': true }, status: num, amount: num, transactionId: text, paidAt: num,
      batch: text, kind: text, body: text, winner: num,
    },
    required: ['orderNo'],
  },
  goods: {
    properties: {
      name: text, price: num, stock: num, onSale: { type: 'boolean' }, tags: { type: 'array' }, spec: { type: 'object' },
      cat: text, list: text, grp: text, sku: text,
    },
  },
  ops: { properties: { n: text, v: { type: ['number', 'string'] }, s: text, b: { type: 'boolean' }, e: text } },
};

function open(opts: Partial<Parameters<typeof openSqliteStore>[0]> = {}): ModelStore {
  const s = openSqliteStore({ dataDir: tempDir(), models: TEST_MODELS, ...opts });
  stores.push(s);
  return s;
}
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A clock that ticks 1 ms per call, so updatedAt bumps are observable. */
function tickingClock(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => t++;
}

function caller(store: ModelStore, name: string, envType?: EnvType) {
  return (methodName: string, params?: Record<string, unknown>) => store.callModel({ name, methodName, params, ...(envType ? { envType } : {}) });
}


async function snapshot(call: ReturnType<typeof caller>): Promise<unknown[]> {
  return (await call('wedaGetRecordsV2', { pageSize: 200 })).records;
}

describe('V1 methods (weda.md §2.1)', () => {
  const store = open({ now: tickingClock() });
  const call = caller(store, 'orders');

  test('wedaCreate / wedaGetItem / wedaUpdate / wedaDelete', async () => {
    const { _id } = await call('wedaCreate', { orderNo: 'V1A', status: 1, amount: 100 });
    expect(typeof _id).toBe('string');
    const rec = await call('wedaGetItem', { _id });
    expect(rec).toEqual({ _id, orderNo: 'V1A', status: 1, amount: 100, createdAt: expect.any(Number), updatedAt: expect.any(Number) });

    const upd = await call('wedaUpdate', { _id, status: 2, createdAt: 1, updatedAt: 2 });
    expect(upd).toEqual({ ids: [_id], count: 1 });
    const after = await call('wedaGetItem', { where: [{ key: 'orderNo', rel: 'eq', val: 'V1A' }] });
    expect(after.status).toBe(2);
    expect(after.createdAt).toBe(rec.createdAt); // system fields are not writable
    expect(after.updatedAt).toBeGreaterThan(rec.updatedAt);
    expect(after._id).toBe(_id);

    expect(await call('wedaUpdate', { _id: 'missing', status: 3 })).toEqual({ ids: [], count: 0 });
    expect(await call('wedaDelete', { _id })).toEqual({ deleted: 1 });
    expect(await call('wedaGetItem', { _id })).toEqual({});
    expect(await call('wedaDelete', { _id })).toEqual({ deleted: 0 });
  });

  test('wedaBatchCreate / wedaGetRecords paging and order / wedaBatchDelete', async () => {
    const { ids } = await call('wedaBatchCreate', {
      records: [1, 2, 3, 4, 5].map((i) => ({ orderNo: `P${i}`, batch: 'paging', amount: (i * 37) % 7 })),
    });
    expect(ids).toHaveLength(5);
    const where = [{ key: 'batch', rel: 'eq', val: 'paging' }];
    const page1 = await call('wedaGetRecords', { where, pageNo: 1, pageSize: 2, orderBy: 'amount', orderType: 'desc' });
    const page3 = await call('wedaGetRecords', { where, pageNo: 3, pageSize: 2, orderBy: 'amount', orderType: 'desc' });
    expect(page1).toMatchObject({ total: 5, pageNo: 1, pageSize: 2 });
    // amounts: P1=2, P2=4, P3=6, P4=1, P5=3
    expect(page1.records.map((r: any) => r.orderNo)).toEqual(['P3', 'P2']);
    expect(page3.records.map((r: any) => r.orderNo)).toEqual(['P4']);
    const dflt = await call('wedaGetRecords', { where });
    expect(dflt).toMatchObject({ total: 5, pageNo: 1, pageSize: 10 });
    expect(dflt.records.map((r: any) => r.orderNo)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']); // insertion order

    expect(await call('wedaBatchDelete', { where: [...where, { key: 'amount', rel: 'lt', val: 3 }] })).toEqual({ deleted: 2 });
    expect((await call('wedaGetRecords', { where })).total).toBe(3);
  });

  test('V1 where rel: eq neq lt lte gt gte search', async () => {
    await call('wedaBatchCreate', {
      records: [
        { orderNo: 'R1', kind: 'rel', amount: 10, body: 'Red apple' },
        { orderNo: 'R2', kind: 'rel', amount: 20, body: 'green apple' },
        { orderNo: 'R3', kind: 'rel', amount: 30, body: 'pear' },
      ],
    });
    const q = async (rel: string, key: string, val: unknown) =>
      (await call('wedaGetRecords', { where: [{ key: 'kind', rel: 'eq', val: 'rel' }, { key, rel, val }], orderBy: 'orderNo' })).records.map((r: any) => r.orderNo);
    expect(await q('eq', 'amount', 20)).toEqual(['R2']);
    expect(await q('neq', 'amount', 20)).toEqual(['R1', 'R3']);
    expect(await q('lt', 'amount', 20)).toEqual(['R1']);
    expect(await q('lte', 'amount', 20)).toEqual(['R1', 'R2']);
    expect(await q('gt', 'amount', 20)).toEqual(['R3']);
    expect(await q('gte', 'amount', 20)).toEqual(['R2', 'R3']);
    expect(await q('search', 'body', 'apple')).toEqual(['R1', 'R2']);
    expect(await q('search', 'body', 'red')).toEqual([]); // search is case-sensitive
    expect(await q('eq', 'amount', '20')).toEqual([]); // JSON types matter: "20" is not 20
  });

  test('wedaBatchUpdate is a compare-and-set: the second identical update changes nothing', async () => {
    const { _id } = await call('wedaCreate', { orderNo: 'CAS1', status: 1, amount: 100 });
    const cas = { where: [{ key: 'orderNo', rel: 'eq', val: 'CAS1' }, { key: 'status', rel: 'eq', val: 1 }], record: { status: 2, transactionId: 'T1' } };
    expect(await call('wedaBatchUpdate', cas)).toEqual({ updated: 1 });
    const first = await call('wedaGetItem', { _id });
    expect(await call('wedaBatchUpdate', { ...cas, record: { status: 2, transactionId: 'T2' } })).toEqual({ updated: 0 });
    const second = await call('wedaGetItem', { _id });
    expect(second).toEqual(first);
    expect(second.status).toBe(2);
    expect(typeof second.status).toBe('number');
    expect(second.transactionId).toBe('T1');
  });

  test('concurrent wedaBatchUpdate through two store instances on the same files: one winner', async () => {
    const dataDir = tempDir();
    const a = openSqliteStore({ dataDir, models: TEST_MODELS });
    const b = openSqliteStore({ dataDir, models: TEST_MODELS });
    stores.push(a, b);
    await caller(a, 'orders')('wedaCreate', { orderNo: 'RACE', status: 1 });
    const where = [{ key: 'orderNo', rel: 'eq', val: 'RACE' }, { key: 'status', rel: 'eq', val: 1 }];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => caller(i % 2 ? a : b, 'orders')('wedaBatchUpdate', { where, record: { status: 2, winner: i } })),
    );
    expect(results.map((r) => r.updated).reduce((x, y) => x + y, 0)).toBe(1);
    const winner = results.findIndex((r) => r.updated === 1);
    expect((await caller(b, 'orders')('wedaGetItem', { where: [{ key: 'orderNo', rel: 'eq', val: 'RACE' }] })).winner).toBe(winner);
  });
});

describe('V2 methods (weda.md §2.2)', () => {
  const store = open({ now: tickingClock() });
  const call = caller(store, 'goods');

  test('wedaCreateV2 / wedaBatchCreateV2 / wedaGetItemV2 with select', async () => {
    const { id } = await call('wedaCreateV2', { data: { name: 'Tea', price: 990, tags: ['hot'], spec: { g: 50 }, onSale: true } });
    expect(typeof id).toBe('string');
    const { idList } = await call('wedaBatchCreateV2', { data: [{ name: 'Cake', price: 1500, onSale: false }, { name: 'Coffee', price: 1200, onSale: true }] });
    expect(idList).toHaveLength(2);
    expect(new Set([id, ...idList]).size).toBe(3);

    const tea = await call('wedaGetItemV2', { filter: { where: { _id: { $eq: id } } }, select: { $master: true } });
    expect(tea).toMatchObject({ _id: id, name: 'Tea', price: 990, tags: ['hot'], spec: { g: 50 }, onSale: true });
    expect(await call('wedaGetItemV2', { filter: { where: { name: 'Cake' } }, select: { price: true } })).toEqual({ _id: idList[0], price: 1500 });
    expect(await call('wedaGetItemV2', { filter: { where: { name: 'Nope' } } })).toEqual({});
  });

  test('wedaGetRecordsV2: filter, orderBy (≤3), pageSize/pageNumber, getCount', async () => {
    const data = [
      { name: 'a', cat: 'x', price: 3 }, { name: 'b', cat: 'y', price: 1 }, { name: 'c', cat: 'x', price: 1 },
      { name: 'd', cat: 'y', price: 2 }, { name: 'e', cat: 'x', price: 2 },
    ].map((d) => ({ ...d, list: 'L' }));
    await call('wedaBatchCreateV2', { data });
    const base = { filter: { where: { list: { $eq: 'L' } } }, orderBy: [{ price: 'asc' }, { name: 'desc' }] };
    const all = await call('wedaGetRecordsV2', { ...base, pageSize: 10, getCount: true });
    expect(all.total).toBe(5);
    expect(all.records.map((r: any) => r.name)).toEqual(['c', 'b', 'e', 'd', 'a']);
    const p2 = await call('wedaGetRecordsV2', { ...base, pageSize: 2, pageNumber: 2 });
    expect(p2.records.map((r: any) => r.name)).toEqual(['e', 'd']);
    expect(p2.total).toBeUndefined(); // only with getCount
    const byCat = await call('wedaGetRecordsV2', { filter: { where: { list: 'L' } }, orderBy: [{ cat: 'desc' }, { price: 'desc' }, { name: 'asc' }], select: { name: true } });
    expect(byCat.records).toEqual(['d', 'b', 'a', 'e', 'c'].map((n) => ({ _id: expect.any(String), name: n })));
    const err = await modelRefusal(call('wedaGetRecordsV2', { orderBy: [{ a: 'asc' }, { b: 'asc' }, { c: 'asc' }, { d: 'asc' }] }));
    expect(err.message).toMatch(/params\.orderBy .*at most 3/);
    expect((await modelRefusal(call('wedaGetRecordsV2', { pageSize: 201 }))).message).toMatch(/params\.pageSize must be an integer from 1 to 200/);
  });

  test('wedaUpdateV2 refuses to touch more than one record; wedaBatchUpdateV2 counts', async () => {
    await call('wedaBatchCreateV2', { data: [{ name: 'u1', grp: 'U', stock: 1 }, { name: 'u2', grp: 'U', stock: 1 }] });
    const before = await snapshot(call);
    const err = await modelRefusal(call('wedaUpdateV2', { data: { stock: 9 }, filter: { where: { grp: { $eq: 'U' } } } }));
    expect(err.code).toBe('MultipleRecordsMatched');
    expect(await snapshot(call)).toEqual(before);

    expect(await call('wedaUpdateV2', { data: { stock: 5 }, filter: { where: { name: { $eq: 'u1' } } } })).toEqual({ count: 1 });
    expect(await call('wedaUpdateV2', { data: { stock: 5 }, filter: { where: { name: { $eq: 'zz' } } } })).toEqual({ count: 0 });
    expect(await call('wedaBatchUpdateV2', { data: { stock: 7 }, filter: { where: { grp: 'U' } } })).toEqual({ count: 2 });
    const rows = (await call('wedaGetRecordsV2', { filter: { where: { grp: 'U' } } })).records;
    expect(rows.map((r: any) => r.stock)).toEqual([7, 7]);
  });

  test('wedaUpsertV2 creates, then updates', async () => {
    const filter = { where: { sku: { $eq: 'SKU-1' } } };
    const created = await call('wedaUpsertV2', { create: { sku: 'SKU-1', stock: 1 }, update: { stock: 2 }, filter });
    expect(created).toEqual({ count: 0, id: expect.any(String) });
    const updated = await call('wedaUpsertV2', { create: { sku: 'SKU-1', stock: 1 }, update: { stock: 2 }, filter });
    expect(updated).toEqual({ count: 1, id: created.id });
    expect(await call('wedaGetItemV2', { filter })).toMatchObject({ _id: created.id, stock: 2 });
  });

  test('wedaDeleteV2 (one record) / wedaBatchDeleteV2', async () => {
    await call('wedaBatchCreateV2', { data: [{ name: 'd1', grp: 'D' }, { name: 'd2', grp: 'D' }, { name: 'd3', grp: 'D' }] });
    const err = await modelRefusal(call('wedaDeleteV2', { filter: { where: { grp: 'D' } } }));
    expect(err.code).toBe('MultipleRecordsMatched');
    expect(await call('wedaDeleteV2', { filter: { where: { name: 'd1' } } })).toEqual({ count: 1 });
    expect(await call('wedaBatchDeleteV2', { filter: { where: { grp: { $eq: 'D' } } } })).toEqual({ count: 2 });
    expect((await call('wedaGetRecordsV2', { filter: { where: { grp: 'D' } }, getCount: true })).total).toBe(0);
  });

  test('V2 where operators, $and/$or, bare values and system fields', async () => {
    const w = caller(store, 'ops');
    const { idList } = await w('wedaBatchCreateV2', {
      data: [
        { n: 'A', v: 1, s: 'Alpha beta', b: true, e: '' },
        { n: 'B', v: 2, s: 'gamma', b: false, e: 'x' },
        { n: 'C', v: 3, s: 'BETA', e: null },
        { n: 'D', v: '3', s: 'delta' },
      ],
    });
    const names = async (where: unknown) =>
      (await w('wedaGetRecordsV2', { filter: { where }, orderBy: [{ n: 'asc' }] })).records.map((r: any) => r.n).join('');
    expect(await names({ v: { $eq: 3 } })).toBe('C');
    expect(await names({ v: 3 })).toBe('C');
    expect(await names({ v: '3' })).toBe('D');
    expect(await names({ v: { $neq: 3 } })).toBe('ABD');
    expect(await names({ v: { $gt: 1, $lt: 3 } })).toBe('B');
    expect(await names({ v: { $gte: 2, $lte: 3 } })).toBe('BC'); // "3" (text) is not in a numeric range
    expect(await names({ v: { $gte: '0' } })).toBe('D');
    expect(await names({ v: { $in: [1, 3] } })).toBe('AC');
    expect(await names({ v: { $in: [] } })).toBe('');
    expect(await names({ v: { $nin: [1, 3] } })).toBe('BD');
    expect(await names({ s: { $search: 'beta' } })).toBe('A');
    expect(await names({ s: { $search_ci: 'beta' } })).toBe('AC');
    expect(await names({ s: { $nsearch: 'beta' } })).toBe('BCD');
    expect(await names({ s: { $nsearch_ci: 'BETA' } })).toBe('BD');
    expect(await names({ e: { $empty: true } })).toBe('ACD');
    expect(await names({ e: { $nempty: true } })).toBe('B');
    expect(await names({ b: true })).toBe('A');
    expect(await names({ b: { $eq: false } })).toBe('B');
    expect(await names({ b: { $eq: null } })).toBe('CD');
    expect(await names({ $or: [{ n: 'A' }, { v: { $gte: 3 } }] })).toBe('AC');
    expect(await names({ $and: [{ v: { $gte: 2 } }, { $or: [{ n: 'B' }, { n: 'D' }] }] })).toBe('B');
    expect(await names({ _id: { $in: [idList[1], idList[3]] } })).toBe('BD');
    const [first] = (await w('wedaGetRecordsV2', { filter: { where: { n: 'A' } } })).records;
    expect(await names({ createdAt: { $gt: first.createdAt }, updatedAt: { $gt: 0 } })).toBe('BCD');
    expect(await names({ n: "A' OR 1=1 --" })).toBe(''); // values are bound, never spliced into SQL

    const bad = await modelRefusal(w('wedaGetRecordsV2', { filter: { where: { v: { $regex: 'x' } } } }));
    expect(bad.message).toMatch(/params\.filter\.where\.v: unknown operator "\$regex"/);
    expect((await modelRefusal(w('wedaGetRecordsV2', { filter: { where: { v: { $in: 3 } } } }))).message).toMatch(/params\.filter\.where\.v\.\$in must be an array/);
    expect((await modelRefusal(w('wedaGetRecordsV2', { filter: { where: { 'v) OR (1': 1 } } }))).message).toMatch(/field name "v\) OR \(1" must match/);
  });
});

describe('envType: pre and prod are separate files', () => {
  test('a record created in pre is invisible in prod; default envType is prod', async () => {
    const dataDir = tempDir();
    const store = openSqliteStore({ dataDir, models: TEST_MODELS });
    stores.push(store);
    const pre = caller(store, 'orders', 'pre');
    const prod = caller(store, 'orders', 'prod');
    const dflt = caller(store, 'orders');
    const { id } = await pre('wedaCreateV2', { data: { orderNo: 'ENV1', status: 1 } });
    await dflt('wedaCreateV2', { data: { orderNo: 'ENV2', status: 1 } });

    expect(await prod('wedaGetItemV2', { filter: { where: { _id: id } } })).toEqual({});
    expect(await prod('wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'ENV1' }], record: { status: 2 } })).toEqual({ updated: 0 });
    expect((await pre('wedaGetItemV2', { filter: { where: { _id: id } } })).status).toBe(1);
    expect((await prod('wedaGetRecordsV2', {})).records.map((r: any) => r.orderNo)).toEqual(['ENV2']);
    expect((await pre('wedaGetRecordsV2', {})).records.map((r: any) => r.orderNo)).toEqual(['ENV1']);

    const preFile = modelsFile(dataDir, 'pre');
    const prodFile = modelsFile(dataDir, 'prod');
    expect(preFile).not.toBe(prodFile);
    expect(existsSync(preFile) && existsSync(prodFile)).toBe(true);
    const read = (f: string) => {
      const db = new Database(f, { readonly: true });
      try {
        return (db.prepare('SELECT json_extract(data, \'$.orderNo\') AS o FROM m_orders').all() as { o: string }[]).map((r) => r.o);
      } finally {
        db.close();
      }
    };
    expect(read(preFile)).toEqual(['ENV1']);
    expect(read(prodFile)).toEqual(['ENV2']);
    expect((await modelRefusal(store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2', envType: 'test' as EnvType }))).message).toMatch(/envType must be 'pre' or 'prod'/);
  });
});

describe("the seed tutorial's hand-built model (wxzfmbddsj_e3xp7j6: ddh = order no, zfzt = status)", () => {
  const seedModel: ModelDefinition = {
    type: 'object',
    properties: {
      _id: { type: 'string', 'x-system': true },
      ddh: { type: 'string', title: '订单号', 'x-unique': true },
      zfzt: { type: 'number', title: '支付状态', enum: [1, 2, 3, 4] },
      je: { type: 'number', title: '金额' },
    },
    required: ['ddh', 'zfzt'],
  };

  test.each([
    ['its hand-written definition', { wxzfmbddsj_e3xp7j6: seedModel }],
    ['the orders model under the configured name and field mapping', buildModelDefinitions({ model: 'wxzfmbddsj_e3xp7j6', fields: { orderNo: 'ddh', status: 'zfzt', amount: 'je' } })],
  ])('works through V1 where (%s)', async (_label, models) => {
    const store = open({ models });
    const weda = createWeda({ store });
    const name = 'wxzfmbddsj_e3xp7j6';
    await weda.callModel({ name, methodName: 'wedaCreate', params: { ddh: 'SEED0001', zfzt: 1, je: 1 }, envType: 'prod' });
    const pay = { name, methodName: 'wedaBatchUpdate', params: { where: [{ key: 'ddh', rel: 'eq', val: 'SEED0001' }, { key: 'zfzt', rel: 'eq', val: 1 }], record: { zfzt: 2 } }, envType: 'prod' as const };
    expect(await weda.callModel(pay)).toEqual({ updated: 1 });
    expect(await weda.callModel(pay)).toEqual({ updated: 0 });
    const rec = await weda.callModel({ dataSourceName: name, methodName: 'wedaGetItem', params: { where: [{ key: 'ddh', rel: 'eq', val: 'SEED0001' }] } } as never);
    expect(rec).toMatchObject({ ddh: 'SEED0001', zfzt: 2, je: 1 });
  });

  test('definition violations are refused, naming the field, and nothing is written', async () => {
    const store = open({ models: { wxzfmbddsj_e3xp7j6: seedModel } });
    const call = caller(store, 'wxzfmbddsj_e3xp7j6');
    const { _id } = await call('wedaCreate', { ddh: 'SEED0002', zfzt: 1 });
    const before = await snapshot(call);

    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['wedaCreate', { ddh: 'SEED0003', zfzt: '1' }, /wxzfmbddsj_e3xp7j6\.zfzt must be of type number \(got "1"\)/],
      ['wedaCreate', { ddh: 'SEED0003' }, /wxzfmbddsj_e3xp7j6\.zfzt is required/],
      ['wedaCreate', { ddh: 'SEED0003', zfzt: 1, color: 'red' }, /wxzfmbddsj_e3xp7j6\.color is not a field/],
      ['wedaCreate', { ddh: 'SEED0003', zfzt: 9 }, /zfzt must be one of \[1,2,3,4\]/],
      ['wedaBatchCreate', { records: [{ ddh: 'SEED0004', zfzt: 1 }, { ddh: 5, zfzt: 1 }] }, /ddh must be of type string.*params\.records\[1\]\.ddh/],
      ['wedaBatchUpdate', { where: [{ key: 'ddh', rel: 'eq', val: 'SEED0002' }], record: { zfzt: 2, extra: 1 } }, /extra is not a field/],
      ['wedaBatchUpdate', { where: [{ key: 'ddh', rel: 'eq', val: 'SEED0002' }], record: { zfzt: null } }, /zfzt is required and must not be null/],
      ['wedaUpdateV2', { data: { je: 'ten' }, filter: { where: { _id } } }, /je must be of type number/],
      ['wedaCreate', { ddh: 'SEED0002', zfzt: 1 }, /wxzfmbddsj_e3xp7j6\.ddh must be unique/],
      ['wedaBatchCreateV2', { data: [{ ddh: 'SEED0005', zfzt: 1 }, { ddh: 'SEED0005', zfzt: 1 }] }, /ddh must be unique/],
    ];
    for (const [method, params, rule] of cases) {
      const err = await modelRefusal(call(method, params));
      expect(`${method}: ${err.message}`).toMatch(rule);
    }
    expect(await snapshot(call)).toEqual(before);

    const other = await modelRefusal(store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }));
    expect(other.code).toBe('ModelNotFound');
    expect(other.message).toMatch(/model "orders" is not defined \(defined: wxzfmbddsj_e3xp7j6\)/);
  });
});

describe('refusals leave the data unchanged', () => {
  const store = open();
  const call = caller(store, 'orders');

  test('whole-table writes, bad field names, unknown methods, bad params', async () => {
    await call('wedaBatchCreate', { records: [{ orderNo: 'F1', status: 1 }, { orderNo: 'F2', status: 1 }] });
    const before = await snapshot(call);
    const cases: [string, Record<string, unknown> | undefined, string, RegExp][] = [
      ['wedaBatchUpdate', { record: { status: 2 } }, 'InvalidParameter', /params\.where is required .*non-empty array/],
      ['wedaBatchUpdate', { where: [], record: { status: 2 } }, 'InvalidParameter', /params\.where is required/],
      ['wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'F1' }] }, 'InvalidParameter', /params\.record is required/],
      ['wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'F1' }], record: { _id: 'x', createdAt: 1 } }, 'InvalidParameter', /params\.record must set at least one non-system field/],
      ['wedaBatchDelete', { where: [] }, 'InvalidParameter', /params\.where is required/],
      ['wedaBatchUpdateV2', { data: { status: 2 } }, 'InvalidParameter', /params\.filter\.where is required/],
      ['wedaBatchUpdateV2', { data: { status: 2 }, filter: { where: {} } }, 'InvalidParameter', /params\.filter\.where is required/],
      ['wedaBatchDeleteV2', { filter: { where: { $and: [{}] } } }, 'InvalidParameter', /params\.filter\.where\.\$and\[0\] must be a where object with at least one condition/],
      ['wedaBatchUpdate', { where: [{ key: 'status; DROP TABLE m_orders', rel: 'eq', val: 1 }], record: { status: 2 } }, 'InvalidParameter', /params\.where\[0\]\.key: field name "status; DROP TABLE m_orders" must match/],
      ['wedaBatchUpdate', { where: [{ key: 'status', rel: 'like', val: 1 }], record: { status: 2 } }, 'InvalidParameter', /params\.where\[0\]\.rel must be one of eq, neq, lt, lte, gt, gte, search/],
      ['wedaBatchUpdate', { where: [{ key: 'status', rel: 'eq', val: { $gt: 0 } }], record: { status: 2 } }, 'InvalidParameter', /params\.where\[0\]\.val must be a string, number, boolean or null/],
      ['wedaBatchUpdate', { where: [{ key: 'status', rel: 'eq', val: 1 }], record: { 'a.b': 2 } }, 'InvalidParameter', /params\.record\.a\.b: field name must match/],
      ['wedaCreate', { paidAt: new Date() }, 'InvalidParameter', /params\.paidAt must be a JSON value \(got Date\)/],
      ['wedaUpdate', { status: 2 }, 'InvalidParameter', /params\._id must be a non-empty string/],
      ['wedaGetItem', {}, 'InvalidParameter', /params\._id or a non-empty params\.where is required/],
      ['wedaGetRecords', { pageNo: 0 }, 'InvalidParameter', /params\.pageNo must be an integer from 1/],
      ['wedaGetRecords', { orderBy: 'amount', orderType: 'up' }, 'InvalidParameter', /params\.orderType must be "asc" or "desc"/],
      ['wedaDropTable', {}, 'MethodNotFound', /unknown methodName "wedaDropTable" \(supported: wedaCreate, .*wedaBatchUpdate, .*wedaGetRecordsV2\)/],
    ];
    for (const [method, params, code, rule] of cases) {
      const err = await modelRefusal(call(method, params));
      expect(`${method}: ${err.code} ${err.message}`).toMatch(new RegExp(`${method}: ${code} ${rule.source}`));
    }
    expect(await snapshot(call)).toEqual(before);
    const badName = await modelRefusal(store.callModel({ name: 'orders; --', methodName: 'wedaGetRecordsV2' }));
    expect(badName.message).toMatch(/name must be a model name matching/);
  });

  test('a closed store refuses calls', async () => {
    const s = openSqliteStore({ dataDir: tempDir(), models: TEST_MODELS });
    s.close();
    expect((await modelRefusal(s.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }))).code).toBe('StoreClosed');
  });
});

describe('createWeda (weda.md §3)', () => {
  let weda: WedaSdk;
  const seen: unknown[] = [];
  beforeAll(() => {
    weda = createWeda({
      store: open(),
      connectors: {
        wxpay: async (methodName, params) => {
          seen.push([methodName, params]);
          if (methodName === 'boom') throw Object.assign(new Error('upstream'), { code: 'SYSTEM_ERROR' });
          return { ok: true };
        },
      },
    });
  });

  test('callModel accepts dataSourceName and rejects a different name/dataSourceName pair', async () => {
    const { id } = await weda.callModel({ dataSourceName: 'orders', methodName: 'wedaCreateV2', params: { data: { orderNo: 'W1' } } } as never);
    expect(await weda.callModel({ name: 'orders', methodName: 'wedaGetItemV2', params: { filter: { where: { _id: id } } } })).toMatchObject({ orderNo: 'W1' });
    await expect(weda.callModel({ name: 'orders', dataSourceName: 'goods', methodName: 'wedaGetRecordsV2' })).rejects.toThrow(/name \("orders"\) and dataSourceName \("goods"\) differ/);
  });

  test('callConnector routes by name; unknown connectors are named; connector errors pass through', async () => {
    expect(await weda.callConnector!({ name: 'wxpay', methodName: 'queryOrder', params: { outTradeNo: 'X' } })).toEqual({ ok: true });
    expect(seen).toEqual([['queryOrder', { outTradeNo: 'X' }]]);
    const err = await modelRefusal(weda.callConnector!({ name: 'sms', methodName: 'send' }));
    expect(err).toMatchObject({ code: 'ConnectorNotFound', message: expect.stringMatching(/connector "sms" is not configured \(configured: wxpay\)/) });
    await expect(weda.callConnector!({ name: 'wxpay', methodName: 'boom' })).rejects.toMatchObject({ code: 'SYSTEM_ERROR' });
  });

  test('non-WedaModelError failures from a store become WedaModelError', async () => {
    const broken = createWeda({ store: { callModel: async () => { throw new Error('disk on fire'); }, close: () => undefined } });
    const err = await modelRefusal(broken.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }));
    expect(err).toMatchObject({ code: 'InternalError', message: 'disk on fire' });
  });

  test('the SQLite store, whose promise createWeda hands on as is, rejects every failure as a WedaModelError and never throws', async () => {
    const s = openSqliteStore({ dataDir: tempDir(), models: TEST_MODELS });
    expect(s.rejectsWithWedaErrors).toBe(true);
    const direct = createWeda({ store: s });
    const failures: Array<() => Promise<unknown>> = [
      () => direct.callModel(undefined as never),
      () => direct.callModel({ name: 'nope', methodName: 'wedaGetRecordsV2' }),
      () => direct.callModel({ name: 'orders', methodName: 'wedaNothing' }),
      () => direct.callModel({ name: 'orders', methodName: 'wedaGetItemV2', params: { filter: { where: { orderNo: { $regex: 'x' } } } } }),
      () => direct.callModel({ name: 'orders', methodName: 'wedaBatchUpdate', params: { where: [{ key: 'orderNo', rel: 'eq', val: 'X' }], record: { amount: 'ten' } } }),
    ];
    for (const fail of failures) {
      let promise: Promise<unknown> | undefined;
      expect(() => { promise = fail(); }).not.toThrow();
      expect((await modelRefusal(promise!)).name).toBe('WedaModelError');
    }
    s.close();
    expect((await modelRefusal(direct.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }))).code).toBe('StoreClosed');
  });
});
