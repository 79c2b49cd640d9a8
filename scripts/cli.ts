import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RETENTION, startSandbox, SandboxOptions } from '../sandbox';
import fs from 'node:fs';
import { CONFIG_FILE_NAME, loadConfigFile, type OrdersBinding } from '../config';
import { exportWedaConnector } from '../connector/export';
import { startDevServer } from './dev-server';
import { registerTrigger } from './trigger';
import { registerReconcile } from './reconcile';
import { packageForWeda, DEFAULT_CONNECTOR_NAME } from './package';
import { build, DEFAULT_NODE_RUNTIME, NODE_RUNTIMES, NodeRuntime } from './build';
import { DEPLOY_ENV_FILE, writeDeployEnv } from './deploy-env';
import { init } from './init';
import { MANIFEST } from '../connector/manifest';
import { buildWedaModels } from '../datasources/models';

/** Where keys and SQLite files live unless --data or WEDA_WXPAY_DATA say otherwise (git-ignored). */
export function defaultDataDir(): string {
  return process.env.WEDA_WXPAY_DATA || path.resolve(process.cwd(), '.weda-wxpay');
}

/** A port option's parser; its message names the option. */
const portParser = (option: string) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${option} must be an integer from 0 to 65535`);
  return n;
};
const parsePort = portParser('--port');
const parseDevPort = portParser('--dev-port');

const DEV_PORT_HELP = 'dev server port, which notify URLs carry (default: the one remembered in the data directory, else any free port; remembered for the next start)';

function parseKeepDays(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('--keep-days must be a number of days > 0');
  return n;
}

const countParser = (option: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${option} must be an integer ≥ 1`);
  return n;
};

/** The sandbox's log retention flags (SandboxOptions.retention), on every command that runs a sandbox. */
function withRetentionOptions(cmd: Command): Command {
  return cmd
    .option('--keep-days <days>', `keep settled notifications and logged requests this many days of sandbox time (default ${DEFAULT_RETENTION.days})`, parseKeepDays)
    .option('--keep-attempts <n>', `keep at most this many notification attempts (default ${DEFAULT_RETENTION.attempts})`, countParser('--keep-attempts'))
    .option('--keep-requests <n>', `keep at most this many logged /v3/* requests (default ${DEFAULT_RETENTION.requests})`, countParser('--keep-requests'));
}

interface RetentionFlags { keepDays?: number; keepAttempts?: number; keepRequests?: number }

function retentionOf(o: RetentionFlags): { retention?: SandboxOptions['retention'] } {
  const r = {
    ...(o.keepDays !== undefined ? { days: o.keepDays } : {}),
    ...(o.keepAttempts !== undefined ? { attempts: o.keepAttempts } : {}),
    ...(o.keepRequests !== undefined ? { requests: o.keepRequests } : {}),
  };
  return Object.keys(r).length ? { retention: r } : {};
}

function readAppJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the app JSON ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${file} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * The static checks of app-template/check.ts, as warnings: the preview still runs, and shows in the page what
 * it cannot draw. Loaded lazily: the checks need @cloudbase/cals, which only the preview and the tests use.
 */
async function reportAppProblems(app: unknown, orders: OrdersBinding): Promise<void> {
  const { checkApp } = await import('../app-template/check');
  const problems = checkApp(app, {
    connectorMethods: { [DEFAULT_CONNECTOR_NAME]: MANIFEST.map((m) => m.name) },
    models: buildWedaModels({ model: orders.model, goodsModel: orders.goodsModel, fields: orders.fields }),
  });
  for (const p of problems) logToStderr(`weda-wxpay preview: ${p.path}: ${p.message}`);
  if (!problems.length) logToStderr('weda-wxpay preview: the app passes every static check');
}

function parseSettleSeconds(value: string): number {
  const n = Number(value);
  // A day is the longest WeChat Pay takes for most refunds; a week covers bank-card returns.
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 7 * 86400) throw new InvalidArgumentError('--refund-settle-seconds must be a number of seconds from 0 to 604800');
  return n;
}

/**
 * Runs `start`, then prints the ready line; SIGINT/SIGTERM close everything before exiting. The handlers go in
 * before the ready line is written: a supervisor may signal the moment it reads that line.
 */
async function serveUntilSignal<T>(start: () => Promise<T>, readyLine: (running: T) => unknown, close: (running: T) => Promise<void>): Promise<T> {
  let running: T | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const closed = running === undefined ? Promise.resolve() : close(running);
    closed.then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  running = await start();
  if (stopping) {
    await close(running);
    process.exit(0);
  }
  process.stdout.write(`${JSON.stringify(readyLine(running))}\n`);
  return running;
}

const logToStderr = (line: string) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);

export function buildProgram(): Command {
  const program = new Command('weda-wxpay')
    .description('WeChat Pay for WeDa: connector, callbacks, and a local WeChat Pay sandbox')
    .showHelpAfterError();

  withRetentionOptions(program.command('start')
    .description('run sandbox + data-model store + connector + callbacks on 127.0.0.1; prints one JSON ready line')
    .option('--port <n>', 'sandbox port (0 = any free port)', parsePort, 0)
    .option('--dev-port <n>', DEV_PORT_HELP, parseDevPort)
    .option('--data <dir>', 'data directory (or WEDA_WXPAY_DATA)')
    .option('--config <file>', `configuration file (its models, field mapping and envType are used)`, CONFIG_FILE_NAME)
    .option('--refund-settle-seconds <s>', 'a refund settles SUCCESS this many sandbox seconds after it is made (default: only by hand)', parseSettleSeconds))
    .action(async (o: { port: number; devPort?: number; data?: string; config: string; refundSettleSeconds?: number } & RetentionFlags) => {
      const dev = await serveUntilSignal(
        () => startDevServer({
          dataDir: path.resolve(o.data ?? defaultDataDir()), port: o.port, configPath: path.resolve(o.config), log: logToStderr,
          ...(o.devPort !== undefined ? { devPort: o.devPort } : {}),
          ...(o.refundSettleSeconds !== undefined ? { refundSettleSeconds: o.refundSettleSeconds } : {}),
          ...retentionOf(o),
        }),
        (d) => d.info,
        (d) => d.close(),
      );
      logToStderr(`weda-wxpay: open ${dev.info.devServer.baseUrl} (app + console) · connector ${dev.info.devServer.connector}/{method} · envType ${dev.info.devServer.envType} · Ctrl-C to stop`);
    });

  withRetentionOptions(program.command('preview')
    .description('run a CALS app JSON in the local app preview (/app) against the sandbox; prints one JSON ready line')
    .argument('<app.json>', 'a CALS application JSON (e.g. app-template/app.json)')
    .option('--port <n>', 'sandbox port (0 = any free port)', parsePort, 0)
    .option('--dev-port <n>', DEV_PORT_HELP, parseDevPort)
    .option('--data <dir>', 'data directory (or WEDA_WXPAY_DATA)')
    .option('--config <file>', `configuration file (its models, field mapping and envType are used)`, CONFIG_FILE_NAME))
    .action(async (appFile: string, o: { port: number; devPort?: number; data?: string; config: string } & RetentionFlags) => {
      const app = readAppJson(appFile);
      const dev = await serveUntilSignal(
        () => startDevServer({
          dataDir: path.resolve(o.data ?? defaultDataDir()), port: o.port, configPath: path.resolve(o.config), log: logToStderr, previewApp: app,
          ...(o.devPort !== undefined ? { devPort: o.devPort } : {}),
          ...retentionOf(o),
        }),
        (d) => d.info,
        (d) => d.close(),
      );
      await reportAppProblems(app, dev.resolved.orders);
      logToStderr(`weda-wxpay: app preview ${dev.info.devServer.app} · console ${dev.info.console} · Ctrl-C to stop`);
    });

  withRetentionOptions(program.command('sandbox')
    .description('run only the WeChat Pay sandbox on 127.0.0.1; prints one JSON ready line')
    .option('--port <n>', 'port (0 = any free port)', parsePort, 0)
    .option('--data <dir>', 'data directory (or WEDA_WXPAY_DATA)')
    .option('--refund-settle-seconds <s>', 'a refund settles SUCCESS this many sandbox seconds after it is made (default: only by hand)', parseSettleSeconds))
    .action(async (o: { port: number; data?: string; refundSettleSeconds?: number } & RetentionFlags) => {
      await serveUntilSignal(
        () => startSandbox({
          dataDir: path.resolve(o.data ?? defaultDataDir(), 'sandbox'), port: o.port, log: logToStderr,
          ...(o.refundSettleSeconds !== undefined ? { refundSettleSeconds: o.refundSettleSeconds } : {}),
          ...retentionOf(o),
        }),
        (s) => s.info,
        (s) => s.close(),
      );
    });

  registerTrigger(program);
  registerReconcile(program);

  const exporter = program.command('export').description('write WeDa import files');
  exporter.command('connector')
    .description('the WeDa connector JSON (methods, titles, inParams/outParams, call target)')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--config <file>', 'configuration file (its functions.connector names the call target)', CONFIG_FILE_NAME)
    .option('--name <identifier>', 'data-source identifier in WeDa', 'wedaWxpay')
    .action((o: { out?: string; config: string; name: string }) => {
      const connectorFunction = fs.existsSync(o.config) ? loadConfigFile(o.config).functions.connector : undefined;
      const text = `${JSON.stringify(exportWedaConnector({ name: o.name, ...(connectorFunction ? { connectorFunction } : {}) }), null, 2)}\n`;
      if (o.out) {
        fs.writeFileSync(o.out, text);
        logToStderr(`wrote ${o.out}`);
      } else {
        process.stdout.write(text);
      }
    });

  program.command('init')
    .description('write a first, commented weda-wxpay.config.json for v3 or CloudPay (asks for what the flags leave out when run in a terminal)')
    .addOption(new Option('--provider <provider>', 'backend').choices(['v3', 'cloudpay']))
    .option('--appid <appid>', 'mini-program AppID (wx + 16 characters)')
    .option('--mchid <mchid>', 'merchant number (CloudPay: the sub-merchant number)')
    .option('--env-id <id>', 'CloudBase environment id')
    .addOption(new Option('--env-type <envType>', 'data environment the callbacks write to').choices(['pre', 'prod']))
    .option('--out <file>', 'where to write it', CONFIG_FILE_NAME)
    .option('--force', 'replace an existing file')
    .option('--no-input', 'never ask; use defaults for what the flags leave out')
    .action(async (o: { provider?: 'v3' | 'cloudpay'; appid?: string; mchid?: string; envId?: string; envType?: 'pre' | 'prod'; out: string; force?: boolean; input: boolean }) => {
      await init({
        out: o.out, force: o.force === true, log: logToStderr, ...(o.input ? {} : { interactive: false }),
        ...(o.provider ? { provider: o.provider } : {}), ...(o.appid ? { appid: o.appid } : {}), ...(o.mchid ? { mchid: o.mchid } : {}),
        ...(o.envId ? { envId: o.envId } : {}), ...(o.envType ? { envType: o.envType } : {}),
      });
    });

  program.command('build')
    .description('generate and bundle the cloud functions into dist/functions/, write a checked dist/cloudbaserc.json and, for v3, the checked HTTP access commands (dist/http-access.sh)')
    .option('--config <file>', 'configuration file', CONFIG_FILE_NAME)
    .option('--out <dir>', 'output folder (its functions/ is replaced)', 'dist')
    .option('--env-id <id>', 'CloudBase environment id (default: {{env.ENV_ID}} from .env)')
    .addOption(new Option('--runtime <runtime>', 'the functions\' Node runtime').choices(Object.keys(NODE_RUNTIMES)).default(DEFAULT_NODE_RUNTIME))
    .option('--minify', 'minify the bundles')
    .action(async (o: { config: string; out: string; envId?: string; runtime: NodeRuntime; minify?: boolean }) => {
      const r = await build({
        configPath: path.resolve(o.config), outDir: path.resolve(o.out), log: logToStderr, runtime: o.runtime,
        ...(o.envId ? { envId: o.envId } : {}), ...(o.minify ? { minify: true } : {}),
      });
      logToStderr(`wrote ${r.cloudbasercPath} (${r.functions.length} functions on ${o.runtime}, runtime bundle ${Math.round(r.runtimeBytes / 1024)} KiB)`);
      const rel = path.relative(process.cwd(), r.outDir) || '.';
      logToStderr(`next: weda-wxpay env --config ${o.config}${o.out === 'dist' ? '' : ` --out ${path.join(o.out, DEPLOY_ENV_FILE)}`} (writes ${path.join(rel, DEPLOY_ENV_FILE)}), then in ${rel}: tcb fn deploy --all${r.httpAccessScript ? ` && sh ${path.basename(r.httpAccessScript)}` : ''}`);
    });

  program.command('env')
    .description(`write dist/${DEPLOY_ENV_FILE} for tcb fn deploy: ENV_ID and the keys the configuration names (key files, values, environment variables), each on one line in the form the CLI's {{env.NAME}} substitution survives`)
    .option('--config <file>', 'configuration file', CONFIG_FILE_NAME)
    .option('--out <file>', 'where to write it (next to cloudbaserc.json)', path.join('dist', DEPLOY_ENV_FILE))
    .option('--env-id <id>', 'CloudBase environment id (default: cloudpay.envId, else the notify URL\'s <envId>.service.tcloudbase.com)')
    .action((o: { config: string; out: string; envId?: string }) => {
      const r = writeDeployEnv({ configPath: path.resolve(o.config), outFile: path.resolve(o.out), ...(o.envId ? { envId: o.envId } : {}) });
      logToStderr(`wrote ${r.file} (${r.names.join(', ')}); it holds secrets: never commit or share it`);
    });

  program.command('package')
    .description('write dist/weda-import/: data models, template app, connector spec, functions + cloudbaserc.json, .env.example, IMPORT.md')
    .option('--config <file>', 'configuration file', CONFIG_FILE_NAME)
    .option('--out <dir>', 'output folder (replaced only when complete)', path.join('dist', 'weda-import'))
    .option('--app <file>', 'template app JSON (default: app-template/app.json)')
    .option('--env-id <id>', 'CloudBase environment id (default: {{env.ENV_ID}} from .env)')
    .option('--name <identifier>', 'custom API identifier in WeDa', DEFAULT_CONNECTOR_NAME)
    .addOption(new Option('--runtime <runtime>', 'the functions\' Node runtime').choices(Object.keys(NODE_RUNTIMES)).default(DEFAULT_NODE_RUNTIME))
    .action(async (o: { config: string; out: string; app?: string; envId?: string; name: string; runtime: NodeRuntime }) => {
      await packageForWeda({
        configPath: path.resolve(o.config), outDir: path.resolve(o.out), connectorName: o.name, log: logToStderr, runtime: o.runtime,
        ...(o.app ? { appJson: path.resolve(o.app) } : {}), ...(o.envId ? { envId: o.envId } : {}),
      });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
