/**
 * Payment notifications recorded per second — verify + decrypt + find the order + compare-and-set it paid — by
 * the real pay-notify function over the local SQLite store, beside a hand-written floor doing the same work, in
 * one run, at 1,000 / 10,000 / 100,000 / 1,000,000 orders. Run on demand, never as a timed test:
 *
 *   npx tsc -p bench/tsconfig.json && node .build/bench/callback-throughput.js [--sizes 1000,10000,100000,1000000] [--payments 1000] [--rounds 7]
 *
 * Per size, in a fresh directory, every side holds the same orders (the same records, realistic order numbers:
 * 14 digits of time then 10 random characters, as checkout makes them, so they are inserted roughly in order)
 * and gets the same `--payments` TRANSACTION.SUCCESS notifications (orders picked at random over the whole table,
 * each signed SHA256withRSA with an RSA-2048 platform key and its resource encrypted AEAD_AES_256_GCM, wxpay-v3.md
 * §3–§4), with the body as a Buffer and node:http-style headers.
 *
 *  floor   — node:crypto and better-sqlite3 by hand: one-shot `crypto.verify`, `createDecipheriv('aes-256-gcm')`
 *            with a key made once, two JSON.parse, then two prepared statements on a plain table — `SELECT … WHERE
 *            orderNo = ?`, and `UPDATE … SET status = 2, transactionId, paidAt, openid, updatedAt WHERE orderNo = ?
 *            AND status = 1` — with the amount compared in between. The table has a column per field of the orders
 *            model and the indexes the same definitions give the store (orderNo unique; status, openid, refundNo with
 *            createdAt), and its connection the store's settings (CONNECTION_PRAGMAS): the same table and the same
 *            SQLite, without the store.
 *  real    — the generated pay-notify function as the dev server runs it: `createLocalFunctionHost` (callbacks/
 *            local-host.ts) loads the generated index.js and the callbacks runtime, and each notification is
 *            `invoke('pay-notify', { headers, rawBody })` → the HTTP-trigger event → `v3PayNotify` →
 *            `parseNotification` → `applyPaymentSuccess` → the generated `orders.find` (wedaGetItemV2) and
 *            `orders.update` (wedaBatchUpdate, order number AND status 1) → `callModel` on the SQLite store opened as
 *            the dev server opens it (the generated model definitions, enforced), answered 204. The function logs
 *            as it does in the dev server: each payment's `payment.applied` line is made (JSON, with the function's
 *            name) and handed to the host's log, here a sink that drops it — the dev server's default; `weda-wxpay
 *            start` writes it to stderr, which is the terminal's cost, not the function's.
 *  runtime — the same generated function, its `weda.callModel` answered by the floor's two statements on a copy of
 *            the floor's table: what the callbacks path costs without the store, so that real/runtime is the
 *            store's share and runtime/floor the rest of the path's.
 *
 * Each size runs `--rounds` rounds; in a round every side records every payment, the sides taking turns every
 * SLICE payments (who goes first rotating) so a burst of load from other processes falls on all of them; then all
 * are put back to unpaid and their WAL checkpointed, untimed. Times are wall clock (an update's cost is largely
 * the pages it writes to the WAL and the checkpoints' fsyncs, which are no CPU time of this process) and, beside
 * them, CPU time of this process (which leaves out what other processes take of the two cores, and the disk
 * waits). A ratio is taken per round, then the median over rounds. Prints one JSON line and a human line per
 * size, then a summary. Goal: real/floor ≥ 0.8 at every size, and flat from the smallest size to the largest
 * (the real rate falls no more than the floor's).
 */
import Database from 'better-sqlite3';
import { createDecipheriv, createSecretKey, generateKeyPairSync, KeyObject, randomUUID, verify as rsaVerifyOneShot } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalFunctionHost, type LocalFunctionHost } from '../callbacks/local-host';
import type { ModelDefinition } from '../datasources/definitions';
import { buildModelDefinitions } from '../datasources/models';
import { CONNECTION_PRAGMAS, modelsFile, openSqliteStore, tableLayout } from '../datasources/sqlite-store';
import { createWeda, type ModelStore, type WedaSdk } from '../datasources/weda';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { buildNotification, createNonce, toRfc3339Cst } from '../wxpay';

interface Args { sizes: number[]; payments: number; rounds: number }

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const positive = (name: string, v: string | undefined, dflt: number): number => {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const sizes = (get('sizes') ?? '1000,10000,100000,1000000').split(',').map((s) => positive('sizes', s.trim().replace(/_/g, ''), 0));
  return { sizes, payments: positive('payments', get('payments'), 1000), rounds: positive('rounds', get('rounds'), 7) };
}

const APPID = 'wxd678efh567hg6787';
const MCHID = '1230000109';
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const ORDERS = 'orders';

interface Keys {
  platformPrivate: KeyObject;
  platformPublic: KeyObject;
  serial: string;
  apiV3Key: string;
  merchantPrivatePem: string;
}

function makeKeys(): Keys {
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    platformPrivate: platform.privateKey,
    platformPublic: platform.publicKey,
    serial: 'PUB_KEY_ID_01142321349124100000000000000001',
    apiV3Key: createNonce(32),
    merchantPrivatePem: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Order i: its number (time-ordered, as checkout makes them) and the record checkout would write. */
function orderNo(i: number): string {
  const suffix = (Math.imul(i + 1, 2654435761) >>> 0).toString(36).toUpperCase().padStart(10, '0').slice(-10);
  return `${20240801000000 + i}${suffix}`;
}
function orderRecord(i: number): Record<string, unknown> {
  return { orderNo: orderNo(i), goodsId: `G${String(i % 997).padStart(15, '0')}`, goodsName: '咖啡券', amount: 1 + (i % 50_000), status: 1, openid: OPENID, attach: `uid=${i % 10_007}` };
}

interface Message { headers: Record<string, string>; body: Buffer }

function notification(keys: Keys, i: number): Message {
  const rec = orderRecord(i);
  const n = buildNotification({
    eventType: 'TRANSACTION.SUCCESS',
    resource: {
      appid: APPID, mchid: MCHID, out_trade_no: rec.orderNo, transaction_id: `4200000${String(1_000_000_000 + i)}${String(i % 1e6).padStart(6, '0')}`,
      trade_type: 'JSAPI', trade_state: 'SUCCESS', trade_state_desc: '支付成功', bank_type: 'OTHERS', attach: rec.attach,
      success_time: toRfc3339Cst(Date.now()), payer: { openid: OPENID },
      amount: { total: rec.amount, payer_total: rec.amount, currency: 'CNY', payer_currency: 'CNY' },
    },
    apiV3Key: keys.apiV3Key, signingKey: keys.platformPrivate, serial: keys.serial, createTime: toRfc3339Cst(Date.now()), id: randomUUID(),
  });
  // What node:http hands a handler: lower-case names, the signed ones among the usual others.
  const headers: Record<string, string> = {
    host: '127.0.0.1', 'user-agent': 'Mozilla/4.0', 'content-type': n.headers['Content-Type'], 'content-length': String(Buffer.byteLength(n.body)),
    'wechatpay-nonce': n.headers['Wechatpay-Nonce'], 'wechatpay-serial': n.headers['Wechatpay-Serial'], 'wechatpay-signature': n.headers['Wechatpay-Signature'],
    'wechatpay-signature-type': n.headers['Wechatpay-Signature-Type'], 'wechatpay-timestamp': n.headers['Wechatpay-Timestamp'],
  };
  return { headers, body: Buffer.from(n.body, 'utf8') };
}

/** Records one payment; resolves once it is recorded (an error if it was not). */
type Side = (m: Message) => Promise<void>;

/** The floor's table: a column per field of the orders definition, and the indexes the same definition gives the store. */
function floorSchema(def: ModelDefinition): { columns: string[]; ddl: string } {
  const columns = Object.keys(def.properties);
  const ddl = [`CREATE TABLE orders (id INTEGER PRIMARY KEY, ${columns.map((c) => `"${c}"`).join(', ')}, createdAt INTEGER NOT NULL, updatedAt INTEGER NOT NULL)`];
  for (const [field, fd] of Object.entries(def.properties)) {
    if (fd['x-unique'] === true) ddl.push(`CREATE UNIQUE INDEX ux_${field} ON orders ("${field}")`);
    else if (fd['x-index'] === true) ddl.push(`CREATE INDEX ix_${field} ON orders ("${field}", ${fd['x-index-ties'] === '_id' ? 'id' : 'createdAt'})`);
  }
  return { columns, ddl: ddl.join(';\n') };
}

function openFloor(file: string, def: ModelDefinition): Database.Database {
  const db = new Database(file);
  for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
  db.exec(floorSchema(def).ddl);
  return db;
}

/** node:crypto + two prepared statements: the least the same work can be. */
function floorSide(db: Database.Database, keys: Keys): Side {
  const aesKey = createSecretKey(Buffer.from(keys.apiV3Key, 'utf8'));
  const newline = Buffer.from('\n');
  const select = db.prepare('SELECT amount, status FROM orders WHERE orderNo = ?');
  const update = db.prepare('UPDATE orders SET status = 2, transactionId = ?, paidAt = ?, openid = ?, updatedAt = ? WHERE orderNo = ? AND status = 1');
  return async (m) => {
    const h = m.headers;
    const message = Buffer.concat([Buffer.from(`${h['wechatpay-timestamp']}\n${h['wechatpay-nonce']}\n`, 'utf8'), m.body, newline]);
    if (!rsaVerifyOneShot('sha256', message, keys.platformPublic, Buffer.from(h['wechatpay-signature']!, 'base64'))) throw new Error('floor: signature does not verify');
    const r = JSON.parse(m.body.toString('utf8')).resource;
    const data = Buffer.from(r.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(r.nonce, 'utf8'), { authTagLength: 16 });
    decipher.setAuthTag(data.subarray(data.length - 16));
    decipher.setAAD(Buffer.from(r.associated_data, 'utf8'));
    const tx = JSON.parse(Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8'));
    const order = select.get(tx.out_trade_no) as { amount: number; status: number } | undefined;
    if (!order || order.amount !== tx.amount.total || order.status !== 1) throw new Error(`floor: order ${tx.out_trade_no} not payable`);
    if (update.run(tx.transaction_id, Date.parse(tx.success_time), tx.payer.openid, Date.now(), tx.out_trade_no).changes !== 1) throw new Error('floor: lost the compare-and-set');
  };
}

/**
 * `weda.callModel` for the generated function, answered by the floor's statements: the order by number, and the
 * compare-and-set with the fields the function writes (checked, so the two stay the same work).
 */
function handWrittenWeda(db: Database.Database): WedaSdk {
  const select = db.prepare('SELECT * FROM orders WHERE orderNo = ?');
  const update = db.prepare('UPDATE orders SET status = ?, transactionId = ?, paidAt = ?, openid = ?, updatedAt = ? WHERE orderNo = ? AND status = ?');
  return {
    async callModel({ methodName, params }) {
      const p = params as any;
      if (methodName === 'wedaGetItemV2') return select.get(p.filter.where.orderNo.$eq) ?? {};
      if (methodName !== 'wedaBatchUpdate') throw new Error(`runtime side: ${methodName} is not one of the two statements`);
      const { status, transactionId, paidAt, openid, ...rest } = p.record;
      if (Object.keys(rest).length || p.where[0].key !== 'orderNo' || p.where[1].key !== 'status') throw new Error(`runtime side: unexpected update ${JSON.stringify(p)}`);
      return { updated: update.run(status, transactionId, paidAt, openid ?? null, Date.now(), p.where[0].val, p.where[1].val).changes };
    },
  };
}

/** The generated pay-notify function, run as the dev server runs it. */
function functionSide(host: LocalFunctionHost): Side {
  return async (m) => {
    const answer = await host.invoke('pay-notify', { headers: m.headers, rawBody: m.body });
    if (answer.status !== 204) throw new Error(`pay-notify answered ${answer.status} ${JSON.stringify(answer.body)}`);
  };
}

/** Payments each side records before the next takes its turn. */
const SLICE = 50;

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** `count` distinct order indexes spread at random over [0, size). */
function pickTargets(size: number, count: number): number[] {
  const n = Math.min(size, count);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(Math.random() * size));
  return [...picked];
}

const SIDES = ['floor', 'runtime', 'real'] as const;
type SideName = (typeof SIDES)[number];

interface Rate { perSec: number; microsPerPayment: number; cpuMicrosPerPayment: number }

interface SizeResult {
  size: number;
  payments: number;
  populateSeconds: { store: number; floor: number };
  floor: Rate;
  runtime: Rate;
  real: Rate;
  /** Median over rounds of floor time / real time, wall clock: the goal. */
  realOverFloor: number;
  /** The same on CPU time of this process. */
  realOverFloorCpu: number;
  /** The store's share: runtime time / real time (wall, CPU). */
  realOverRuntime: number;
  realOverRuntimeCpu: number;
  /** The rest of the callbacks path: floor time / runtime time (wall, CPU). */
  runtimeOverFloor: number;
  runtimeOverFloorCpu: number;
}

async function runSize(size: number, args: Args, keys: Keys): Promise<SizeResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-bench-callback-'));
  let store: ModelStore | undefined;
  const dbs: Database.Database[] = [];
  try {
    // The real side: the store as the dev server opens it, and the generated functions as it runs them.
    const dataDir = path.join(dir, 'models');
    const definitions = buildModelDefinitions();
    store = openSqliteStore({ dataDir, models: definitions });
    const privateKeyPath = path.join(dir, 'apiclient_key.pem');
    const platformKeyPath = path.join(dir, 'pub_key.pem');
    writeFileSync(privateKeyPath, keys.merchantPrivatePem);
    writeFileSync(platformKeyPath, keys.platformPublic.export({ type: 'spki', format: 'pem' }).toString());
    const config = {
      provider: 'v3', appid: APPID, mchid: MCHID, envType: 'pre',
      v3: { merchantSerialNo: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1', privateKeyPath, apiV3Key: keys.apiV3Key, platformKeys: [{ id: keys.serial, path: platformKeyPath }], notifyUrl: 'https://example.com/pay-notify' },
    } as WedaWxpayConfig;
    const host = (weda: WedaSdk): LocalFunctionHost => createLocalFunctionHost({ config, baseDir: dir, weda, log: () => undefined });

    // Every side holds the same orders, written in one transaction by a prepared insert. The store's rows go
    // straight into its table, in its layout (tableLayout: the mirror columns hold json_extract of the data, as
    // the store's own insert writes them) — several times faster than a million records through callModel; the
    // first call has the store create the table and its indexes. Set-up only: nothing to keep safe, so no syncs.
    let t0 = performance.now();
    await store.callModel({ name: ORDERS, methodName: 'wedaGetRecordsV2', params: { pageSize: 1 }, envType: 'pre' });
    const layout = tableLayout(ORDERS, definitions[ORDERS]!);
    const direct = new Database(modelsFile(dataDir, 'pre'));
    for (const pragma of [...CONNECTION_PRAGMAS, 'synchronous = OFF']) direct.pragma(pragma);
    const mirrors = [...layout.columns];
    const insertRow = direct.prepare(`INSERT INTO "${layout.table}" (_id, data, createdAt, updatedAt${mirrors.map(([, c]) => `, "${c}"`).join('')}) VALUES (?, ?, ?, ?${mirrors.map(() => ', json_extract(?, ?)').join('')})`);
    direct.transaction(() => {
      const t = Date.now();
      for (let i = 0; i < size; i++) {
        const data = JSON.stringify(orderRecord(i));
        insertRow.run(`B${String(i).padStart(15, '0')}`, data, t, t, ...mirrors.flatMap(([field]) => [data, `$.${field}`]));
      }
    })();
    direct.pragma('wal_checkpoint(TRUNCATE)');
    direct.close();
    const populateStore = (performance.now() - t0) / 1000;

    t0 = performance.now();
    const floorFile = path.join(dir, 'floor.sqlite');
    const floorDb = openFloor(floorFile, definitions[ORDERS]!);
    const { columns } = floorSchema(definitions[ORDERS]!);
    const insert = floorDb.prepare(`INSERT INTO orders (${columns.map((c) => `"${c}"`).join(', ')}, createdAt, updatedAt) VALUES (${columns.map((c) => `@${c}`).join(', ')}, @t, @t)`);
    const blank = Object.fromEntries(columns.map((c) => [c, null]));
    floorDb.pragma('synchronous = OFF');
    floorDb.transaction(() => {
      const t = Date.now();
      for (let i = 0; i < size; i++) insert.run({ ...blank, ...orderRecord(i), t });
    })();
    floorDb.pragma('wal_checkpoint(TRUNCATE)');
    floorDb.close();
    const populateFloor = (performance.now() - t0) / 1000;
    // The runtime side's table: a copy of the floor's.
    copyFileSync(floorFile, path.join(dir, 'runtime.sqlite'));
    const [floorTable, runtimeTable] = ['floor.sqlite', 'runtime.sqlite'].map((f) => {
      const db = new Database(path.join(dir, f));
      for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);
      dbs.push(db);
      return db;
    }) as [Database.Database, Database.Database];

    const targets = pickTargets(size, args.payments);
    const targetNos = targets.map(orderNo);
    // Signed now: the function refuses notifications more than 300 s old (wxpay-v3.md §3).
    const messages = targets.map((i) => notification(keys, i));
    const sides: Record<SideName, Side> = {
      floor: floorSide(floorTable, keys),
      runtime: functionSide(host(handWrittenWeda(runtimeTable))),
      real: functionSide(host(createWeda({ store }))),
    };
    const storeFile = new Database(modelsFile(dataDir, 'pre'));
    dbs.push(storeFile);
    const paid: Record<SideName, () => Promise<number>> = {
      floor: async () => floorTable.prepare('SELECT count(*) FROM orders WHERE status = 2').pluck().get() as number,
      runtime: async () => runtimeTable.prepare('SELECT count(*) FROM orders WHERE status = 2').pluck().get() as number,
      real: async () => (await store!.callModel({ name: ORDERS, methodName: 'wedaGetRecordsV2', params: { filter: { where: { status: 2 } }, getCount: true, pageSize: 1 }, envType: 'pre' })).total,
    };
    /** Untimed, between rounds: every target unpaid again, every WAL checkpointed. */
    const reset = async (): Promise<void> => {
      for (const db of [floorTable, runtimeTable]) {
        const unpay = db.prepare('UPDATE orders SET status = 1 WHERE orderNo = ?');
        db.transaction(() => { for (const no of targetNos) unpay.run(no); })();
      }
      await store!.callModel({ name: ORDERS, methodName: 'wedaBatchUpdateV2', params: { filter: { where: { orderNo: { $in: targetNos } } }, data: { status: 1 } }, envType: 'pre' });
      for (const db of [floorTable, runtimeTable, storeFile]) db.pragma('wal_checkpoint(TRUNCATE)');
    };

    await reset();
    // Warm-up: every payment once on each side (the JIT settles; the first write to each order's page splits it,
    // a full page getting the row the payment grows), then the timed rounds.
    for (const name of SIDES) for (const m of messages) await sides[name](m);
    await reset();
    const wall: Array<Record<SideName, number>> = [];
    const cpu: Array<Record<SideName, number>> = [];
    for (let r = 0; r < args.rounds; r++) {
      const w = { floor: 0, runtime: 0, real: 0 };
      const c = { floor: 0, runtime: 0, real: 0 };
      for (let from = 0, turn = r; from < messages.length; from += SLICE, turn++) {
        const slice = messages.slice(from, from + SLICE);
        for (let k = 0; k < SIDES.length; k++) {
          const name = SIDES[(turn + k) % SIDES.length]!;
          const start = performance.now();
          const cpuStart = process.cpuUsage();
          for (const m of slice) await sides[name](m);
          w[name] += performance.now() - start;
          const used = process.cpuUsage(cpuStart);
          c[name] += (used.user + used.system) / 1000;
        }
      }
      for (const name of SIDES) {
        const n = await paid[name]();
        if (n !== messages.length) throw new Error(`round ${r}: ${name} paid ${n} orders, not ${messages.length}`);
      }
      wall.push(w);
      cpu.push(c);
      await reset();
    }

    const rate = (name: SideName): Rate => {
      const ms = median(wall.map((t) => t[name]));
      return {
        perSec: round((messages.length * 1000) / ms),
        microsPerPayment: round((ms * 1000) / messages.length),
        cpuMicrosPerPayment: round((median(cpu.map((t) => t[name])) * 1000) / messages.length),
      };
    };
    const ratio = (times: Array<Record<SideName, number>>, a: SideName, b: SideName): number => round(median(times.map((t) => t[b] / t[a])), 3);
    return {
      size,
      payments: messages.length,
      populateSeconds: { store: round(populateStore, 2), floor: round(populateFloor, 2) },
      floor: rate('floor'),
      runtime: rate('runtime'),
      real: rate('real'),
      realOverFloor: ratio(wall, 'real', 'floor'),
      realOverFloorCpu: ratio(cpu, 'real', 'floor'),
      realOverRuntime: ratio(wall, 'real', 'runtime'),
      realOverRuntimeCpu: ratio(cpu, 'real', 'runtime'),
      runtimeOverFloor: ratio(wall, 'runtime', 'floor'),
      runtimeOverFloorCpu: ratio(cpu, 'runtime', 'floor'),
    };
  } finally {
    await store?.close();
    for (const db of dbs) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const GOAL = 0.8;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const keys = makeKeys();
  const results: SizeResult[] = [];
  for (const size of args.sizes) {
    const r = await runSize(size, args, keys);
    results.push(r);
    process.stdout.write(`${JSON.stringify({ bench: 'callback-throughput', node: process.version, cpus: os.cpus().length, rounds: args.rounds, ...r, goal: GOAL, meetsGoal: r.realOverFloor >= GOAL })}\n`);
    process.stdout.write(`${size.toLocaleString('en')} orders: pay-notify over the store ${r.real.perSec}/s (${r.real.microsPerPayment} µs, CPU ${r.real.cpuMicrosPerPayment} µs), `
      + `floor ${r.floor.perSec}/s (${r.floor.microsPerPayment} µs, CPU ${r.floor.cpuMicrosPerPayment} µs) → real/floor ${r.realOverFloor} (goal ≥ ${GOAL}: ${r.realOverFloor >= GOAL ? 'met' : 'NOT met'}; CPU ${r.realOverFloorCpu}); `
      + `the store's share real/runtime ${r.realOverRuntime} (CPU ${r.realOverRuntimeCpu}), the rest of the path runtime/floor ${r.runtimeOverFloor} (CPU ${r.runtimeOverFloorCpu}); `
      + `populated in ${r.populateSeconds.store} s (store) / ${r.populateSeconds.floor} s (floor)\n`);
  }
  if (results.length > 1) {
    const first = results[0]!;
    const last = results[results.length - 1]!;
    const realKept = last.real.perSec / first.real.perSec;
    const floorKept = last.floor.perSec / first.floor.perSec;
    const flat = realKept >= GOAL * floorKept;
    const everySize = results.every((r) => r.realOverFloor >= GOAL);
    process.stdout.write(`${JSON.stringify({ bench: 'callback-throughput', summary: true, sizes: results.map((r) => r.size), realOverFloor: results.map((r) => r.realOverFloor), realKept: round(realKept, 3), floorKept: round(floorKept, 3), flat, meetsGoal: everySize && flat })}\n`);
    process.stdout.write(`from ${first.size.toLocaleString('en')} to ${last.size.toLocaleString('en')} orders the real rate keeps ${round(realKept * 100)} % (the floor ${round(floorKept * 100)} %): ${flat ? 'flat' : 'NOT flat'}; real/floor ≥ ${GOAL} at every size: ${everySize ? 'met' : 'NOT met'}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
