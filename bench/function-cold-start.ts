/**
 * How big each deployed function is and how long it takes to start, measured from outside in fresh processes, as
 * CloudBase starts one. Run on demand, never as a timed test:
 *
 *   npx tsc -p bench/tsconfig.json && node .build/bench/function-cold-start.js [--runs 9]
 *
 * Builds the four functions the way a builder does (`weda-wxpay init --no-input --provider cloudpay`, then
 * `weda-wxpay build`) into a temporary directory, then for each function:
 *
 *  size     — the bytes of code in its folder (index.js + the bundled runtime; package.json left out);
 *  require  — `node -e "require('<fn>/index.js')"` with the CloudBase store (the configuration that deploys),
 *             minus bare `node -e ""`, the median of `--runs` fresh processes each;
 *  refusal  — require + `main({})` of pay-notify, refund-notify, connector: a malformed event (a call without a
 *             method), refused before any data model is asked;
 *  first models call — require + reconcile's `main({})`, whose first call lists the models (all empty),
 *             against the loopback HTTPS emulator of the CloudBase models API the tests use
 *             (test/helpers/cloudbase-emulator.ts).
 *
 * Bare-node and function runs alternate, so a burst of load from other processes falls on both. Goal: code ≤ 300
 * KB per function, and a cold start (require + first call) ≤ 50 ms over bare node.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { positiveArgs } from './lib/args';
import { startCloudbaseEmulator } from '../test/helpers/cloudbase-emulator';

const REPO = path.join(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'weda-wxpay.js');
const { runs } = positiveArgs(process.argv.slice(2), { runs: 9 });

function timedNode(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    execFile(process.execPath, args, { env, cwd, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Median of (run − bare node) over `runs` alternating pairs, in ms. */
async function overBareNode(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const diffs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const bare = await timedNode(['-e', ''], env, cwd);
    const run = await timedNode(args, env, cwd);
    diffs.push(run - bare);
  }
  return median(diffs);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-cold-'));
  const emu = await startCloudbaseEmulator({ dataDir: path.join(dir, 'models') });
  try {
    fs.writeFileSync(path.join(dir, 'ca.pem'), emu.caPem);
    const cfg = path.join(dir, 'cfg.json');
    execFileSync(process.execPath, [CLI, 'init', '--no-input', '--provider', 'cloudpay', '--out', cfg], { stdio: 'ignore' });
    execFileSync(process.execPath, [CLI, 'build', '--config', cfg, '--out', path.join(dir, 'dist')], { stdio: 'ignore' });
    const functionsDir = path.join(dir, 'dist', 'functions');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      // @cloudbase/node-sdk is what CloudBase installs from package.json; here it is the checkout's.
      NODE_PATH: path.join(REPO, 'node_modules'),
      WEDA_WXPAY_ENV_ID: 'wxpay-bench-1a2b3c',
      WEDA_WXPAY_CLOUDBASE_SERVICE_URL: emu.serviceUrl,
      WEDA_WXPAY_CLOUDBASE_ACCESS_KEY: emu.accessKey,
      NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem'),
      TENCENTCLOUD: 'true', // no cloud-platform metadata probe (weda.md §4.4)
    };
    const call = (event: string) => `const fn = require('./index.js'); fn.main(${event}, {}).then(() => process.exit(0), (e) => { console.error(e); process.exit(3); });`;
    const rows: Record<string, unknown>[] = [];
    for (const name of fs.readdirSync(functionsDir).sort()) {
      const fnDir = path.join(functionsDir, name);
      const codeBytes = fs.readdirSync(fnDir).filter((f) => f.endsWith('.js')).reduce((n, f) => n + fs.statSync(path.join(fnDir, f)).size, 0);
      const row: Record<string, unknown> = {
        function: name,
        codeKB: Math.round(codeBytes / 1024),
        requireMs: Math.round(await overBareNode(['-e', "require('./index.js')"], env, fnDir)),
      };
      // Reconcile's first call always lists the models; the others refuse `{}` without asking them.
      row[name.endsWith('reconcile') ? 'firstModelsCallMs' : 'refusalMs'] = Math.round(await overBareNode(['-e', call('{}')], env, fnDir));
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    const models = emu.requests.length;
    console.log(`models API requests answered: ${models}`);
    for (const r of rows) {
      console.log(`${String(r.function).padEnd(22)} ${String(r.codeKB).padStart(4)} KB  require +${r.requireMs} ms  ${r.firstModelsCallMs !== undefined ? `first models call +${r.firstModelsCallMs}` : `refusal +${r.refusalMs}`} ms`);
    }
    const worstKB = Math.max(...rows.map((r) => r.codeKB as number));
    console.log(`goal: code ≤ 300 KB per function (worst ${worstKB} KB), cold start ≤ 50 ms over bare node (median of ${runs})`);
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
