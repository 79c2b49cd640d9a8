/**
 * The CloudBase model store (datasources/cloudbase-store.ts) with an API key — our models client, which sends what
 * `@cloudbase/node-sdk` sends (test/store-cloudbase-client-equivalence.test.ts) — against a loopback HTTPS emulator
 * of the models API (weda.md §4): the exact method/path/body sent for every V1 and V2 method, pre vs prod paths, V1 result shapes, error mapping (server code and
 * requestId, unreachable, timeout, unreadable answers), and refusals that never reach the network.
 * Nothing leaves 127.0.0.1: a DNS guard fails (and records) any other name.
 */
import https from 'node:https';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tcb from '@cloudbase/node-sdk';
import { openCloudbaseStore, CLOUDBASE_SUPPORTED_METHODS, type CloudbaseApp, type CloudbaseStoreOptions } from '../datasources/cloudbase-store';
import { SUPPORTED_METHODS } from '../datasources/methods';
import { buildModelDefinitions } from '../datasources/models';
import { WedaModelError, type EnvType, type ModelStore } from '../datasources/weda';
import { makeLoopbackTls, startCloudbaseEmulator, type CloudbaseEmulator } from './helpers/cloudbase-emulator';
import { useCloudbaseSdkEnv, type SdkEnv } from './helpers/cloudbase-sdk-env';

const tls = makeLoopbackTls();
const dirs: string[] = [];
const stores: ModelStore[] = [];
const emulators: CloudbaseEmulator[] = [];
let sdkEnv: SdkEnv;
let emu: CloudbaseEmulator;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weda-cb-'));
  dirs.push(d);
  return d;
}

async function emulator(opts: Partial<Parameters<typeof startCloudbaseEmulator>[0]> = {}): Promise<CloudbaseEmulator> {
  const e = await startCloudbaseEmulator({ dataDir: tempDir(), tls, ...opts });
  emulators.push(e);
  return e;
}

function open(e: CloudbaseEmulator, opts: Partial<CloudbaseStoreOptions> = {}): ModelStore {
  const s = openCloudbaseStore({ env: 'wxpay-test-1a2b3c', serviceUrl: e.serviceUrl, accessKey: e.accessKey, keepalive: false, timeoutMs: 5000, ...opts });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  sdkEnv = useCloudbaseSdkEnv(tls.caPem);
  emu = await emulator();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const e of emulators) await e.close();
  sdkEnv.restore();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<WedaModelError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WedaModelError);
    return e as WedaModelError;
  }
  throw new Error('expected a rejection');
}

/** Calls the store and returns the result together with the requests the call produced. */
async function traced(e: CloudbaseEmulator, store: ModelStore, methodName: string, params: Record<string, unknown>, envType?: EnvType) {
  const before = e.requests.length;
  const result = await store.callModel({ name: 'orders', methodName, params, ...(envType ? { envType } : {}) });
  return { result, sent: e.requests.slice(before).map(({ method, path, body }) => ({ method, path, body })) };
}

test('the DNS guard is live: a non-loopback name cannot be resolved', async () => {
  const err = await new Promise<Error>((resolve) => https.get('https://guard-check.invalid/', () => undefined).on('error', resolve));
  expect(err.message).toMatch(/blocked by the test DNS guard/);
  expect(sdkEnv.lookups.splice(0)).toEqual(['guard-check.invalid']);
});

test('both stores offer the same methods', () => {
  expect([...CLOUDBASE_SUPPORTED_METHODS].sort()).toEqual([...SUPPORTED_METHODS].sort());
});

describe('V1 methods are sent as V2 operations (weda.md §2.1 → §4.1) and answer in V1 shapes', () => {
  let store: ModelStore;
  beforeAll(() => {
    store = open(emu);
  });

  test('wedaCreate → POST create { data }; → { _id }', async () => {
    const { result, sent } = await traced(emu, store, 'wedaCreate', { orderNo: 'V1A0001', status: 1, amount: 100, createdAt: 5 }, 'pre');
    expect(sent).toEqual([{ method: 'POST', path: '/v1/model/pre/orders/create', body: { data: { orderNo: 'V1A0001', status: 1, amount: 100 }, envType: 'pre' } }]);
    expect(result).toEqual({ _id: expect.stringMatching(/^[0-9A-Z]{16}$/) });
    expect(emu.requests.at(-1)!.authorization).toBe('Bearer fake');
  });

  test('wedaBatchUpdate → PUT updateMany { data: record, filter.where: $and of the V1 conditions }; { count } → { updated }', async () => {
    const params = { where: [{ key: 'orderNo', rel: 'eq', val: 'V1A0001' }, { key: 'status', rel: 'eq', val: 1 }], record: { status: 2, paidAt: 1700000000000 } };
    const first = await traced(emu, store, 'wedaBatchUpdate', params, 'pre');
    expect(first.sent).toEqual([{
      method: 'PUT',
      path: '/v1/model/pre/orders/updateMany',
      body: { data: { status: 2, paidAt: 1700000000000 }, filter: { where: { $and: [{ orderNo: { $eq: 'V1A0001' } }, { status: { $eq: 1 } }] } }, envType: 'pre' },
    }]);
    expect(first.result).toEqual({ updated: 1 });
    expect((await traced(emu, store, 'wedaBatchUpdate', params, 'pre')).result).toEqual({ updated: 0 });
  });

  test('wedaGetItem by where and by _id → POST get with select $master; the record or {}', async () => {
    const byWhere = await traced(emu, store, 'wedaGetItem', { where: [{ key: 'orderNo', rel: 'eq', val: 'V1A0001' }] }, 'pre');
    expect(byWhere.sent).toEqual([{ method: 'POST', path: '/v1/model/pre/orders/get', body: { filter: { where: { $and: [{ orderNo: { $eq: 'V1A0001' } }] } }, select: { $master: true }, envType: 'pre' } }]);
    const rec = byWhere.result as Record<string, unknown>;
    expect(rec).toEqual({ _id: expect.any(String), orderNo: 'V1A0001', status: 2, amount: 100, paidAt: 1700000000000, createdAt: expect.any(Number), updatedAt: expect.any(Number) });

    const byId = await traced(emu, store, 'wedaGetItem', { _id: rec._id }, 'pre');
    expect(byId.sent[0]!.body).toEqual({ filter: { where: { _id: { $eq: rec._id } } }, select: { $master: true }, envType: 'pre' });
    expect(byId.result).toEqual(rec);
    expect((await traced(emu, store, 'wedaGetItem', { _id: 'NOPE' }, 'pre')).result).toEqual({});
  });

  test('pre and prod are different paths and different data', async () => {
    const inProd = await traced(emu, store, 'wedaGetItem', { where: [{ key: 'orderNo', rel: 'eq', val: 'V1A0001' }] });
    expect(inProd.sent[0]).toMatchObject({ path: '/v1/model/prod/orders/get', body: { envType: 'prod' } });
    expect(inProd.result).toEqual({});
  });

  test('wedaBatchCreate → createMany; wedaGetRecords → list with pageNumber, orderBy[], getCount; → { records, total, pageNo, pageSize }', async () => {
    const created = await traced(emu, store, 'wedaBatchCreate', { records: [{ orderNo: 'V1B0001', status: 1, amount: 300 }, { orderNo: 'V1B0002', status: 1, amount: 200 }, { orderNo: 'V1B0003', status: 2, amount: 100 }] }, 'prod');
    expect(created.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/createMany', body: { data: [{ orderNo: 'V1B0001', status: 1, amount: 300 }, { orderNo: 'V1B0002', status: 1, amount: 200 }, { orderNo: 'V1B0003', status: 2, amount: 100 }], envType: 'prod' } }]);
    const { ids } = created.result as { ids: string[] };
    expect(ids).toHaveLength(3);

    const page = await traced(emu, store, 'wedaGetRecords', { where: [{ key: 'status', rel: 'eq', val: 1 }], pageNo: 2, pageSize: 1, orderBy: 'amount', orderType: 'desc' }, 'prod');
    expect(page.sent).toEqual([{
      method: 'POST',
      path: '/v1/model/prod/orders/list',
      body: { filter: { where: { $and: [{ status: { $eq: 1 } }] } }, select: { $master: true }, pageSize: 1, pageNumber: 2, getCount: true, orderBy: [{ amount: 'desc' }], envType: 'prod' },
    }]);
    expect(page.result).toEqual({ records: [expect.objectContaining({ _id: ids[1], orderNo: 'V1B0002' })], total: 2, pageNo: 2, pageSize: 1 });

    const all = await traced(emu, store, 'wedaGetRecords', {}, 'prod');
    expect(all.sent[0]!.body).toEqual({ filter: { where: {} }, select: { $master: true }, pageSize: 10, pageNumber: 1, getCount: true, envType: 'prod' });
    expect(all.result).toMatchObject({ total: 3, pageNo: 1, pageSize: 10 });
  });

  test('wedaUpdate → PUT update by _id → { ids, count }; wedaDelete → delete; wedaBatchDelete → deleteMany → { deleted }', async () => {
    const { records } = (await store.callModel({ name: 'orders', methodName: 'wedaGetRecords', params: { orderBy: 'amount', orderType: 'desc' } })) as { records: { _id: string }[] };
    const [a, b] = records; // V1B0001 (status 1, 300), V1B0002 (status 1, 200); V1B0003 (status 2, 100) stays
    const upd = await traced(emu, store, 'wedaUpdate', { _id: a!._id, status: 2 }, 'prod');
    expect(upd.sent).toEqual([{ method: 'PUT', path: '/v1/model/prod/orders/update', body: { data: { status: 2 }, filter: { where: { _id: { $eq: a!._id } } }, envType: 'prod' } }]);
    expect(upd.result).toEqual({ ids: [a!._id], count: 1 });
    expect((await traced(emu, store, 'wedaUpdate', { _id: 'NOPE', status: 2 })).result).toEqual({ ids: [], count: 0 });

    const del = await traced(emu, store, 'wedaDelete', { _id: b!._id });
    expect(del.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/delete', body: { filter: { where: { _id: { $eq: b!._id } } }, envType: 'prod' } }]);
    expect(del.result).toEqual({ deleted: 1 });

    const batch = await traced(emu, store, 'wedaBatchDelete', { where: [{ key: 'status', rel: 'eq', val: 2 }] });
    expect(batch.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/deleteMany', body: { filter: { where: { $and: [{ status: { $eq: 2 } }] } }, envType: 'prod' } }]);
    expect(batch.result).toEqual({ deleted: 2 });
  });
});

describe('V2 methods map 1:1 (weda.md §2.2)', () => {
  let e: CloudbaseEmulator;
  let store: ModelStore;
  beforeAll(async () => {
    e = await emulator();
    store = open(e);
  });

  test('create / createMany / get / list / update / updateMany / upsert / delete / deleteMany', async () => {
    const c = await traced(e, store, 'wedaCreateV2', { data: { orderNo: 'V2A0001', status: 1, amount: 50 } });
    expect(c.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/create', body: { data: { orderNo: 'V2A0001', status: 1, amount: 50 }, envType: 'prod' } }]);
    expect(c.result).toEqual({ id: expect.any(String) });

    const cm = await traced(e, store, 'wedaBatchCreateV2', { data: [{ orderNo: 'V2A0002', status: 1, amount: 60 }, { orderNo: 'V2A0003', status: 1, amount: 70 }] });
    expect(cm.sent[0]).toEqual({ method: 'POST', path: '/v1/model/prod/orders/createMany', body: { data: [{ orderNo: 'V2A0002', status: 1, amount: 60 }, { orderNo: 'V2A0003', status: 1, amount: 70 }], envType: 'prod' } });
    expect(cm.result).toEqual({ idList: [expect.any(String), expect.any(String)] });

    const g = await traced(e, store, 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: 'V2A0001' } } }, select: { orderNo: true, amount: true } });
    expect(g.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/get', body: { filter: { where: { orderNo: { $eq: 'V2A0001' } } }, select: { orderNo: true, amount: true }, envType: 'prod' } }]);
    expect(g.result).toEqual({ _id: (c.result as { id: string }).id, orderNo: 'V2A0001', amount: 50 });

    const l = await traced(e, store, 'wedaGetRecordsV2', { filter: { where: { amount: { $gte: 60 } } }, orderBy: [{ amount: 'desc' }], pageSize: 5, pageNumber: 1, getCount: true });
    expect(l.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/list', body: { filter: { where: { amount: { $gte: 60 } } }, select: { $master: true }, orderBy: [{ amount: 'desc' }], pageSize: 5, pageNumber: 1, getCount: true, envType: 'prod' } }]);
    expect(l.result).toEqual({ records: [expect.objectContaining({ orderNo: 'V2A0003' }), expect.objectContaining({ orderNo: 'V2A0002' })], total: 2 });
    expect((await traced(e, store, 'wedaGetRecordsV2', {})).result).toEqual({ records: expect.any(Array) });

    const u = await traced(e, store, 'wedaUpdateV2', { data: { status: 2 }, filter: { where: { orderNo: { $eq: 'V2A0001' } } } }, 'prod');
    expect(u.sent).toEqual([{ method: 'PUT', path: '/v1/model/prod/orders/update', body: { data: { status: 2 }, filter: { where: { orderNo: { $eq: 'V2A0001' } } }, envType: 'prod' } }]);
    expect(u.result).toEqual({ count: 1 });

    const um = await traced(e, store, 'wedaBatchUpdateV2', { data: { status: 2 }, filter: { where: { status: { $eq: 1 } } } });
    expect(um.sent[0]).toMatchObject({ method: 'PUT', path: '/v1/model/prod/orders/updateMany' });
    expect(um.result).toEqual({ count: 2 });

    const up = await traced(e, store, 'wedaUpsertV2', { filter: { where: { orderNo: { $eq: 'V2A0009' } } }, create: { orderNo: 'V2A0009', status: 1, amount: 9 }, update: { status: 2 } });
    expect(up.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/upsert', body: { create: { orderNo: 'V2A0009', status: 1, amount: 9 }, update: { status: 2 }, filter: { where: { orderNo: { $eq: 'V2A0009' } } }, envType: 'prod' } }]);
    expect(up.result).toEqual({ count: 0, id: expect.any(String) });

    const d = await traced(e, store, 'wedaDeleteV2', { filter: { where: { orderNo: { $eq: 'V2A0009' } } } });
    expect(d.sent).toEqual([{ method: 'POST', path: '/v1/model/prod/orders/delete', body: { filter: { where: { orderNo: { $eq: 'V2A0009' } } }, envType: 'prod' } }]);
    expect(d.result).toEqual({ count: 1 });

    const dm = await traced(e, store, 'wedaBatchDeleteV2', { filter: { where: { status: { $eq: 2 } } } }, 'pre');
    expect(dm.sent).toEqual([{ method: 'POST', path: '/v1/model/pre/orders/deleteMany', body: { filter: { where: { status: { $eq: 2 } } }, envType: 'pre' } }]);
    expect(dm.result).toEqual({ count: 0 }); // nothing in pre
    expect((await traced(e, store, 'wedaBatchDeleteV2', { filter: { where: { status: { $eq: 2 } } } })).result).toEqual({ count: 3 });
  });
});

describe('errors become WedaModelError with the server code and requestId', () => {
  let e: CloudbaseEmulator;
  let store: ModelStore;
  beforeAll(async () => {
    e = await emulator({ models: buildModelDefinitions() });
    store = open(e);
    await store.callModel({ name: 'orders', methodName: 'wedaBatchCreateV2', params: { data: [{ orderNo: 'ERR0001', status: 1, amount: 1 }, { orderNo: 'ERR0002', status: 1, amount: 1 }] } });
  });

  test('a refusal by the server keeps its code, message and requestId', async () => {
    const multi = await rejection(store.callModel({ name: 'orders', methodName: 'wedaUpdateV2', params: { data: { status: 2 }, filter: { where: { status: { $eq: 1 } } } } }));
    expect(multi.code).toBe('MultipleRecordsMatched');
    expect(multi.requestId).toBe(`emu-${e.requests.length}`);
    expect(multi.message).toMatch(/^models\.orders\.update \(wedaUpdateV2, prod\): wedaUpdateV2: params\.filter\.where matches more than one record/);

    const dup = await rejection(store.callModel({ name: 'orders', methodName: 'wedaCreate', params: { orderNo: 'ERR0001', status: 1, amount: 1 } }));
    expect(dup).toMatchObject({ code: 'DuplicateValue', requestId: `emu-${e.requests.length}`, message: expect.stringMatching(/orders\.orderNo must be unique/) });
  });

  test('a canned server error: code and requestId as sent', async () => {
    e.answerNext({ status: 500, body: { code: 'DATABASE_REQUEST_FAILED', message: 'db busy', requestId: 'req-0123abcd' } });
    const err = await rejection(store.callModel({ name: 'orders', methodName: 'wedaBatchUpdate', params: { where: [{ key: 'orderNo', rel: 'eq', val: 'ERR0001' }], record: { status: 2 } }, envType: 'pre' }));
    expect(err).toMatchObject({ code: 'DATABASE_REQUEST_FAILED', requestId: 'req-0123abcd', message: 'models.orders.updateMany (wedaBatchUpdate, pre): db busy' });
  });

  test('a wrong access key is refused by the server (401)', async () => {
    const s = open(e, { accessKey: 'not-the-key' });
    const err = await rejection(s.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }));
    expect(err.code).toBe('INVALID_ACCESS_TOKEN');
    expect(e.requests.at(-1)!.authorization).toBe('Bearer not-the-key');
  });

  test('unreachable → NetworkError; no answer in time → Timeout', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = open(e, { serviceUrl: `127.0.0.1:${port}` });
    const refused = await rejection(dead.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }));
    expect(refused.code).toBe('NetworkError');
    expect(refused.message).toMatch(/ECONNREFUSED/);

    const slow = open(e, { timeoutMs: 200 });
    e.answerNext({ delayMs: 3000, body: { data: { records: [] } } });
    const t0 = Date.now();
    const late = await rejection(slow.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }));
    expect(late.code).toBe('Timeout');
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  test('answers that are not the documented shape → BadResponse', async () => {
    e.answerNext({ status: 502, raw: '<html>502 Bad Gateway</html>' });
    expect((await rejection(store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }))).code).toBe('BadResponse');
    e.answerNext({ status: 200, raw: '' });
    expect((await rejection(store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }))).code).toBe('BadResponse');
    e.answerNext({ body: { data: { changed: 1 }, requestId: 'req-shape' } });
    const shape = await rejection(store.callModel({ name: 'orders', methodName: 'wedaBatchUpdate', params: { where: [{ key: 'orderNo', rel: 'eq', val: 'ERR0001' }], record: { status: 2 } } }));
    expect(shape).toMatchObject({ code: 'BadResponse', requestId: 'req-shape', message: expect.stringMatching(/updateMany .*data\.count should be a count/) });
    e.answerNext({ body: { data: { records: 'none' } } });
    expect((await rejection(store.callModel({ name: 'orders', methodName: 'wedaGetRecords' }))).message).toMatch(/data\.records should be an array of records/);
  });
});

describe('refusals happen before any network call', () => {
  let e: CloudbaseEmulator;
  let plain: ModelStore;
  let defined: ModelStore;
  beforeAll(async () => {
    e = await emulator();
    plain = open(e);
    defined = open(e, { models: buildModelDefinitions() });
  });

  test('the same refusals as the SQLite store, nothing sent', async () => {
    const cases: [ModelStore, string, string, Record<string, unknown> | undefined, string, RegExp][] = [
      [plain, 'orders', 'wedaBatchUpdate', { record: { status: 2 } }, 'InvalidParameter', /params\.where is required .*non-empty array/],
      [plain, 'orders', 'wedaBatchUpdate', { where: [], record: { status: 2 } }, 'InvalidParameter', /params\.where is required/],
      [plain, 'orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'X' }] }, 'InvalidParameter', /params\.record is required/],
      [plain, 'orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'X' }], record: { _id: 'x', updatedAt: 1 } }, 'InvalidParameter', /params\.record must set at least one non-system field/],
      [plain, 'orders', 'wedaBatchDelete', { where: [] }, 'InvalidParameter', /params\.where is required/],
      [plain, 'orders', 'wedaBatchUpdateV2', { data: { status: 2 }, filter: { where: {} } }, 'InvalidParameter', /params\.filter\.where is required/],
      [plain, 'orders', 'wedaBatchDeleteV2', {}, 'InvalidParameter', /params\.filter\.where is required/],
      [plain, 'orders', 'wedaDeleteV2', { filter: { where: { $and: [{}] } } }, 'InvalidParameter', /params\.filter\.where\.\$and\[0\] must be a where object with at least one condition/],
      [plain, 'orders', 'wedaBatchUpdate', { where: [{ key: 'status; DROP TABLE x', rel: 'eq', val: 1 }], record: { status: 2 } }, 'InvalidParameter', /params\.where\[0\]\.key: field name "status; DROP TABLE x" must match/],
      [plain, 'orders', 'wedaBatchUpdate', { where: [{ key: 'status', rel: 'like', val: 1 }], record: { status: 2 } }, 'InvalidParameter', /params\.where\[0\]\.rel must be one of eq, neq, lt, lte, gt, gte, search/],
      [plain, 'orders', 'wedaBatchUpdate', { where: [{ key: 'status', rel: 'eq', val: 1 }], record: { 'a.b': 2 } }, 'InvalidParameter', /params\.record\.a\.b: field name must match/],
      [plain, 'orders', 'wedaGetRecordsV2', { filter: { where: { status: { $like: 1 } } } }, 'InvalidParameter', /params\.filter\.where\.status: unknown operator "\$like"/],
      [plain, 'orders', 'wedaGetRecordsV2', { orderBy: [{ amount: 'up' }] }, 'InvalidParameter', /params\.orderBy must be an array of at most 3 items/],
      [plain, 'orders', 'wedaGetRecordsV2', { pageSize: 201 }, 'InvalidParameter', /params\.pageSize must be an integer from 1 to 200/],
      [plain, 'orders', 'wedaGetItemV2', { select: { 'x y': true } }, 'InvalidParameter', /params\.select\.x y: field name/],
      [plain, 'orders', 'wedaGetRecords', { pageNo: 0 }, 'InvalidParameter', /params\.pageNo must be an integer from 1/],
      [plain, 'orders', 'wedaGetItem', {}, 'InvalidParameter', /params\._id or a non-empty params\.where is required/],
      [plain, 'orders', 'wedaUpdate', { status: 2 }, 'InvalidParameter', /params\._id must be a non-empty string/],
      [plain, 'orders', 'wedaCreate', { paidAt: new Date() }, 'InvalidParameter', /params\.paidAt must be a JSON value \(got Date\)/],
      [plain, 'orders', 'wedaDropTable', {}, 'MethodNotFound', /unknown methodName "wedaDropTable" \(supported: wedaCreate, .*wedaGetRecordsV2\)/],
      [plain, 'orders; --', 'wedaGetRecordsV2', {}, 'InvalidParameter', /name must be a model name matching/],
      [defined, 'payments', 'wedaGetRecordsV2', {}, 'ModelNotFound', /model "payments" is not defined \(defined: goods, orders, refunds\)/],
      [defined, 'orders', 'wedaCreate', { orderNo: 'R0000001', status: '1', amount: 1 }, 'SchemaViolation', /orders\.status must be of type integer \(got "1"\)/],
      [defined, 'orders', 'wedaCreateV2', { data: { orderNo: 'R0000001', status: 1 } }, 'SchemaViolation', /orders\.amount is required/],
      [defined, 'orders', 'wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'X' }], record: { zfzt: 2 } }, 'SchemaViolation', /orders\.zfzt is not a field of model "orders"/],
    ];
    const before = e.requests.length;
    for (const [store, name, method, params, code, rule] of cases) {
      const err = await rejection(store.callModel({ name, methodName: method, params }));
      expect(`${method}: ${err.code} ${err.message}`).toMatch(new RegExp(`${method}: ${code} ${rule.source}`));
    }
    expect(e.requests.length).toBe(before);
  });

  test('a closed store refuses calls', async () => {
    const s = open(e);
    await s.close();
    expect((await rejection(s.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }))).code).toBe('StoreClosed');
  });
});

describe('openCloudbaseStore options', () => {
  test('refuses configurations that cannot work, or would reach the real cloud from a test', () => {
    expect(() => openCloudbaseStore({ serviceUrl: emu.serviceUrl, accessKey: 'fake' })).toThrow(/env .* is required unless app is given/);
    expect(() => openCloudbaseStore({ env: 'e', serviceUrl: `http://${emu.serviceUrl}`, accessKey: 'fake' })).toThrow(/serviceUrl must be https/);
    expect(() => openCloudbaseStore({ env: 'e', serviceUrl: `${emu.serviceUrl}/v1`, accessKey: 'fake' })).toThrow(/serviceUrl must be a host\[:port\]/);
    expect(() => openCloudbaseStore({ env: 'e', serviceUrl: emu.serviceUrl })).toThrow(/loopback serviceUrl needs accessKey/);
    expect(() => openCloudbaseStore({ env: 'e', serviceUrl: emu.serviceUrl, accessKey: 'fake', timeoutMs: 0 })).toThrow(/timeoutMs must be a positive integer/);
    expect(() => openCloudbaseStore({ app: {} as CloudbaseApp })).toThrow(/has no models client/);
  });

  test('https:// in serviceUrl is accepted; an app from tcb.init can be passed in', async () => {
    const viaScheme = open(emu, { serviceUrl: `https://${emu.serviceUrl}/` });
    expect(await viaScheme.callModel({ name: 'goods', methodName: 'wedaGetRecordsV2', params: { getCount: true } })).toEqual({ records: [], total: 0 });

    const app = tcb.init({ env: 'wxpay-test-1a2b3c', serviceUrl: emu.serviceUrl, accessKey: 'fake', keepalive: false }) as unknown as CloudbaseApp;
    const store = openCloudbaseStore({ app });
    stores.push(store);
    const before = emu.requests.length;
    expect(await store.callModel({ name: 'goods', methodName: 'wedaCreateV2', params: { data: { name: 'Tea', price: 1 } }, envType: 'pre' })).toEqual({ id: expect.any(String) });
    expect(emu.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/model/pre/goods/create']);
  });
});

test('nothing tried to resolve a host name (no metadata probe, no real gateway)', () => {
  expect(sdkEnv.lookups).toEqual([]);
});
