/**
 * One scenario table, run against the local SQLite store and against the CloudBase store (node-sdk →
 * loopback HTTPS emulator → a SQLite store behind it): an order is created, paid by compare-and-set
 * (twice: the second updates 0), refunded, read back; pre stays empty; refusals are the same. Both stores
 * must give the same answers, equal to the table's, for the default model and for the seed tutorial's
 * hand-built one (wxzfmbddsj_e3xp7j6 with ddh / zfzt).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCloudbaseStore } from '../datasources/cloudbase-store';
import { buildModelDefinitions, type ModelsBinding } from '../datasources/models';
import { openSqliteStore } from '../datasources/sqlite-store';
import { WedaModelError, type EnvType, type ModelStore } from '../datasources/weda';
import { makeLoopbackTls, startCloudbaseEmulator, type CloudbaseEmulator } from './helpers/cloudbase-emulator';
import { useCloudbaseSdkEnv, type SdkEnv } from './helpers/cloudbase-sdk-env';

const tls = makeLoopbackTls();
const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
let sdkEnv: SdkEnv;

beforeAll(() => {
  sdkEnv = useCloudbaseSdkEnv(tls.caPem);
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  sdkEnv.restore();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weda-conf-'));
  dirs.push(d);
  return d;
}

interface Backend {
  store: ModelStore;
  /** Requests sent over the network so far (undefined for a store without one). */
  sent(): number | undefined;
}

const BACKENDS: Record<string, (binding: ModelsBinding) => Promise<Backend>> = {
  async sqlite(binding) {
    const store = openSqliteStore({ dataDir: tempDir(), models: buildModelDefinitions(binding) });
    closers.push(() => store.close());
    return { store, sent: () => undefined };
  },
  async cloudbase(binding) {
    const models = buildModelDefinitions(binding);
    const emu: CloudbaseEmulator = await startCloudbaseEmulator({ dataDir: tempDir(), models, tls });
    closers.push(() => emu.close());
    const store = openCloudbaseStore({ env: 'wxpay-test-1a2b3c', serviceUrl: emu.serviceUrl, accessKey: emu.accessKey, keepalive: false, timeoutMs: 5000, models });
    closers.push(() => store.close());
    return { store, sent: () => emu.requests.length };
  },
};

/** A step: one callModel, the expected (normalised) answer, and whether it must be refused locally. */
interface Step {
  what: string;
  method: string;
  params: (f: Record<string, string>, ids: Record<string, string>) => Record<string, unknown>;
  envType?: EnvType;
  expect: (f: Record<string, string>, model: string) => unknown;
  /** Save the answer's `_id` / `id` under this name; later answers show it as `<id:name>`. */
  save?: string;
  /** A refusal that the CloudBase store must make without sending anything. */
  local?: boolean;
}

const PAID_AT = 1_700_000_000_000;
const REFUNDED_AT = 1_700_000_600_000;

const SCENARIO: Step[] = [
  {
    what: 'create an unpaid order (V1)', method: 'wedaCreate', save: 'order',
    params: (f) => ({ [f.orderNo!]: 'CONF0001', [f.status!]: 1, amount: 990, goodsId: 'G1', goodsName: '茶', openid: 'o-payer' }),
    expect: () => ({ _id: '<id:order>' }),
  },
  {
    what: 'pay: CAS 1 → 2', method: 'wedaBatchUpdate',
    params: (f) => ({ where: [{ key: f.orderNo, rel: 'eq', val: 'CONF0001' }, { key: f.status, rel: 'eq', val: 1 }], record: { [f.status!]: 2, transactionId: '4200000001', paidAt: PAID_AT } }),
    expect: () => ({ updated: 1 }),
  },
  {
    what: 'the same notification again: CAS 1 → 2 updates nothing', method: 'wedaBatchUpdate',
    params: (f) => ({ where: [{ key: f.orderNo, rel: 'eq', val: 'CONF0001' }, { key: f.status, rel: 'eq', val: 1 }], record: { [f.status!]: 2, transactionId: '4200000001', paidAt: PAID_AT + 1 } }),
    expect: () => ({ updated: 0 }),
  },
  {
    what: 'read it back (V1 where)', method: 'wedaGetItem',
    params: (f) => ({ where: [{ key: f.orderNo, rel: 'eq', val: 'CONF0001' }] }),
    expect: (f) => ({
      _id: '<id:order>', [f.orderNo!]: 'CONF0001', [f.status!]: 2, amount: 990, goodsId: 'G1', goodsName: '茶', openid: 'o-payer',
      transactionId: '4200000001', paidAt: PAID_AT, createdAt: '<ms>', updatedAt: '<ms>',
    }),
  },
  {
    what: 'refund accepted: CAS 2 → 3 (V2)', method: 'wedaBatchUpdateV2',
    params: (f) => ({ data: { [f.status!]: 3, refundNo: 'R-CONF0001', refundAmount: 990 }, filter: { where: { [f.orderNo!]: { $eq: 'CONF0001' }, [f.status!]: { $eq: 2 } } } }),
    expect: () => ({ count: 1 }),
  },
  {
    what: 'a late payment notification: CAS 1 → 2 updates nothing', method: 'wedaBatchUpdate',
    params: (f) => ({ where: [{ key: f.orderNo, rel: 'eq', val: 'CONF0001' }, { key: f.status, rel: 'eq', val: 1 }], record: { [f.status!]: 2 } }),
    expect: () => ({ updated: 0 }),
  },
  {
    what: 'refund succeeded: CAS 3 → 4 by _id (V2 update)', method: 'wedaUpdateV2',
    params: (f, ids) => ({ data: { [f.status!]: 4, refundedAt: REFUNDED_AT }, filter: { where: { $and: [{ _id: { $eq: ids.order } }, { [f.status!]: { $eq: 3 } }] } } }),
    expect: () => ({ count: 1 }),
  },
  {
    what: 'list refunded orders (V1 paging)', method: 'wedaGetRecords',
    params: (f) => ({ where: [{ key: f.status, rel: 'eq', val: 4 }], pageSize: 5, orderBy: 'amount', orderType: 'desc' }),
    expect: (f) => ({
      records: [{
        _id: '<id:order>', [f.orderNo!]: 'CONF0001', [f.status!]: 4, amount: 990, goodsId: 'G1', goodsName: '茶', openid: 'o-payer',
        transactionId: '4200000001', paidAt: PAID_AT, refundNo: 'R-CONF0001', refundAmount: 990, refundedAt: REFUNDED_AT, createdAt: '<ms>', updatedAt: '<ms>',
      }],
      total: 1, pageNo: 1, pageSize: 5,
    }),
  },
  {
    what: 'pre is another database: the order is not there', method: 'wedaGetItem', envType: 'pre',
    params: (f) => ({ where: [{ key: f.orderNo, rel: 'eq', val: 'CONF0001' }] }),
    expect: () => ({}),
  },
  {
    what: 'pre list is empty (V2 with count)', method: 'wedaGetRecordsV2', envType: 'pre',
    params: () => ({ getCount: true }),
    expect: () => ({ records: [], total: 0 }),
  },
  {
    what: 'a duplicate order number is refused by the unique field', method: 'wedaCreateV2',
    params: (f) => ({ data: { [f.orderNo!]: 'CONF0001', [f.status!]: 1, amount: 1 } }),
    expect: (f, model) => ({ error: 'DuplicateValue', message: `${model}.${f.orderNo} must be unique: a record with this value already exists` }),
  },
  {
    what: 'an empty where in a batch update is refused', method: 'wedaBatchUpdate', local: true,
    params: (f) => ({ where: [], record: { [f.status!]: 4 } }),
    expect: () => ({ error: 'InvalidParameter', message: 'params.where is required for a batch write and must be a non-empty array of { key, rel, val } (got [])' }),
  },
  {
    what: 'an empty V2 where in a batch delete is refused', method: 'wedaBatchDeleteV2', local: true,
    params: () => ({ filter: { where: {} } }),
    expect: () => ({ error: 'InvalidParameter', message: 'params.filter.where is required and must hold at least one condition (got {})' }),
  },
  {
    what: 'a bad field name is refused', method: 'wedaBatchDelete', local: true,
    params: () => ({ where: [{ key: 'x OR 1=1', rel: 'eq', val: 1 }] }),
    expect: () => ({ error: 'InvalidParameter', message: 'params.where[0].key: field name "x OR 1=1" must match ^[A-Za-z_][A-Za-z0-9_]*$' }),
  },
  {
    what: 'a string status is refused by the model definition', method: 'wedaBatchUpdate', local: true,
    params: (f) => ({ where: [{ key: f.orderNo, rel: 'eq', val: 'CONF0001' }], record: { [f.status!]: '1' } }),
    expect: (f, model) => ({ error: 'SchemaViolation', message: `${model}.${f.status} must be of type integer (got "1") (params.record.${f.status})` }),
  },
  {
    what: 'the order is unchanged by the refusals', method: 'wedaGetItemV2',
    params: (f) => ({ filter: { where: { [f.orderNo!]: { $eq: 'CONF0001' } } }, select: { [f.status!]: true, amount: true } }),
    expect: (f) => ({ _id: '<id:order>', [f.status!]: 4, amount: 990 }),
  },
];

/** Ids become `<id:name>`, system timestamps `<ms>`; errors become { error, message } without the CloudBase prefix. */
function normalise(value: unknown, ids: Record<string, string>): unknown {
  const byId = new Map(Object.entries(ids).map(([name, id]) => [id, `<id:${name}>`]));
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string' && byId.has(v)) return byId.get(v);
    if ((key === 'createdAt' || key === 'updatedAt') && typeof v === 'number' && v > 1_600_000_000_000) return '<ms>';
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(value);
}

async function run(backend: Backend, model: string, f: Record<string, string>): Promise<{ answers: unknown[]; localSends: (number | undefined)[] }> {
  const ids: Record<string, string> = {};
  const answers: unknown[] = [];
  const localSends: (number | undefined)[] = [];
  for (const step of SCENARIO) {
    const before = backend.sent();
    let answer: unknown;
    try {
      const res = (await backend.store.callModel({ name: model, methodName: step.method, params: step.params(f, ids), ...(step.envType ? { envType: step.envType } : {}) })) as Record<string, unknown>;
      if (step.save) ids[step.save] = String(res._id ?? res.id);
      answer = normalise(res, ids);
    } catch (e) {
      if (!(e instanceof WedaModelError)) throw e;
      answer = { error: e.code, message: e.message.replace(/^models\.\S+ \([^)]*\): /, '') };
    }
    answers.push(answer);
    if (step.local) localSends.push(before === undefined ? undefined : backend.sent()! - before);
  }
  return { answers, localSends };
}

const BINDINGS: [string, ModelsBinding][] = [
  ['the default orders model', {}],
  ["the seed's hand-built model (ddh / zfzt)", { model: 'wxzfmbddsj_e3xp7j6', fields: { orderNo: 'ddh', status: 'zfzt' } }],
];

describe.each(BINDINGS)('%s', (_label, binding) => {
  const model = binding.model ?? 'orders';
  const f = { orderNo: binding.fields?.orderNo ?? 'orderNo', status: binding.fields?.status ?? 'status' };
  const results: Record<string, Awaited<ReturnType<typeof run>>> = {};

  beforeAll(async () => {
    for (const [name, make] of Object.entries(BACKENDS)) results[name] = await run(await make(binding), model, f);
  });

  test.each(Object.keys(BACKENDS))('%s answers every step as the table says', (name) => {
    const expected = SCENARIO.map((s) => ({ step: s.what, answer: s.expect(f, model) }));
    expect(SCENARIO.map((s, i) => ({ step: s.what, answer: results[name]!.answers[i] }))).toEqual(expected);
  });

  test('the two stores give identical answers', () => {
    expect(results.cloudbase!.answers).toEqual(results.sqlite!.answers);
  });

  test('the CloudBase store refused the local refusals without sending anything', () => {
    expect(results.cloudbase!.localSends).toEqual(SCENARIO.filter((s) => s.local).map(() => 0));
  });
});

test('nothing tried to resolve a host name', () => {
  expect(sdkEnv.lookups).toEqual([]);
});
