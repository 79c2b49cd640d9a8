/**
 * How big each deployed function is and how long it takes to start, measured from outside in fresh processes, as
 * CloudBase starts one. Run on demand, never as a timed test:
 *
 *   npx tsc -p bench/tsconfig.json && node .build/bench/function-cold-start.js [--runs 9]
 *
 * Builds the four functions the way a builder does (`weda-wxpay init --no-input --provider cloudpay`, then
 * `weda-wxpay build`) into a temporary directory, then for each function:
 *
 *  size     — the bytes of code in its folder (index.js + its runtime bundle; package.json left out);
 *  require  — `node -e "require('<fn>/index.js')"` with the CloudBase store (the configuration that deploys),
 *             minus bare `node -e ""`, the median of `--runs` fresh processes each;
 *  refusal  — require + `main({})` of pay-notify, refund-notify, connector: a malformed event (a call without a
 *             method), refused before any data model is asked;
 *  first models call — require + reconcile's `main({})`, whose first call lists the models (all empty),
 *             against the loopback HTTPS emulator of the CloudBase models API the tests use
 *             (test/helpers/cloudbase-emulator.ts), with an API key (`Bearer`);
 *  … with the function role — the same, with the function role's credentials as CloudBase gives them
 *             (TENCENTCLOUD_SECRETID / SECRETKEY / SESSIONTOKEN, TENCENTCLOUD_RUNENV=SCF) and no API key: each
 *             models request is preceded by the token exchange at `<env>.api.tcloudbasegateway.com`, which a
 *             preloaded hook (`-r`, in the run only, so its cost counts against the function) connects to the
 *             emulator instead. A new instance asks for one token and reuses it (cloudbase-models-client.ts);
 *             the requests one such run sends are printed beside it.
 *  floor    — the same requests as that last one by bench/lib/cold-start-floor.ts: node:https and node:crypto,
 *             no bundle, no checks; what any Node function pays for that call, so that function − floor is ours.
 * `--cpu-prof DIR` adds one profiled run of that last one (`node --cpu-prof`, sampled every 100 µs), its .cpuprofile kept in DIR.
 *
 * Bare node is `node -e ""` without NODE_EXTRA_CA_CERTS. The runs that call the emulator trust its certificate
 * through that variable, which makes Node load its root store (OpenSSL 3 parsing ~140 certificates, ~20 ms here)
 * at start; a deployed function pays the same at its first TLS connection, so it is counted against the function.
 * (Until 2026-12 the bare runs had the variable too, which left that cost out of every figure.)
 *
 * Each time is wall clock, with the CPU time of the process (user + system, `process.cpuUsage()` at exit) beside
 * it, both over bare node. Bare-node and function runs alternate, so a burst of load from other processes falls on
 * both. Goal: code ≤ 300 KB per function, and a cold start (require + first call) ≤ 50 ms over bare node.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { positiveArgs } from './lib/args';
import { startCloudbaseEmulator } from '../test/helpers/cloudbase-emulator';

const REPO = path.join(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'weda-wxpay.js');
const FLOOR = path.join(__dirname, 'lib', 'cold-start-floor.js');
const { runs } = positiveArgs(process.argv.slice(2), { runs: 9 });
/** `--cpu-prof DIR`: also one profiled run of reconcile's first call with the function role (`node --cpu-prof`), kept in DIR. */
const cpuProfDir = process.argv.includes('--cpu-prof') ? path.resolve(process.argv[process.argv.indexOf('--cpu-prof') + 1] ?? '.') : undefined;

interface Timed {
  wallMs: number;
  cpuMs: number;
}

/** Every run reports its process's CPU time (user + system) on exit, last on stderr. */
const REPORT_CPU = "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n@@cpu ' + (u.user + u.system)); });";

function timedNode(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    execFile(process.execPath, args, { env, cwd, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      const cpu = /@@cpu (\d+)\s*$/.exec(stderr);
      if (err || !cpu) reject(new Error(`${args.join(' ')} failed: ${err?.message ?? 'no CPU time reported'}\n${stderr}`));
      else resolve({ wallMs, cpuMs: Number(cpu[1]) / 1000 });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/**
 * Medians of (run − bare node), wall clock and CPU, over `runs` alternating pairs, in ms. Bare node runs in the same
 * environment less NODE_EXTRA_CA_CERTS (see the top of this file).
 */
async function overBareNode(nodeArgs: string[], code: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Timed> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const bareEnv = { ...env };
  delete bareEnv.NODE_EXTRA_CA_CERTS;
  for (let i = 0; i < runs; i++) {
    const bare = await timedNode(['-e', REPORT_CPU], bareEnv, cwd);
    const run = await timedNode([...nodeArgs, '-e', `${REPORT_CPU}\n${code}`], env, cwd);
    wall.push(run.wallMs - bare.wallMs);
    cpu.push(run.cpuMs - bare.cpuMs);
  }
  return { wallMs: Math.round(median(wall)), cpuMs: Math.round(median(cpu)) };
}

/**
 * A `-r` preload for the function-role runs: https.globalAgent's connections to a CloudBase gateway host go to the
 * emulator (test/helpers/cloudbase-emulator.ts routeGatewayToEmulator, without loading that module's test helpers).
 */
const ROUTE_GATEWAY = `const https = require('node:https');
const port = Number(process.env.BENCH_GATEWAY_PORT);
const original = https.globalAgent.createConnection;
https.globalAgent.createConnection = function (options, cb) {
  const to = /^[a-z0-9_-]+\\.api\\.(intl\\.)?tcloudbasegateway\\.com$/.test(options.host || '') ? { ...options, host: '127.0.0.1', port } : options;
  return original.call(this, to, cb);
};
`;

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
      TENCENTCLOUD: 'true', // no cloud-platform metadata probe (weda.md §4.4)
    };
    // Only the runs that connect to the emulator trust it (and so load the root store, as a first connection does).
    const trustEmulator = { NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') };
    const roleEnv: NodeJS.ProcessEnv = {
      ...env,
      ...trustEmulator,
      WEDA_WXPAY_CLOUDBASE_SERVICE_URL: undefined,
      WEDA_WXPAY_CLOUDBASE_ACCESS_KEY: undefined,
      TENCENTCLOUD: undefined,
      TENCENTCLOUD_RUNENV: 'SCF',
      SCF_NAMESPACE: env.WEDA_WXPAY_ENV_ID,
      TENCENTCLOUD_REGION: 'ap-shanghai',
      TENCENTCLOUD_SECRETID: 'AKIDbench0123456789',
      TENCENTCLOUD_SECRETKEY: 'bench-secret-key-0123456789',
      TENCENTCLOUD_SESSIONTOKEN: 'bench-session-token',
      BENCH_GATEWAY_PORT: String(emu.port),
    };
    for (const k of Object.keys(roleEnv)) if (roleEnv[k] === undefined) delete roleEnv[k];
    const routeGateway = path.join(dir, 'route-gateway.js');
    fs.writeFileSync(routeGateway, ROUTE_GATEWAY);
    const call = (event: string) => `const fn = require('./index.js'); fn.main(${event}, {}).then(() => process.exit(0), (e) => { console.error(e); process.exit(3); });`;
    const rows: Record<string, unknown>[] = [];
    for (const name of fs.readdirSync(functionsDir).sort()) {
      const fnDir = path.join(functionsDir, name);
      const codeBytes = fs.readdirSync(fnDir).filter((f) => f.endsWith('.js')).reduce((n, f) => n + fs.statSync(path.join(fnDir, f)).size, 0);
      const row: Record<string, unknown> = { function: name, codeKB: Math.round(codeBytes / 1024), require: await overBareNode([], "require('./index.js')", env, fnDir) };
      if (name.endsWith('reconcile')) {
        // Reconcile's first call always lists the models: with an API key, and with the function role's credentials.
        const before = emu.requests.length;
        row.firstModelsCall = await overBareNode([], call('{}'), { ...env, ...trustEmulator }, fnDir);
        const roleBefore = emu.requests.length;
        const connectionsBefore = emu.connections;
        row.firstModelsCallRole = await overBareNode(['-r', routeGateway], call('{}'), roleEnv, fnDir);
        row.modelsRequests = emu.requests.slice(before).map((r) => `${r.method} ${r.path}`).filter((v, i, a) => a.indexOf(v) === i);
        // What one role run sends: token exchanges and models requests.
        const roleRequests = emu.requests.slice(roleBefore);
        const tokenRequests = roleRequests.filter((r) => r.path === '/auth/v1/token/clientCredential').length;
        row.roleRequestsPerRun = { token: tokenRequests / runs, models: (roleRequests.length - tokenRequests) / runs, tlsConnections: (emu.connections - connectionsBefore) / runs };
        const floorBefore = emu.requests.length;
        row.floor = await overBareNode(['-r', routeGateway], `require(${JSON.stringify(FLOOR)});`, roleEnv, fnDir);
        const floorRequests = emu.requests.slice(floorBefore).map((r) => `${r.method} ${r.path}`);
        if (floorRequests.length !== runs * 4) throw new Error(`the floor sent ${floorRequests.length} requests in ${runs} runs, not 4 each: ${floorRequests.join(', ')}`);
        if (cpuProfDir) {
          fs.mkdirSync(cpuProfDir, { recursive: true });
          await timedNode(['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', cpuProfDir, '-r', routeGateway, '-e', `${REPORT_CPU}\n${call('{}')}`], roleEnv, fnDir);
        }
      } else {
        // The others refuse `{}` without asking the models.
        row.refusal = await overBareNode([], call('{}'), env, fnDir);
      }
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    const models = emu.requests.length;
    console.log(`models API requests answered: ${models}`);
    const t = (x: unknown): string => { const v = x as Timed; return `+${v.wallMs} ms (CPU +${v.cpuMs} ms)`; };
    const overFloor = (x: unknown, floor: unknown): string => {
      const ms = (x as Timed).wallMs - (floor as Timed).wallMs;
      return `${ms >= 0 ? '+' : ''}${ms} ms`;
    };
    for (const r of rows) {
      const calls = r.firstModelsCall !== undefined
        ? `first models call ${t(r.firstModelsCall)}, with the function role ${t(r.firstModelsCallRole)} (${JSON.stringify(r.roleRequestsPerRun)} requests per run); the floor for that call ${t(r.floor)}, so ${overFloor(r.firstModelsCallRole, r.floor)} of it is this function's`
        : `refusal ${t(r.refusal)}`;
      console.log(`${String(r.function).padEnd(22)} ${String(r.codeKB).padStart(4)} KB  require ${t(r.require)}  ${calls}`);
    }
    const worstKB = Math.max(...rows.map((r) => r.codeKB as number));
    const worstMs = Math.max(...rows.map((r) => Math.max(...[r.refusal, r.firstModelsCall, r.firstModelsCallRole].filter(Boolean).map((x) => (x as Timed).wallMs))));
    const floorMs = (rows.find((r) => r.floor)!.floor as Timed).wallMs;
    console.log(`goal: code ≤ 300 KB per function (worst ${worstKB} KB), cold start ≤ 50 ms over bare node (worst +${worstMs} ms; the floor, any Node function making the role's first call, +${floorMs} ms; medians of ${runs}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
