/**
 * The SQLite store keeps the statements of its single-record reads and of its updates (datasources/sqlite-store.ts
 * `findOne`, `updatePlan`) by where and by the fields written: a kept statement must never serve a call it was not
 * made for — another where, other fields, a mirrored (indexed) field beside one that is not — and what each call
 * reads and writes must be what a store that has just opened reads and writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { openSqliteStore } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';

const MODELS: Record<string, ModelDefinition> = {
  orders: {
    properties: {
      orderNo: { type: 'string', 'x-unique': true }, status: { type: 'number', 'x-index': true }, openid: { type: 'string', 'x-index': true },
      amount: { type: 'number' }, note: { type: ['string', 'null'] }, tags: { type: 'array' }, paid: { type: 'boolean' },
    },
    required: ['orderNo'],
  },
};

let dir: string;
let store: ModelStore;
const call = (methodName: string, params: Record<string, unknown>) => store.callModel({ name: 'orders', methodName, params, envType: 'pre' });
const byNo = (orderNo: string) => call('wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true } });
const casUpdate = (orderNo: string, status: number, record: Record<string, unknown>) =>
  call('wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: orderNo }, { key: 'status', rel: 'eq', val: status }], record });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weda-store-reuse-'));
  store = openSqliteStore({ dataDir: dir, models: MODELS });
  for (let i = 0; i < 6; i++) await call('wedaCreateV2', { data: { orderNo: `N${i}`, status: 1, openid: `o${i % 2}`, amount: 100 + i } });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kept statements serve only the calls they were made for', () => {
  test('updates of one where with other fields, and of other wheres with the same fields, each write what they say', async () => {
    expect(await casUpdate('N0', 1, { status: 2, openid: 'x', note: 'a' })).toEqual({ updated: 1 });
    expect(await casUpdate('N1', 1, { note: 'b' })).toEqual({ updated: 1 }); // same where shape, fewer fields, none mirrored
    expect(await casUpdate('N2', 1, { openid: 'y', status: 3 })).toEqual({ updated: 1 }); // the mirrored fields in another order
    expect(await casUpdate('N0', 1, { status: 4 })).toEqual({ updated: 0 }); // N0 is no longer in status 1
    expect(await call('wedaBatchUpdate', { where: [{ key: 'openid', rel: 'eq', val: 'o1' }], record: { note: null, tags: ['t'], paid: true } })).toEqual({ updated: 3 });
    expect(await call('wedaBatchUpdateV2', { filter: { where: { orderNo: { $in: ['N4', 'N5'] } } }, data: { status: 5 } })).toEqual({ count: 2 });

    const fields = ['orderNo', 'status', 'openid', 'amount', 'note', 'tags', 'paid'];
    const seen = async (orderNo: string) => {
      const r = await byNo(orderNo);
      return Object.fromEntries(fields.filter((f) => f in r).map((f) => [f, r[f]]));
    };
    expect(await seen('N0')).toEqual({ orderNo: 'N0', status: 2, openid: 'x', amount: 100, note: 'a' });
    expect(await seen('N1')).toEqual({ orderNo: 'N1', status: 1, openid: 'o1', amount: 101, note: null, tags: ['t'], paid: true });
    expect(await seen('N2')).toEqual({ orderNo: 'N2', status: 3, openid: 'y', amount: 102 });
    expect(await seen('N3')).toEqual({ orderNo: 'N3', status: 1, openid: 'o1', amount: 103, note: null, tags: ['t'], paid: true });
    expect(await seen('N4')).toEqual({ orderNo: 'N4', status: 5, openid: 'o0', amount: 104 });
    expect(await seen('N5')).toEqual({ orderNo: 'N5', status: 5, openid: 'o1', amount: 105, note: null, tags: ['t'], paid: true });

    // The mirror columns followed every update: lookups by the indexed fields find the new values only.
    const count = async (where: Record<string, unknown>) => (await call('wedaGetRecordsV2', { filter: { where }, getCount: true, pageSize: 1 })).total;
    expect(await count({ openid: { $eq: 'x' } })).toBe(1);
    expect(await count({ openid: { $eq: 'o0' } })).toBe(1); // N0's and N2's old value gone: N4 only
    expect(await count({ status: { $eq: 1 } })).toBe(2);
    expect(await count({ status: { $eq: 5 } })).toBe(2);
  });

  test('single-record reads of one shape and other values, other shapes, and none, answer as a fresh store does', async () => {
    const reads: Array<Record<string, unknown>> = [
      { filter: { where: { orderNo: { $eq: 'N3' } } } },
      { filter: { where: { orderNo: { $eq: 'N4' } } }, select: { amount: true } },
      { filter: { where: { orderNo: { $eq: 'missing' } } } },
      { filter: { where: { status: { $eq: 1 } } } }, // several match: the first created
      { filter: { where: { $and: [{ openid: { $eq: 'o1' } }, { amount: { $gt: 101 } }] } } },
      {},
    ];
    const first = [];
    for (const params of reads) first.push(await call('wedaGetItemV2', params));
    for (const params of [...reads].reverse()) await call('wedaGetItemV2', params);
    const v1 = await call('wedaGetItem', { where: [{ key: 'openid', rel: 'eq', val: 'o0' }] });

    await store.close();
    store = openSqliteStore({ dataDir: dir });
    for (const [i, params] of reads.entries()) expect(await call('wedaGetItemV2', params)).toEqual(first[i]);
    expect(await call('wedaGetItem', { where: [{ key: 'openid', rel: 'eq', val: 'o0' }] })).toEqual(v1);
    expect(first[0]).toMatchObject({ orderNo: 'N3', amount: 103 });
    expect(Object.keys(first[1]!).sort()).toEqual(['_id', 'amount']);
    expect(first[2]).toEqual({});
    expect(first[3]).toMatchObject({ orderNo: 'N0' });
    expect(first[4]).toMatchObject({ orderNo: 'N3' });
    expect(first[5]).toMatchObject({ orderNo: 'N0' });
    expect(v1).toMatchObject({ orderNo: 'N0' });
  });
});
