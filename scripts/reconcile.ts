/**
 * `weda-wxpay reconcile --date yyyy-MM-dd [--apply] [--json] [--config FILE] [--dev URL]`: the day's trade bill
 * against the orders and refunds data models (reconcile/), printed as a table or JSON; `--apply` fixes what is safe
 * through the callbacks' own updates (callbacks/runtime/bill-reconcile.ts) and lists what needs a person.
 *
 * Two places it can run against:
 * - a running dev server (`--dev <baseUrl>`, else $WEDA_WXPAY_DEV, `devServer.baseUrl` of `npm start`'s ready line):
 *   the bill through its connector (`POST /connector/downloadBill`, page by page), the models through
 *   `POST /models/{name}/{methodName}`; `--config` (if the file exists) only names the models and fields;
 * - otherwise the configuration itself (`--config`, default weda-wxpay.config.json): its backend (keys read as the
 *   functions read them; CloudPay through $WEDA_WXPAY_CLOUDPAY_URL or wx-server-sdk) and its data models where the
 *   functions find them — CloudBase (WEDA_WXPAY_ENV_ID and credentials), or `WEDA_WXPAY_STORE=sqlite:<dir>`.
 *
 * Progress (rows/s, time left) goes to stderr when it is a terminal; the answer to stdout. Exit status: 0 when the
 * bill and the models agree (or every difference was fixed), 2 when a difference is left (for a person, or for
 * --apply) or the bill does not add up, 1 on an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PayError, type PayErrorCode } from '../wxpay';
import { CONFIG_FILE_NAME, configSettings, loadConfigFile, type OrdersBinding } from '../config';
import { createProvider } from '../connector';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import type { CallModelParams, WedaSdk } from '../datasources/weda';
import { closeSharedStore, createWeda as wedaFromEnv } from '../callbacks/runtime';
import { callbackFixer } from '../callbacks/runtime/bill-reconcile';
import { ordersPortOf, refundsPortOf } from '../callbacks/runtime/model-ports';
import type { DownloadBillOutput } from '../schemas/types.generated';
import {
  modelLedger, openedBill, pagedBill, reconcileBill, reportTable, terminalProgress,
  type BillReconcileReport, type BillReader, type ProgressSink,
} from '../reconcile';
import { DEV_ENV, devBaseUrl } from './trigger';

export interface ReconcileCommandOptions {
  date: string;
  apply?: boolean;
  json?: boolean;
  config: string;
  dev?: string;
  limit?: number;
}

export interface ReconcileIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Where progress goes when it is a terminal (default process.stderr). */
  progressTo?: NodeJS.WriteStream;
  fail: (code: number) => void;
}

const defaultIo = (): ReconcileIo => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  progressTo: process.stderr,
  fail: (code) => { process.exitCode = code; },
});

function parseDate(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.toISOString().slice(0, 10) !== value) throw new InvalidArgumentError('--date must be a date yyyy-MM-dd');
  return value;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--limit must be an integer ≥ 1');
  return n;
}

export function registerReconcile(program: Command, io: ReconcileIo = defaultIo()): Command {
  return program.command('reconcile')
    .description(`the day's trade bill against the orders and refunds: every difference, as a table or JSON; --apply fixes what is safe (a dev server: --dev <baseUrl> or ${DEV_ENV}; else the configuration's backend and data models)`)
    .requiredOption('--date <yyyy-MM-dd>', 'the bill day (China time)', parseDate)
    .option('--apply', 'fix what is safe (a payment or refund the models missed) through the callbacks\' own updates')
    .option('--json', 'print the report as JSON (default: a table)')
    .option('--config <file>', 'configuration file', CONFIG_FILE_NAME)
    .option('--dev <baseUrl>', `a running dev server, devServer.baseUrl of the ready line of \`npm start\` (default: $${DEV_ENV})`)
    .option('--limit <n>', 'differences listed per kind (the rest are counted)', parseLimit, 1000)
    .action(async (o: ReconcileCommandOptions) => {
      try {
        const report = await runReconcile(o, io);
        io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : reportTable(report));
        const left = Object.values(report.counts).reduce((s, n) => s + (n ?? 0), 0) - report.fixed;
        if (left > 0 || report.bill.problems.length > 0) io.fail(2);
      } catch (err) {
        const e = err as Error & { code?: string };
        io.err(`weda-wxpay reconcile: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
        io.fail(1);
      }
    });
}

/** What the command does, without printing: the report. */
export async function runReconcile(o: ReconcileCommandOptions, io: Pick<ReconcileIo, 'env' | 'progressTo'>): Promise<BillReconcileReport> {
  const progress: ProgressSink | undefined = io.progressTo ? terminalProgress(io.progressTo) : undefined;
  const devUrl = o.dev ?? io.env[DEV_ENV];
  const target = devUrl ? devTarget(devBaseUrl(devUrl, io.env), o.config) : configTarget(o.config, io.env);
  try {
    return await reconcileBill({
      billDate: o.date,
      source: target.source,
      read: await target.read(o.date),
      ledger: modelLedger(target.weda, target.binding),
      ...(o.apply ? { fix: callbackFixer(ordersPortOf(target.weda, target.binding), refundsPortOf(target.weda, target.binding), () => {}) } : {}),
      ...(progress ? { progress } : {}),
      ...(o.limit ? { maxItems: o.limit } : {}),
    });
  } finally {
    await target.close();
  }
}

interface Target {
  source: string;
  weda: Pick<WedaSdk, 'callModel'>;
  binding: OrdersBinding;
  read(billDate: string): Promise<BillReader>;
  close(): Promise<void>;
}

/** The dev server: its connector for the bill, its models for the orders and refunds. */
function devTarget(base: string, configPath: string): Target {
  const binding = configSettings(fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, 'utf8')) : DEV_CONFIG).orders;
  // The dev server answers in its own envType when the call names none.
  const weda = { callModel: (p: CallModelParams) => postJson(`${base}/models/${encodeURIComponent(p.name)}/${encodeURIComponent(p.methodName)}`, p.params ?? {}) };
  return {
    source: 'dev',
    weda,
    binding,
    read: async (billDate) => pagedBill((params) => postJson(`${base}/connector/downloadBill`, params) as Promise<DownloadBillOutput>, billDate),
    close: async () => {},
  };
}

/** The least configuration that names the default models (only model names and fields are read from it). */
const DEV_CONFIG = { provider: 'sandbox', appid: 'wx0000000000000000', mchid: '1230000109', envType: 'pre' };

/** The configuration's backend and its data models, as the reconcile function would reach them. */
function configTarget(configPath: string, env: NodeJS.ProcessEnv): Target {
  if (!fs.existsSync(configPath)) throw new PayError({ code: 'CONFIG_ERROR', message: `${configPath} does not exist: pass --config, or --dev <baseUrl> for a running dev server` });
  const resolved = loadConfigFile(path.resolve(configPath), env);
  const cloudPay = env.WEDA_WXPAY_CLOUDPAY_URL ? createHttpCloudPay(env.WEDA_WXPAY_CLOUDPAY_URL) : undefined;
  const provider = createProvider(resolved, cloudPay ? { cloudPay } : {});
  return {
    source: provider.kind,
    weda: wedaFromEnv(env),
    binding: resolved.orders,
    read: (date) => openedBill(provider, date),
    close: () => closeSharedStore(),
  };
}

/** POST JSON; a refusal becomes the PayError (or model error) the server described, its code kept. */
async function postJson(url: string, body: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new PayError({ code: 'NETWORK_ERROR', message: `cannot reach ${new URL(url).origin} (${cause}); is \`npm start\` running?`, retryable: true });
  }
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new PayError({ code: 'SYSTEM_ERROR', message: `${url}: HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}` });
  }
  if (!res.ok) {
    throw new PayError({ code: (json?.code ?? 'SYSTEM_ERROR') as PayErrorCode, message: String(json?.message ?? `HTTP ${res.status}`), ...(json?.detail ? { detail: json.detail } : {}) });
  }
  return json;
}
