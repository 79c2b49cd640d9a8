import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { startSandbox } from '../sandbox';
import { CONFIG_FILE_NAME } from '../connector/config';
import { startDevServer } from './dev-server';

/** Where keys and SQLite files live unless --data or WEDA_WXPAY_DATA say otherwise (git-ignored). */
export function defaultDataDir(): string {
  return process.env.WEDA_WXPAY_DATA || path.resolve(process.cwd(), '.weda-wxpay');
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be an integer from 0 to 65535');
  return n;
}

/** Keeps the process alive until SIGINT/SIGTERM, then closes everything before exiting. */
function closeOnSignal(close: () => Promise<void>): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    close().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const logToStderr = (line: string) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);

export function buildProgram(): Command {
  const program = new Command('weda-wxpay')
    .description('WeChat Pay for WeDa: connector, callbacks, and a local WeChat Pay sandbox')
    .showHelpAfterError();

  program.command('start')
    .description('run sandbox + data-model store + connector + callbacks on 127.0.0.1; prints one JSON ready line')
    .option('--port <n>', 'sandbox port (0 = any free port)', parsePort, 0)
    .option('--data <dir>', 'data directory (or WEDA_WXPAY_DATA)')
    .option('--config <file>', `configuration file (its models, field mapping and envType are used)`, CONFIG_FILE_NAME)
    .action(async (o: { port: number; data?: string; config: string }) => {
      const dev = await startDevServer({ dataDir: path.resolve(o.data ?? defaultDataDir()), port: o.port, configPath: path.resolve(o.config), log: logToStderr });
      process.stdout.write(`${JSON.stringify(dev.info)}\n`);
      logToStderr(`weda-wxpay: console ${dev.info.console} · connector ${dev.info.devServer.connector}/{method} · envType ${dev.info.devServer.envType} · Ctrl-C to stop`);
      closeOnSignal(() => dev.close());
    });

  program.command('sandbox')
    .description('run only the WeChat Pay sandbox on 127.0.0.1; prints one JSON ready line')
    .option('--port <n>', 'port (0 = any free port)', parsePort, 0)
    .option('--data <dir>', 'data directory (or WEDA_WXPAY_DATA)')
    .action(async (o: { port: number; data?: string }) => {
      const sandbox = await startSandbox({ dataDir: path.resolve(o.data ?? defaultDataDir(), 'sandbox'), port: o.port, log: logToStderr });
      process.stdout.write(`${JSON.stringify(sandbox.info)}\n`);
      closeOnSignal(() => sandbox.close());
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
