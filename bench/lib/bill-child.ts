/**
 * One measured part of bench/bill-reconcile.ts, in a process of its own so that its peak RSS
 * (VmHWM, see `peakRssMB`) is that part's: `reconcile`, `parse`, `peer` or `ours-prefix` (see there).
 * Loads only what its part needs. Prints one JSON line.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { parseBillStream } from '../../wxpay';
import { configSettings } from '../../config';
import { openSqliteStore } from '../../datasources/sqlite-store';
import { createWeda } from '../../datasources/weda';
import { sha1Checked } from '../../connector/bill';
import { modelLedger, reconcileBill, streamedBill } from '../../reconcile';

const mb = (kb: number) => Math.round(kb / 1024);

/**
 * The bill file is read in 1 MiB chunks, as a spooled download is read: Node's default for a file stream, 64 KiB,
 * costs a thread-pool round trip and a turn of the stream per chunk — 3,750 of them for this bill, ~0.2 s of a
 * reconciliation, the parser and the comparison idle meanwhile (bench/README.md, bill-reconcile).
 */
const FILE_CHUNKS = { highWaterMark: 1 << 20 };

/**
 * This process's own peak RSS, MB: VmHWM, the high-water mark of its own memory. Not `resourceUsage().maxRSS`: on
 * Linux that carries over the parent's RSS at the fork before exec (a parent holding 300 MB made every part
 * "peak" at 300 MB). Elsewhere, maxRSS is what there is.
 */
function peakRssMB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return mb(Number(hwm[1]));
  } catch {
    // not Linux
  }
  return mb(process.resourceUsage().maxRSS);
}

async function part(what: string, argv: string[]): Promise<void> {
  const get = (name: string) => argv[argv.indexOf(`--${name}`) + 1]!;
  const file = get('file');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let out: Record<string, unknown> = {};
  if (what === 'reconcile') {
    const store = openSqliteStore({ dataDir: get('store') });
    const binding = configSettings({ provider: 'sandbox', appid: 'wx0000000000000000', mchid: '1230000109', envType: 'prod' }).orders;
    const report = await reconcileBill({
      billDate: get('date'), source: 'v3',
      read: streamedBill(sha1Checked(createReadStream(file, FILE_CHUNKS), get('sha1'))),
      ledger: modelLedger(createWeda({ store }), binding),
      maxItems: 20,
    });
    await store.close();
    out = { rows: report.bill.rows, matched: report.matched.payments, local: report.local.paidOrders, counts: report.counts, problems: report.bill.problems };
  } else if (what === 'parse') {
    const check = await parseBillStream(createReadStream(file, FILE_CHUNKS), { row: () => {} });
    out = { rows: check.rows, problems: check.problems };
  } else if (what === 'peer' || what === 'ours-prefix') {
    const bytes = readFileSync(file); // not timed: the peer takes a Buffer
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const peer = what === 'peer' ? (require('wechatpay-axios-plugin') as { Formatter: { castCsvBill(b: Buffer): { rows: unknown[] } } }).Formatter : undefined;
    const t0 = performance.now();
    const rows = peer ? peer.castCsvBill(bytes).rows.length : (await parseBillStream([bytes], { row: () => {} })).rows;
    out = { rows, parseSeconds: (performance.now() - t0) / 1000 };
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = Math.round((cpu.user + cpu.system) / 1e4) / 100;
  process.stdout.write(`${JSON.stringify({ seconds: out.parseSeconds ?? seconds, cpuSeconds, maxRssMB: peakRssMB(), ...out })}\n`);
}

part(process.argv[2]!, process.argv.slice(3)).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
