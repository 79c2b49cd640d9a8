/**
 * Our models client (datasources/cloudbase-models-client.ts) against `@cloudbase/node-sdk` `app.models`, both
 * sending to the same loopback HTTPS emulator, with an API key — every operation, pre and prod, a server's refusal,
 * a timeout, an unreachable gateway and answers that are not the documented shape — and with the function role's
 * credentials: the token exchange (TC3-signed, byte for byte at a frozen clock) before a client's first models
 * request, its refusal, a bad answer and a timeout. For each call the two must
 * send the same request (method, path, headers in order — only X-Client-Timestamp, a clock reading, may differ —
 * and body bytes) and come back with the same answer, or fail with the same error, both as they answer
 * (`{ data, requestId }`, the error's code, requestId and message) and through the store (WedaModelError code,
 * message and requestId).
 * Where ours departs from node-sdk on purpose — it reuses the role's token while its `expires_in` lasts, where the SDK
 * asks before every request (cloudbase-models-client.ts says why) — the tests say what it sends instead: no token
 * request within the lifetime, a new one near its end or when the credentials change, and one retry of a request
 * whose reused token is refused.
 */
import https from 'node:https';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tcb from '@cloudbase/node-sdk';
import { createModelsClient } from '../datasources/cloudbase-models-client';
import { fromSdkError, openCloudbaseStore, type CloudbaseApp } from '../datasources/cloudbase-store';
import { WedaModelError, type ModelStore } from '../datasources/weda';
import { makeLoopbackTls, routeGatewayToEmulator, startCloudbaseEmulator, TOKEN_LIFETIME_S, type CannedAnswer, type CloudbaseEmulator, type RecordedRequest } from './helpers/cloudbase-emulator';
import { useCloudbaseSdkEnv, type SdkEnv } from './helpers/cloudbase-sdk-env';

const ENV = 'wxpay-test-1a2b3c';
const tls = makeLoopbackTls();
let dir: string;
let sdkEnv: SdkEnv;
let emu: CloudbaseEmulator;

type Models = Record<string, Record<string, (p?: Record<string, unknown>) => Promise<unknown>>>;
interface Side {
  models: Models;
  store: ModelStore;
}
let sdk: Side;
let ours: Side;

function sides(serviceUrl: string, timeoutMs: number): { sdk: Side; ours: Side } {
  const sdkApp = tcb.init({ env: ENV, serviceUrl, accessKey: emu.accessKey, keepalive: false, timeout: timeoutMs }) as unknown as { models: Models };
  const client = createModelsClient({ env: ENV, serviceUrl, accessKey: emu.accessKey, keepalive: false, timeoutMs });
  return {
    sdk: { models: sdkApp.models, store: openCloudbaseStore({ app: sdkApp as unknown as CloudbaseApp }) },
    ours: { models: client.models as unknown as Models, store: openCloudbaseStore({ env: ENV, serviceUrl, accessKey: emu.accessKey, keepalive: false, timeoutMs }) },
  };
}

beforeAll(async () => {
  sdkEnv = useCloudbaseSdkEnv(tls.caPem);
  dir = mkdtempSync(join(tmpdir(), 'weda-cb-eq-'));
  emu = await startCloudbaseEmulator({ dataDir: dir, tls });
  ({ sdk, ours } = sides(emu.serviceUrl, 5000));
});
afterAll(async () => {
  await emu.close();
  sdkEnv.restore();
  rmSync(dir, { recursive: true, force: true });
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A WedaModelError's requestId: the server's, or one made up for this error (random, so only its kind compares). */
const requestIdOf = (id: unknown): unknown => (typeof id === 'string' && UUID.test(id) ? '<made up>' : id);

/** What a call answered, or how it failed (the fields node-sdk's errors carry and fromSdkError reads). */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { answer: await p };
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown; code?: unknown; requestId?: unknown; originError?: { code?: unknown; message?: unknown } };
    const mapped = fromSdkError(e, 'where');
    return {
      error: { name: err.name, message: err.message, code: err.code, requestId: requestIdOf(err.requestId), origin: err.originError && { code: err.originError.code, message: err.originError.message } },
      mapped: { code: mapped.code, message: mapped.message, requestId: requestIdOf(mapped.requestId) },
    };
  }
}

/** A request as compared: everything but the value of X-Client-Timestamp (checked to be a time in ms). */
function comparable(r: RecordedRequest): unknown {
  const headers: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    const [name, value] = [r.rawHeaders[i]!, r.rawHeaders[i + 1]!];
    if (name === 'X-Client-Timestamp') {
      expect(Math.abs(Number(value) - Date.now())).toBeLessThan(60_000);
      headers.push(name, '<ms>');
    } else headers.push(name, value);
  }
  return { method: r.method, path: r.path, headers, text: r.text };
}

/** Runs `call` on node-sdk, then on our client, each with `answer` canned (when given); both must match. */
async function same(call: (s: Side) => Promise<unknown>, answer?: CannedAnswer): Promise<{ result: unknown; request: RecordedRequest | undefined }> {
  const results: unknown[] = [];
  const requests: (RecordedRequest | undefined)[] = [];
  for (const side of [sdk, ours]) {
    if (answer) emu.answerNext(answer);
    const before = emu.requests.length;
    results.push(await outcome(call(side)));
    expect(emu.requests.length - before).toBeLessThanOrEqual(1);
    requests.push(emu.requests[before]);
  }
  expect(results[1]).toEqual(results[0]);
  expect(requests[1] && comparable(requests[1])).toEqual(requests[0] && comparable(requests[0]));
  return { result: results[0], request: requests[0] };
}

const CALLS: Array<[string, string, Record<string, unknown>]> = [
  ['create', 'orders', { data: { orderNo: 'EQ000001', status: 1, amount: 100 } }],
  ['createMany', 'orders', { data: [{ orderNo: 'EQ000002', status: 1, amount: 5 }, { orderNo: 'EQ000003', status: 1, amount: 7 }], envType: 'pre' }],
  ['get', 'orders', { filter: { where: { orderNo: { $eq: 'EQ000001' } } } }],
  ['get', 'orders', { filter: { where: { orderNo: { $eq: 'NONE0001' } } }, select: { orderNo: true }, envType: 'prod' }],
  ['list', 'orders', { getCount: true, pageSize: 2, pageNumber: 1, orderBy: [{ amount: 'desc' }] }],
  ['list', 'orders', { envType: 'pre' }],
  ['update', 'orders', { data: { status: 2 }, filter: { where: { orderNo: { $eq: 'EQ000001' } } } }],
  ['updateMany', 'orders', { data: { status: 2 }, filter: { where: { status: { $eq: 1 } } }, envType: 'pre' }],
  ['upsert', 'orders', { create: { orderNo: 'EQ000004', status: 1, amount: 9 }, update: { status: 1 }, filter: { where: { orderNo: { $eq: 'EQ000004' } } } }],
  ['delete', 'orders', { filter: { where: { orderNo: { $eq: 'EQ000004' } } } }],
  ['deleteMany', 'orders', { filter: { where: { status: { $eq: 2 } } }, envType: 'pre' }],
];

describe('every operation: the same request, the same answer', () => {
  test.each(CALLS)('%s %s %j', async (op, model, params) => {
    // The same canned answer for both (a real store would give each call its own ids and requestId).
    const data = op === 'get' ? { record: { _id: 'r1', orderNo: 'EQ000001' } } : op === 'list' ? { records: [], total: 0 } : { count: 1, id: 'r1', idList: ['a', 'b'] };
    const { result, request } = await same((s) => s.models[model]![op]!(params), { body: { data, requestId: `req-${op}` } });
    expect(result).toMatchObject({ answer: { requestId: `req-${op}` } });
    expect(request!.path).toBe(`/v1/model/${params.envType === 'pre' ? 'pre' : 'prod'}/${model}/${op}`);
  });

  test('through the store, against the emulator\'s real answers: the same results', async () => {
    // Sequential emulator requestIds and store ids differ between the two runs; the results agree otherwise.
    const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/"(_id|id)":"[^"]+"/g, '"$1":"<id>"').replace(/emu-\d+/g, 'emu-N'));
    for (const [methodName, params] of [
      ['wedaCreateV2', { data: { orderNo: 'EQS00001', status: 1, amount: 3 } }],
      ['wedaGetItemV2', { filter: { where: { orderNo: { $eq: 'EQS00001' } } }, select: { $master: true } }],
      ['wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: 'EQS00001' }, { key: 'status', rel: 'eq', val: 1 }], record: { status: 2 } }],
      ['wedaGetRecords', { where: [{ key: 'status', rel: 'eq', val: 2 }], pageSize: 5 }],
      ['wedaBatchDeleteV2', { filter: { where: { orderNo: { $eq: 'EQS00001' } } } }],
    ] as const) {
      const a = await outcome(sdk.store.callModel({ name: 'orders', methodName, params }));
      // The first side changed the data; the second makes the same change again from the same state.
      if (methodName === 'wedaBatchUpdate') await emu.backing.callModel({ name: 'orders', methodName: 'wedaBatchUpdateV2', params: { data: { status: 1 }, filter: { where: { orderNo: { $eq: 'EQS00001' } } } }, envType: 'prod' });
      if (methodName === 'wedaCreateV2') await emu.backing.callModel({ name: 'orders', methodName: 'wedaBatchDeleteV2', params: { filter: { where: { orderNo: { $eq: 'EQS00001' } } } }, envType: 'prod' });
      if (methodName === 'wedaBatchDeleteV2') await emu.backing.callModel({ name: 'orders', methodName: 'wedaCreateV2', params: { data: { orderNo: 'EQS00001', status: 2, amount: 3 } }, envType: 'prod' });
      const b = await outcome(ours.store.callModel({ name: 'orders', methodName, params }));
      expect(norm(b)).toEqual(norm(a));
      const [ra, rb] = emu.requests.slice(-2);
      expect(comparable(rb!)).toEqual(comparable(ra!));
    }
  });
});

test('inside a cloud function: the same source, trace and region headers from its environment', async () => {
  const vars = {
    TENCENTCLOUD_RUNENV: 'SCF', SCF_NAMESPACE: ENV, TENCENTCLOUD_REGION: 'ap-guangzhou',
    TCB_CONTEXT_KEYS: 'TCB_ENV,TCB_SEQID,TCB_SOURCE,TCB_TRACELOG', TCB_SOURCE: 'wx_paycallback', TCB_TRACELOG: 'trace-0123', TCB_SEQID: 'seq-1',
  };
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    const { request } = await same((s) => s.models.orders!.list!({}), { body: { data: { records: [] }, requestId: 'req-scf' } });
    const headers = request!.rawHeaders;
    expect(headers[headers.indexOf('X-TCB-Source') + 1]).toBe('wx_paycallback,scf');
    expect(headers[headers.indexOf('X-TCB-Tracelog') + 1]).toBe('trace-0123');
    expect(headers[headers.indexOf('X-TCB-Region') + 1]).toBe('ap-guangzhou');
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

describe('failures: the same error', () => {
  test('a server error (500 with code, message, requestId) and a refusal without a requestId', async () => {
    const canned = { status: 500, body: { code: 'DATABASE_REQUEST_FAILED', message: 'db busy\nsecond line', requestId: 'req-0123abcd' } };
    const { result } = await same((s) => s.models.orders!.updateMany!({ data: { status: 2 }, filter: { where: { orderNo: { $eq: 'X' } } } }), canned);
    expect(result).toMatchObject({ mapped: { code: 'DATABASE_REQUEST_FAILED', requestId: 'req-0123abcd', message: 'where: db busy' } });
    await same((s) => s.store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }), canned);
    await same((s) => s.models.orders!.list!({}), { status: 401, body: { code: 'INVALID_ACCESS_TOKEN', message: 'no' } });
    await same((s) => s.models.orders!.list!({}), { status: 400, body: { code: 123, message: 'numeric code', requestId: 'req-n' } });
  });

  test('a timeout: the same code and message (ESOCKETTIMEDOUT "request timeout" → Timeout)', async () => {
    const slow = sides(emu.serviceUrl, 200);
    const pair = { sdk: slow.sdk, ours: slow.ours };
    const results: unknown[] = [];
    for (const side of [pair.sdk, pair.ours]) {
      emu.answerNext({ delayMs: 2000, body: { data: { records: [] } } });
      results.push(await outcome(side.store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' })));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]).toMatchObject({ error: { code: 'Timeout' } });
    results.length = 0;
    for (const side of [pair.sdk, pair.ours]) {
      emu.answerNext({ delayMs: 2000, body: { data: { records: [] } } });
      results.push(await outcome(side.models.orders!.list!({})));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]).toMatchObject({ error: { origin: { code: 'ESOCKETTIMEDOUT', message: 'request timeout' } }, mapped: { code: 'Timeout' } });
  });

  test('an unreachable gateway: the same code and message (ECONNREFUSED → NetworkError)', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = sides(`127.0.0.1:${port}`, 2000);
    const a = await outcome(dead.sdk.models.orders!.list!({}));
    const b = await outcome(dead.ours.models.orders!.list!({}));
    expect(b).toEqual(a);
    expect(a).toMatchObject({ mapped: { code: 'NetworkError', message: expect.stringMatching(/ECONNREFUSED/) } });
  });

  test.each<[string, CannedAnswer, string]>([
    ['not JSON', { status: 502, raw: '<html>502 Bad Gateway</html>' }, 'list'],
    ['an empty body', { status: 200, raw: '' }, 'list'],
    ['null', { status: 200, raw: 'null' }, 'create'],
    ['get without data', { status: 200, body: { requestId: 'req-nodata' } }, 'get'],
    ['get with data null', { status: 200, body: { data: null, requestId: 'req-null' } }, 'get'],
    ['get with data false', { status: 200, body: { data: false, requestId: 'req-false' } }, 'get'],
    ['a number', { status: 200, raw: '5' }, 'list'],
    ['the wrong shape', { status: 200, body: { data: { changed: 1 }, requestId: 'req-shape' } }, 'updateMany'],
  ])('a bad answer: %s', async (_what, answer, op) => {
    const params: Record<string, unknown> = op === 'updateMany' ? { data: { status: 2 }, filter: { where: { orderNo: { $eq: 'X' } } } } : op === 'create' ? { data: { orderNo: 'X' } } : {};
    await same((s) => s.models.orders![op]!(params), answer);
    const methodName = { list: 'wedaGetRecordsV2', create: 'wedaCreateV2', get: 'wedaGetItemV2', updateMany: 'wedaBatchUpdateV2' }[op]!;
    const storeParams = op === 'get' ? { filter: { where: { orderNo: { $eq: 'X' } } } } : params;
    const { result } = await same((s) => s.store.callModel({ name: 'orders', methodName, params: storeParams }), answer);
    if ((result as { error?: unknown }).error) expect((result as { error: unknown }).error).toMatchObject({ code: expect.any(String) });
  });

  test('every store error above is a WedaModelError', async () => {
    emu.answerNext({ status: 200, raw: '' });
    await expect(ours.store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' })).rejects.toBeInstanceOf(WedaModelError);
  });
});

describe('the function role\'s credentials (no API key): the token exchange, then the models request', () => {
  const ROLE_ENV = {
    TENCENTCLOUD_RUNENV: 'SCF', SCF_NAMESPACE: ENV, TENCENTCLOUD_REGION: 'ap-shanghai',
    TENCENTCLOUD_SECRETID: 'AKIDrole0123456789', TENCENTCLOUD_SECRETKEY: 'role-secret-key-0123456789', TENCENTCLOUD_SESSIONTOKEN: 'session-token-abc',
  };
  let before: Record<string, string | undefined>;
  let unroute: () => void;
  let role: { sdk: Side; ours: Side };
  /** Our side as a new function instance has it: a new client, no token yet. */
  const freshOurs = (): Side => ({ models: createModelsClient({ env: ENV, timeoutMs: 1000 }).models as unknown as Models, store: openCloudbaseStore({ env: ENV, timeoutMs: 1000 }) });
  beforeAll(() => {
    before = Object.fromEntries(Object.keys(ROLE_ENV).map((k) => [k, process.env[k]]));
    Object.assign(process.env, ROLE_ENV);
    unroute = routeGatewayToEmulator(emu.port);
    // No serviceUrl: both go to <env>.api.tcloudbasegateway.com, which routeGatewayToEmulator brings to the emulator.
    const sdkApp = tcb.init({ env: ENV, timeout: 1000 }) as unknown as { models: Models };
    role = {
      sdk: { models: sdkApp.models, store: openCloudbaseStore({ app: sdkApp as unknown as CloudbaseApp }) },
      ours: freshOurs(),
    };
    // A frozen clock: the signature covers the time (X-Client-Timestamp, the TC3 timestamp and date).
    jest.useFakeTimers({ now: Date.now(), doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
  });
  afterAll(() => {
    jest.useRealTimers();
    unroute();
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /**
   * Runs `call` on node-sdk, then on a fresh client of ours (its first call, so it asks for a token as the SDK does),
   * with `answers` canned for each; both must send and answer the same.
   */
  async function sameRole(call: (s: Side) => Promise<unknown>, answers: CannedAnswer[]): Promise<{ result: unknown; requests: RecordedRequest[] }> {
    const results: unknown[] = [];
    const sent: RecordedRequest[][] = [];
    for (const side of [role.sdk, freshOurs()]) {
      for (const a of answers) emu.answerNext(a);
      const n = emu.requests.length;
      results.push(await outcome(call(side)));
      sent.push(emu.requests.slice(n));
    }
    expect(results[1]).toEqual(results[0]);
    expect(sent[1]!.map(comparable)).toEqual(sent[0]!.map(comparable));
    return { result: results[0], requests: sent[0]! };
  }
  const header = (r: RecordedRequest, name: string): string | undefined => r.rawHeaders[r.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name.toLowerCase()) + 1];

  test('a token, then the models request with it: the same two requests, signature included', async () => {
    const { result, requests } = await sameRole((s) => s.models.orders!.list!({ getCount: true, envType: 'pre' }), [
      { body: { access_token: 'token-fixed', token_type: 'Bearer', expires_in: 7200 } },
      { body: { data: { records: [], total: 0 }, requestId: 'req-role' } },
    ]);
    expect(result).toEqual({ answer: { data: { records: [], total: 0 }, requestId: 'req-role' } });
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /auth/v1/token/clientCredential', 'POST /v1/model/pre/orders/list']);
    expect(requests[0]!.text).toBe('{"grant_type":"client_credentials"}');
    expect(header(requests[0]!, 'host')).toBe(`${ENV}.api.tcloudbasegateway.com`);
    expect(header(requests[0]!, 'authorization')).toMatch(/^TC3-HMAC-SHA256 Credential=AKIDrole0123456789\/\d{4}-\d{2}-\d{2}\/tcb\/tc3_request, SignedHeaders=content-type;host;user-agent;x-client-timestamp;x-sdk-version;x-tcb-region;x-tcb-source, Signature=[0-9a-f]{64}, Timestamp=\d+, Token=session-token-abc$/);
    expect(header(requests[1]!, 'authorization')).toBe('Bearer token-fixed');
  });

  test('against the emulator\'s own token exchange, through the store: the same results', async () => {
    const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/emu-\d+/g, 'emu-N'));
    const a = await outcome(role.sdk.store.callModel({ name: 'goods', methodName: 'wedaGetRecordsV2', params: { getCount: true } }));
    const b = await outcome(role.ours.store.callModel({ name: 'goods', methodName: 'wedaGetRecordsV2', params: { getCount: true } }));
    expect(norm(b)).toEqual(norm(a));
    expect(a).toEqual({ answer: { records: [], total: 0 } });
    const [ta, ma, tb, mb] = emu.requests.slice(-4);
    expect(comparable(tb!)).toEqual(comparable(ta!));
    expect(header(mb!, 'authorization')).toMatch(/^Bearer token-\d+$/);
    expect({ ...(comparable(mb!) as object), headers: undefined }).toEqual({ ...(comparable(ma!) as object), headers: undefined });
  });

  test('a token refused: the models request goes signed instead, and its refusal is the same', async () => {
    const { result, requests } = await sameRole((s) => s.models.orders!.updateMany!({ data: { status: 2 }, filter: { where: { orderNo: { $eq: 'X' } } } }), [
      { status: 403, body: { code: 'PERMISSION_DENIED', message: 'role may not', requestId: 'req-tok' } },
      { status: 401, body: { code: 'INVALID_ACCESS_TOKEN', message: 'not a token', requestId: 'req-model' } },
    ]);
    expect(header(requests[1]!, 'authorization')).toMatch(/^TC3-HMAC-SHA256 Credential=AKIDrole0123456789\/.*, Token=session-token-abc$/);
    expect(result).toMatchObject({ mapped: { code: 'INVALID_ACCESS_TOKEN', requestId: 'req-model' } });
  });

  test('with the context\'s source and trace headers signed too; another region', async () => {
    const extra = { TCB_CONTEXT_KEYS: 'TCB_ENV,TCB_SEQID,TCB_SOURCE,TCB_TRACELOG', TCB_SOURCE: 'wx_paycallback,Wx_Client', TCB_TRACELOG: 'Trace-0123 ', TENCENTCLOUD_REGION: 'ap-guangzhou' };
    const saved = Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]]));
    Object.assign(process.env, extra);
    try {
      const { requests } = await sameRole((s) => s.models.refunds!.create!({ data: { refundNo: 'R1', note: 'Ünïcode ✓' }, envType: 'pre' }), [
        { body: { access_token: 'token-fixed' } }, { body: { data: { id: 'x' }, requestId: 'r' } },
      ]);
      expect(header(requests[0]!, 'authorization')).toMatch(/SignedHeaders=content-type;host;user-agent;x-client-timestamp;x-sdk-version;x-tcb-region;x-tcb-source;x-tcb-tracelog,/);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('a refused token, so a signed models request with a body and PUT', async () => {
    await sameRole((s) => s.models.orders!.update!({ data: { status: 2, note: 'a "quoted" Ünïcode ✓' }, filter: { where: { orderNo: { $eq: 'X' } } } }), [
      { body: { code: 'NO_TOKEN', message: 'no' } }, { body: { data: { count: 1 }, requestId: 'r' } },
    ]);
  });

  test('without a session token; a bad token answer; a token that never comes', async () => {
    delete process.env.TENCENTCLOUD_SESSIONTOKEN;
    try {
      const { requests } = await sameRole((s) => s.models.orders!.get!({}), [{ body: { access_token: 't' } }, { body: { data: { record: null }, requestId: 'r' } }]);
      expect(header(requests[0]!, 'authorization')).toMatch(/, Timestamp=\d+$/);
    } finally {
      process.env.TENCENTCLOUD_SESSIONTOKEN = ROLE_ENV.TENCENTCLOUD_SESSIONTOKEN;
    }
    const bad = await sameRole((s) => s.store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }), [{ status: 502, raw: '<html>502</html>' }]);
    expect(bad.result).toMatchObject({ mapped: { code: 'BadResponse' } });
    const empty = await sameRole((s) => s.store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }), [{ status: 200, raw: '' }]);
    expect(empty.result).toMatchObject({ mapped: { code: 'BadResponse' } });
    const late = await sameRole((s) => s.store.callModel({ name: 'orders', methodName: 'wedaGetRecordsV2' }), [{ delayMs: 3000, body: {} }]);
    expect(late.result).toMatchObject({ mapped: { code: 'Timeout' } });
  });

  describe('the token cache (ours only: node-sdk asks for a token before every request)', () => {
    const paths = (rs: RecordedRequest[]): string[] => rs.map((r) => `${r.method} ${r.path}`);
    const TOKEN = 'POST /auth/v1/token/clientCredential';
    /** Runs `call` and answers the requests it sent to the emulator. */
    async function sentBy<T>(call: () => Promise<T>): Promise<{ result: T; requests: RecordedRequest[] }> {
      const n = emu.requests.length;
      const result = await call();
      return { result, requests: emu.requests.slice(n) };
    }
    afterEach(() => jest.setSystemTime(Date.now()));

    test('the emulator answers the token request as CloudBase documents it', async () => {
      const { requests } = await sentBy(() => role.sdk.models.orders!.list!({}));
      const signed = header(requests[0]!, 'authorization')!;
      const answer = await new Promise<unknown>((resolve, reject) => {
        const req = https.request(`https://${ENV}.api.tcloudbasegateway.com/auth/v1/token/clientCredential`, { method: 'POST', headers: { authorization: signed, 'content-type': 'application/json' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
        });
        req.on('error', reject);
        req.end('{"grant_type":"client_credentials"}');
      });
      expect(answer).toEqual({ token_type: 'Bearer', access_token: expect.stringMatching(/^token-\d+$/), expires_in: 432000 });
      expect(TOKEN_LIFETIME_S).toBe(432000);
    });

    test('a second call within the lifetime sends no token request; concurrent first calls share one', async () => {
      const ours = freshOurs();
      const first = await sentBy(() => ours.models.orders!.list!({}));
      expect(paths(first.requests)).toEqual([TOKEN, 'POST /v1/model/prod/orders/list']);
      const token = header(first.requests[1]!, 'authorization');
      const second = await sentBy(() => ours.models.orders!.update!({ data: { status: 2 }, filter: { where: { orderNo: { $eq: 'X' } } } }));
      expect(paths(second.requests)).toEqual(['PUT /v1/model/prod/orders/update']);
      expect(header(second.requests[0]!, 'authorization')).toBe(token);
      // reconcile's first call: three lists at once on a new instance — one token request, not three.
      const store = freshOurs().store;
      const three = await sentBy(() => Promise.all(['orders', 'refunds', 'goods'].map((name) => store.callModel({ name, methodName: 'wedaGetRecordsV2' }))));
      expect(paths(three.requests).filter((p) => p === TOKEN)).toHaveLength(1);
      expect(three.requests).toHaveLength(4);
    });

    test('renewed a safe margin before it expires', async () => {
      const ours = freshOurs();
      const start = Date.now();
      await sentBy(() => ours.models.orders!.list!({}));
      jest.setSystemTime(start + (TOKEN_LIFETIME_S - 301) * 1000);
      expect(paths((await sentBy(() => ours.models.orders!.list!({}))).requests)).toEqual(['POST /v1/model/prod/orders/list']);
      jest.setSystemTime(start + (TOKEN_LIFETIME_S - 299) * 1000);
      const renewed = await sentBy(() => ours.models.orders!.list!({}));
      expect(paths(renewed.requests)).toEqual([TOKEN, 'POST /v1/model/prod/orders/list']);
      expect(renewed.result).toMatchObject({ data: { records: [] } });
    });

    test('an answer without expires_in is not cached: a token per request, as node-sdk', async () => {
      const ours = freshOurs();
      for (let i = 0; i < 2; i++) {
        emu.answerNext({ body: { access_token: `no-lifetime-${i}` } });
        emu.answerNext({ body: { data: { records: [] }, requestId: 'r' } });
        const { requests } = await sentBy(() => ours.models.orders!.list!({}));
        expect(paths(requests)).toEqual([TOKEN, 'POST /v1/model/prod/orders/list']);
        expect(header(requests[1]!, 'authorization')).toBe(`Bearer no-lifetime-${i}`);
      }
    });

    test('never across a change of the role\'s credentials', async () => {
      const ours = freshOurs();
      await sentBy(() => ours.models.orders!.list!({}));
      for (const [name, value] of [['TENCENTCLOUD_SESSIONTOKEN', 'session-token-rotated'], ['TENCENTCLOUD_SECRETID', 'AKIDrole-rotated']] as const) {
        const saved = process.env[name];
        process.env[name] = value;
        try {
          const { requests } = await sentBy(() => ours.models.orders!.list!({}));
          expect(paths(requests)).toEqual([TOKEN, 'POST /v1/model/prod/orders/list']);
          expect(header(requests[0]!, 'authorization')).toContain(name === 'TENCENTCLOUD_SECRETID' ? 'Credential=AKIDrole-rotated/' : 'Token=session-token-rotated');
        } finally {
          process.env[name] = saved;
        }
      }
    });

    test('a reused token refused (401): dropped, and that request sent once more with a new one — a write included', async () => {
      const ours = freshOurs();
      await sentBy(() => ours.models.orders!.list!({}));
      emu.revokeTokens();
      const params = { data: { orderNo: 'RETRY1', status: 1, amount: 1 } };
      const { result, requests } = await sentBy(() => ours.models.orders!.create!(params));
      expect(paths(requests)).toEqual(['POST /v1/model/prod/orders/create', TOKEN, 'POST /v1/model/prod/orders/create']);
      expect(requests[2]!.text).toBe(requests[0]!.text);
      expect(header(requests[2]!, 'authorization')).not.toBe(header(requests[0]!, 'authorization'));
      expect(result).toMatchObject({ data: { id: expect.any(String) } });
      // Once, not more: a second refusal is the caller's error.
      emu.revokeTokens();
      emu.answerNext({ status: 401, body: { code: 'ACCESS_TOKEN_EXPIRED', message: 'expired', requestId: 'r1' } });
      emu.answerNext({ body: { token_type: 'Bearer', access_token: 'token-again', expires_in: TOKEN_LIFETIME_S } });
      emu.answerNext({ status: 401, body: { code: 'ACCESS_TOKEN_EXPIRED', message: 'expired', requestId: 'r2' } });
      const twice = await sentBy(() => outcome(ours.models.orders!.list!({})));
      expect(paths(twice.requests)).toEqual(['POST /v1/model/prod/orders/list', TOKEN, 'POST /v1/model/prod/orders/list']);
      expect(twice.result).toMatchObject({ mapped: { code: 'ACCESS_TOKEN_EXPIRED', requestId: 'r2' } });
    });

    test('no retry of a fresh token\'s refusal, nor of any other refusal of a reused token', async () => {
      const ours = freshOurs();
      emu.answerNext({ body: { token_type: 'Bearer', access_token: 'token-fresh', expires_in: TOKEN_LIFETIME_S } });
      emu.answerNext({ status: 401, body: { code: 'INVALID_ACCESS_TOKEN', message: 'no', requestId: 'r-fresh' } });
      const fresh = await sentBy(() => outcome(ours.models.orders!.list!({})));
      expect(paths(fresh.requests)).toEqual([TOKEN, 'POST /v1/model/prod/orders/list']);
      expect(fresh.result).toMatchObject({ mapped: { code: 'INVALID_ACCESS_TOKEN' } });
      const other = freshOurs();
      await sentBy(() => other.models.orders!.list!({}));
      emu.answerNext({ status: 500, body: { code: 'DATABASE_REQUEST_FAILED', message: 'busy', requestId: 'r-500' } });
      const failed = await sentBy(() => outcome(other.models.orders!.updateMany!({ data: { status: 2 }, filter: { where: { orderNo: { $eq: 'X' } } } })));
      expect(paths(failed.requests)).toEqual(['PUT /v1/model/prod/orders/updateMany']);
      expect(failed.result).toMatchObject({ mapped: { code: 'DATABASE_REQUEST_FAILED' } });
    });
  });
});

test('nothing tried to resolve a host name', () => {
  expect(sdkEnv.lookups).toEqual([]);
});
