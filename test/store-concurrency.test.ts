/**
 * Several processes share the SQLite model files (WAL + busy_timeout), as cloud-function bundles in child
 * processes will: compare-and-set updates through `wedaBatchUpdate` never double-apply or get lost.
 * The store is bundled with esbuild (no ts-jest in the children) and each child waits at a barrier so the
 * updates really race. The parent defines the model; the children, opening the same directory without
 * definitions, enforce the ones it saved there.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import type { ModelDefinition } from '../datasources/definitions';
import { openSqliteStore } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';

const ROOT = resolve(__dirname, '..');
let dir: string;
let bundle: string;
let store: ModelStore;
const MODELS: Record<string, ModelDefinition> = {
  orders: { properties: { orderNo: { type: 'string', 'x-unique': true }, status: { type: 'number' }, winner: { type: 'string' }, n: { type: 'number' } }, required: ['orderNo'] },
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'weda-store-conc-'));
  bundle = join(dir, 'store.js');
  buildSync({
    entryPoints: [join(ROOT, 'datasources/sqlite-store.ts')],
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: bundle,
    external: ['better-sqlite3'], logLevel: 'silent',
  });
  store = openSqliteStore({ dataDir: join(dir, 'data'), models: MODELS });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Child: opens its own store, prints "ready", waits for a line on stdin, then runs the job and prints
 * one JSON result line.
 *  - cas: `attempts` times wedaBatchUpdate(where orderNo = key AND status = 1 → status 2, winner = tag)
 *  - inc: `attempts` increments of `n` by read + compare-and-set, retrying on a lost race
 */
const CHILD = `
const { openSqliteStore } = require(process.env.BUNDLE);
const store = openSqliteStore({ dataDir: process.env.DATA_DIR });
const [job, key, attempts, tag] = [process.env.JOB, process.env.KEY, Number(process.env.ATTEMPTS), process.env.TAG];
const call = (methodName, params) => store.callModel({ name: 'orders', methodName, params, envType: 'prod' });
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  const out = { updated: [], conflicts: 0 };
  try {
    for (let i = 0; i < attempts; i++) {
      if (job === 'cas') {
        const where = [{ key: 'orderNo', rel: 'eq', val: key }, { key: 'status', rel: 'eq', val: 1 }];
        out.updated.push((await call('wedaBatchUpdate', { where, record: { status: 2, winner: tag + '-' + i } })).updated);
      } else {
        for (;;) {
          const cur = await call('wedaGetItem', { where: [{ key: 'orderNo', rel: 'eq', val: key }] });
          const r = await call('wedaBatchUpdate', { where: [{ key: 'orderNo', rel: 'eq', val: key }, { key: 'n', rel: 'eq', val: cur.n }], record: { n: cur.n + 1 } });
          if (r.updated === 1) { out.updated.push(1); break; }
          out.conflicts++;
        }
      }
    }
  } catch (e) { out.error = e.code + ': ' + e.message; }
  store.close();
  process.stdout.write(JSON.stringify(out) + '\\n');
});
`;

interface ChildResult {
  updated: number[];
  conflicts: number;
  error?: string;
}

function startChild(env: Record<string, string>): { proc: ChildProcessWithoutNullStreams; ready: Promise<void>; result: Promise<ChildResult> } {
  const proc = spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), BUNDLE: bundle, DATA_DIR: join(dir, 'data'), ...env },
  });
  let out = '';
  let err = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stderr.on('data', (d) => (err += d));
  proc.stdout.on('data', (d) => {
    out += d;
    if (out.startsWith('ready\n')) onReady();
  });
  const result = new Promise<ChildResult>((res, rej) => {
    proc.on('close', (code) => {
      const line = out.split('\n').filter(Boolean).pop() ?? '';
      try {
        res(JSON.parse(line) as ChildResult);
      } catch {
        rej(new Error(`child exited ${code}: ${err || out}`));
      }
    });
  });
  return { proc, ready, result };
}

async function race(n: number, env: (i: number) => Record<string, string>): Promise<ChildResult[]> {
  const children = Array.from({ length: n }, (_, i) => startChild(env(i)));
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin.end('go\n'); // the barrier: all start together
  return Promise.all(children.map((c) => c.result));
}

const get = (orderNo: string) => store.callModel({ name: 'orders', methodName: 'wedaGetItem', params: { where: [{ key: 'orderNo', rel: 'eq', val: orderNo }] } });

test('4 processes racing 20 compare-and-set updates on one row: exactly one wins', async () => {
  await store.callModel({ name: 'orders', methodName: 'wedaCreate', params: { orderNo: 'CONC-CAS', status: 1 } });
  const results = await race(4, (i) => ({ JOB: 'cas', KEY: 'CONC-CAS', ATTEMPTS: '5', TAG: `p${i}` }));
  expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined]);
  const all = results.flatMap((r, i) => r.updated.map((u, j) => ({ u, tag: `p${i}-${j}` })));
  expect(all).toHaveLength(20);
  const winners = all.filter((x) => x.u === 1);
  expect(winners).toHaveLength(1);
  expect(all.every((x) => x.u === 0 || x.u === 1)).toBe(true);
  const row = await get('CONC-CAS');
  expect(row).toMatchObject({ status: 2, winner: winners[0]!.tag });
});

test('2 processes × 25 read-then-CAS increments: no lost update', async () => {
  await store.callModel({ name: 'orders', methodName: 'wedaCreate', params: { orderNo: 'CONC-INC', n: 0 } });
  const results = await race(2, () => ({ JOB: 'inc', KEY: 'CONC-INC', ATTEMPTS: '25', TAG: '' }));
  expect(results.map((r) => r.error)).toEqual([undefined, undefined]);
  expect(results.map((r) => r.updated.length)).toEqual([25, 25]);
  expect((await get('CONC-INC')).n).toBe(50);
});
