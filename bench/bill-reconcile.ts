/**
 * The day's bill against the orders at a million rows: parse + reconcile time and peak memory, and the parser beside
 * wechatpay-axios-plugin's `Formatter.castCsvBill` on the same file, in one run. On demand, never a timed test:
 *
 *   npx tsc -p bench/tsconfig.json && node .build/bench/bill-reconcile.js [--rows 1000000] [--peer-rows N] [--keep 1]
 *
 * Setup (timed, not part of the result): `--rows` payments of one day written into a sandbox's state
 * (test/helpers/sandbox-trades.ts: one transaction, prepared statements); the sandbox writes that day's ALL bill
 * (page by page from SQLite, sandbox/domain/bills.ts) and it is downloaded through the signed v3 API to a file; the
 * same orders written into the project's SQLite model store files (`m_orders` of models-prod.sqlite, created by the
 * store with its indexes; one transaction, prepared statements), with a few differences planted every 100,000
 * orders — one unpaid here (a lost callback), one of another amount, one the models never had — and 10 orders paid
 * here that the bill lacks.
 *
 * Measured, each in a child process of its own so its peak RSS (VmHWM: its own memory's high-water
 * mark, not the parent's carried over) is its own:
 * - reconcile: the file streamed (SHA-1 checked as it goes) through `reconcileBill` against the store, read by
 *   `weda.callModel` as the reconcile function reads it — parse + reconcile, the goal ≤ 3 s and ≤ 150 MB;
 * - parse: the file through the stream parser alone;
 * - peer: `Formatter.castCsvBill` on the same file, read into memory first (not timed): ~50 s and ~3 GB for a
 *   million rows. `--peer-rows N` runs it on the first N rows instead, for a quicker run, extrapolated linearly to
 *   `--rows` — said so in the output; our parser on the same input is timed too, for a ratio on equal input. Goal:
 *   parse ≥ 10× faster than the peer.
 * Prints one JSON line, then a human summary. `--keep 1` leaves the bill and the stores in the temp folder it names.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { buildAuthorization, toChinaDate } from '../wxpay';
import { startSandbox } from '../sandbox';
import { buildModelDefinitions } from '../datasources/models';
import { openSqliteStore, tableLayout } from '../datasources/sqlite-store';
import { createWeda } from '../datasources/weda';
import { insertDayOfTrades } from '../test/helpers/sandbox-trades';
import { positiveArgs } from './lib/args';

const orderNo = (i: number) => `DAY${String(i).padStart(12, '0')}`;
const amount = (i: number) => 1 + ((i * 7919) % 100_000);
const GOAL = { reconcileSeconds: 3, reconcileMB: 150, parseRatio: 10 };

interface ChildResult { seconds: number; cpuSeconds: number; maxRssMB: number; [k: string]: unknown }

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The prefix the peer is run on when the whole bill is more than it can hold here. */
const PEER_FALLBACK_ROWS = 100_000;

/** Runs lib/bill-child.js `<what>` in a process of its own (loading only what that part needs); answers its JSON line. */
function child(what: string, args: string[]): ChildResult {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'lib', 'bill-child.js'), what, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${what} failed (${run.signal ?? `exit ${run.status}`}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildResult;
}

/** The bill's first `rows` data rows with its header and summary lines (what castCsvBill expects around them). */
function prefixOf(file: string, rows: number, to: string): void {
  const text = readFileSync(file);
  let at = 0;
  for (let line = 0; line < rows + 1; line++) at = text.indexOf(10, at) + 1;
  const tail = text.subarray(text.lastIndexOf('总交易单数'));
  writeFileSync(to, Buffer.concat([text.subarray(0, at), tail]));
}

async function main(): Promise<void> {
  const a = positiveArgs(process.argv.slice(2), { rows: 1_000_000, 'peer-rows': Number.MAX_SAFE_INTEGER, keep: 0 });
  const rows = Math.round(a.rows);
  let peerRows = Math.min(Math.round(a['peer-rows']), rows);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-bill-'));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    // 1. A day of `rows` payments in a sandbox, its bill downloaded.
    let t = performance.now();
    const sandboxDir = path.join(dir, 'sandbox');
    const sandbox = await startSandbox({ dataDir: sandboxDir, refundSettleSeconds: null });
    const day = toChinaDate(Date.now() - 2 * 86_400_000);
    insertDayOfTrades(sandboxDir, { mchid: sandbox.info.merchant.mchid, appid: sandbox.info.merchant.appid, day, payments: rows, orderNo, amount });
    const insertSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const signer = { mchid: sandbox.info.merchant.mchid, serialNo: sandbox.info.merchant.serialNo, privateKey: readFileSync(sandbox.info.merchant.privateKeyPath, 'utf8') };
    const signed = (url: URL) => ({ Authorization: buildAuthorization(signer, { method: 'GET', url: `${url.pathname}${url.search}` }) });
    const tradebillUrl = new URL(`${sandbox.info.baseUrl}/v3/bill/tradebill?bill_date=${day}`);
    const tradebill = await fetch(tradebillUrl, { headers: signed(tradebillUrl) });
    const { hash_value: sha1, download_url: downloadUrl } = (await tradebill.json()) as { hash_value: string; download_url: string };
    const sandboxSeconds = (performance.now() - t) / 1000;
    const file = path.join(dir, 'bill.ALL.csv');
    const dl = await fetch(downloadUrl, { headers: signed(new URL(downloadUrl)) });
    await pipeline(dl.body as unknown as NodeJS.ReadableStream, createWriteStream(file));
    await sandbox.close();
    const hash = createHash('sha1');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const fileHash = hash.digest('hex');
    if (fileHash !== sha1) throw new Error('the downloaded bill does not match its hash_value');
    log(`setup: ${rows} payments into the sandbox in ${round(insertSeconds, 1)} s; the sandbox wrote the bill in ${round(sandboxSeconds, 1)} s`);

    // 2. The same orders in the model store, with planted differences.
    t = performance.now();
    const storeDir = path.join(dir, 'models');
    const definitions = buildModelDefinitions();
    const store = openSqliteStore({ dataDir: storeDir, models: definitions });
    await createWeda({ store }).callModel({ name: 'orders', methodName: 'wedaGetRecordsV2', params: { pageSize: 1 }, envType: 'prod' });
    await createWeda({ store }).callModel({ name: 'refunds', methodName: 'wedaGetRecordsV2', params: { pageSize: 1 }, envType: 'prod' });
    await store.close();
    const db = new Database(path.join(storeDir, 'models-prod.sqlite'));
    db.pragma('journal_mode = WAL');
    // The store's own layout: each mirror column (the indexed fields', and the required amount's) holds json_extract
    // of the data, so the lookups by order number, the paidAt range and the amounts read find what they would in a
    // store the orders were written to by callModel.
    const { columns } = tableLayout('orders', definitions.orders!);
    const mirrors = [...columns].map(([field, column]) => ({ column: `"${column}"`, value: `json_extract(@data, '$.${field}')` }));
    const insert = db.prepare(`INSERT INTO m_orders (_id, data, createdAt, updatedAt${mirrors.map((m) => `, ${m.column}`).join('')}) VALUES (@id, @data, @createdAt, @updatedAt${mirrors.map((m) => `, ${m.value}`).join('')})`);
    const start = Date.parse(`${day}T00:00:00+08:00`);
    db.transaction(() => {
      for (let i = 0; i < rows + 10; i++) {
        const extra = i >= rows; // paid here, not in the bill
        if (!extra && i % 100_000 === 3) continue; // in the bill, never here
        const paidAt = extra ? start + 3_600_000 : Math.floor((start + Math.floor((i * 86_000_000) / rows)) / 1000) * 1000;
        const lost = !extra && i % 100_000 === 1; // its payment callback never came: unpaid here
        const record = {
          orderNo: extra ? `XTRA${String(i).padStart(8, '0')}` : orderNo(i), amount: amount(i) + (!extra && i % 100_000 === 2 ? 1 : 0),
          status: lost ? 1 : 2, goodsId: 'GOODS0000000001', goodsName: '咖啡券', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
          transactionId: `4200${String(i).padStart(24, '0')}`, ...(lost ? {} : { paidAt }),
        };
        insert.run({ id: `ID${String(i).padStart(14, '0')}`, data: JSON.stringify(record), createdAt: paidAt - 60_000, updatedAt: paidAt });
      }
    })();
    db.close();
    log(`setup: ${rows + 10} orders into the model store in ${round((performance.now() - t) / 1000, 1)} s`);

    // 3. Measured, each alone.
    const reconcile = child('reconcile', ['--file', file, '--store', storeDir, '--date', day, '--sha1', sha1]);
    const parse = child('parse', ['--file', file]);
    // The peer holds the whole bill several times over (~3 GB a million rows): where that is more than the machine
    // has, its process dies, and it is run again on a 100,000-row prefix and extrapolated (said in the output).
    let prefix = file;
    const onPrefix = (n: number): string => {
      const to = path.join(dir, `bill.prefix-${n}.csv`);
      prefixOf(file, n, to);
      return to;
    };
    if (peerRows < rows) prefix = onPrefix(peerRows);
    let peer: ChildResult;
    try {
      peer = child('peer', ['--file', prefix]);
    } catch (err) {
      if (peerRows <= PEER_FALLBACK_ROWS) throw err;
      log(`the peer failed on ${peerRows} rows (${(err as Error).message.split('\n')[0]}); running it on the first ${PEER_FALLBACK_ROWS}`);
      peerRows = PEER_FALLBACK_ROWS;
      prefix = onPrefix(peerRows);
      peer = child('peer', ['--file', prefix]);
    }
    const oursPrefix = child('ours-prefix', ['--file', prefix]);
    const peerSeconds = peer.seconds * (rows / peerRows);
    const result = {
      rows,
      billMB: round(readFileSync(file).length / 2 ** 20, 1),
      reconcile: { seconds: round(reconcile.seconds), cpuSeconds: reconcile.cpuSeconds, maxRssMB: reconcile.maxRssMB, counts: reconcile.counts, matched: reconcile.matched },
      parse: { seconds: round(parse.seconds), cpuSeconds: parse.cpuSeconds, maxRssMB: parse.maxRssMB },
      peer: { rowsRun: peerRows, seconds: round(peer.seconds), maxRssMB: peer.maxRssMB, extrapolatedSeconds: round(peerSeconds, 1), extrapolated: peerRows < rows },
      oursOnPeerPrefix: { seconds: round(oursPrefix.seconds, 3) },
      ratio: { parseVsPeer: round(peerSeconds / parse.seconds, 1), onPrefix: round(peer.seconds / oursPrefix.seconds, 1) },
      goal: GOAL,
      meetsGoal: {
        reconcileSeconds: reconcile.seconds <= GOAL.reconcileSeconds,
        reconcileMB: reconcile.maxRssMB <= GOAL.reconcileMB,
        parseRatio: peerSeconds / parse.seconds >= GOAL.parseRatio,
      },
      machine: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((l) => round(l, 1)) },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.stdout.write([
      `bill of ${rows} rows (${result.billMB} MB), Node ${result.machine.node}, ${result.machine.cpus} CPUs, load average ${result.machine.loadavg.join(' ')}:`,
      `  parse + reconcile ${result.reconcile.seconds} s (CPU ${result.reconcile.cpuSeconds} s), peak RSS ${result.reconcile.maxRssMB} MB (goal ≤ ${GOAL.reconcileSeconds} s, ≤ ${GOAL.reconcileMB} MB: ${result.meetsGoal.reconcileSeconds && result.meetsGoal.reconcileMB ? 'met' : 'NOT met'}); differences ${JSON.stringify(reconcile.counts)}`,
      `  parse alone ${result.parse.seconds} s (CPU ${result.parse.cpuSeconds} s), peak RSS ${result.parse.maxRssMB} MB`,
      `  wechatpay-axios-plugin castCsvBill: ${result.peer.seconds} s on ${peerRows} rows, peak RSS ${result.peer.maxRssMB} MB${peerRows < rows ? ` → ${result.peer.extrapolatedSeconds} s for ${rows} rows (extrapolated linearly from the ${peerRows}-row prefix)` : ''}`,
      `  ratio parse vs peer ${result.ratio.parseVsPeer}× (${peerRows < rows ? `on the same ${peerRows}-row prefix: ${result.ratio.onPrefix}×` : `the same file, each parser alone: ${result.ratio.onPrefix}×`}; goal ≥ ${GOAL.parseRatio}×: ${result.meetsGoal.parseRatio ? 'met' : 'NOT met'})`,
    ].join('\n') + '\n');
  } finally {
    if (a.keep) log(`kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
