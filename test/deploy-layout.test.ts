/**
 * What the deploy folder holds, and the Node runtime the functions are built for. tsc writes to .build/
 * (tsconfig.json outDir), so `weda-wxpay build`'s folder holds only what deploys: functions/, cloudbaserc.json,
 * .env.example, http-access.sh (v3), and the .env that `weda-wxpay env` adds. The runtime is Nodejs18.15
 * unless --runtime asks for Nodejs20.19 — the two the CloudBase CLI offers that the bundle targets.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build, cloudbasercProblems, DEFAULT_NODE_RUNTIME, NODE_RUNTIMES, NodeRuntime } from '../scripts/build';
import { writeDeployEnv } from '../scripts/deploy-env';
import { COMPILED_ROOT, REPO_ROOT } from './helpers/paths';

const CLI = path.join(REPO_ROOT, 'bin', 'weda-wxpay.js');
const config = {
  provider: 'v3',
  appid: 'wx1234567890abcdef',
  mchid: '1900000109',
  envType: 'pre',
  v3: {
    merchantSerialNo: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
    privateKeyEnv: 'SHOP_PRIVATE_KEY',
    apiV3KeyEnv: 'SHOP_APIV3_KEY',
    platformKeys: [{ id: 'PUB_KEY_ID_0000000000000024101100397200000006', env: 'SHOP_PLATFORM_KEY' }],
    notifyUrl: 'https://cloud1-abc.service.tcloudbase.com/pay-notify',
    refundNotifyUrl: 'https://cloud1-abc.service.tcloudbase.com/refund-notify',
  },
};

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-deploy-layout-'));
  fs.writeFileSync(path.join(work, 'weda-wxpay.config.json'), JSON.stringify(config));
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const readJson = (rel: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, rel), 'utf8'));

describe('tsc output and the deploy folder are apart', () => {
  it('tsc writes to .build/ (the CLI launcher, npm scripts and benchmarks run from there); git ignores it, dist/ and .env', () => {
    expect(readJson('tsconfig.json').compilerOptions.outDir).toBe('.build');
    expect(readJson('bench/tsconfig.json').compilerOptions.outDir).toBe('../.build');
    expect(COMPILED_ROOT).toBe(path.join(REPO_ROOT, '.build'));
    expect(fs.existsSync(path.join(COMPILED_ROOT, 'scripts', 'cli.js'))).toBe(true); // `npm test` builds first
    expect(fs.readFileSync(CLI, 'utf8')).toContain("path.join(__dirname, '..', '.build', 'scripts', 'cli.js')");
    const scripts = Object.values(readJson('package.json').scripts as Record<string, string>).join('\n');
    expect(scripts).not.toMatch(/\bdist\//);
    expect(scripts).toContain('node .build/scripts/codegen.js');
    expect(fs.readFileSync(path.join(REPO_ROOT, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['.build/', 'dist/', '.env']));
  });

  it('the build folder holds only what deploys, and weda-wxpay env adds .env', async () => {
    const out = path.join(work, 'dist');
    await build({ configPath: path.join(work, 'weda-wxpay.config.json'), outDir: out, root: REPO_ROOT });
    expect(fs.readdirSync(out).sort()).toEqual(['.env.example', 'cloudbaserc.json', 'functions', 'http-access.sh']);
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
    writeDeployEnv({ configPath: path.join(work, 'weda-wxpay.config.json'), outFile: path.join(out, '.env'), root: REPO_ROOT, env: { SHOP_PRIVATE_KEY: key, SHOP_APIV3_KEY: 'a'.repeat(32), SHOP_PLATFORM_KEY: key } });
    expect(fs.readdirSync(out).sort()).toEqual(['.env', '.env.example', 'cloudbaserc.json', 'functions', 'http-access.sh']);
    // Keys named by environment variable are read from there.
    expect(fs.readFileSync(path.join(out, '.env'), 'utf8')).toContain('SHOP_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\n');
  }, 60_000);
});

describe('the Node runtime', () => {
  it('is Nodejs18.15 unless asked; Nodejs20.19 on request; both pass the deploy schema', async () => {
    expect(DEFAULT_NODE_RUNTIME).toBe('Nodejs18.15');
    expect(Object.keys(NODE_RUNTIMES)).toEqual(['Nodejs18.15', 'Nodejs20.19']);
    const byDefault = await build({ config: config as never, outDir: path.join(work, 'r18'), root: REPO_ROOT });
    expect(new Set(byDefault.cloudbaserc.functions.map((f) => f.runtime))).toEqual(new Set(['Nodejs18.15']));
    const asked = await build({ config: config as never, outDir: path.join(work, 'r20'), root: REPO_ROOT, runtime: 'Nodejs20.19' });
    expect(new Set(asked.cloudbaserc.functions.map((f) => f.runtime))).toEqual(new Set(['Nodejs20.19']));
    expect(cloudbasercProblems(asked.cloudbaserc)).toEqual([]);
    await expect(build({ config: config as never, outDir: path.join(work, 'r99'), root: REPO_ROOT, runtime: 'Nodejs99' as NodeRuntime }))
      .rejects.toThrow('runtime Nodejs99 is not one the functions are built for: Nodejs18.15, Nodejs20.19');
  }, 60_000);

  it('the deploy schema knows every runtime the CLI offers, and nothing else', () => {
    const rc = { version: '2.0', envId: 'x', functionRoot: './functions', functions: [{ name: 'f', runtime: 'Nodejs20.19', handler: 'index.main', timeout: 20, installDependency: true, envVariables: {} }] };
    for (const runtime of ['Nodejs22.21', 'Nodejs20.19', 'Nodejs18.15', 'Nodejs16.13']) {
      expect(cloudbasercProblems({ ...rc, functions: [{ ...rc.functions[0], runtime }] })).toEqual([]);
    }
    expect(cloudbasercProblems({ ...rc, functions: [{ ...rc.functions[0], runtime: 'Nodejs99' }] }).join('\n')).toMatch(/functions\/0\/runtime/);
  });

  it('the CLI: build --runtime Nodejs20.19 (and --help lists the choices)', async () => {
    const out = path.join(work, 'cli-dist');
    const { stderr } = await promisify(execFile)(process.execPath, [CLI, 'build', '--config', 'weda-wxpay.config.json', '--out', out, '--runtime', 'Nodejs20.19'], { cwd: work });
    expect(stderr).toMatch(/4 functions on Nodejs20\.19/);
    expect(stderr).toMatch(/next: weda-wxpay env --config weda-wxpay\.config\.json --out .*\.env .*tcb fn deploy --all && sh http-access\.sh/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'cloudbaserc.json'), 'utf8')).functions[0].runtime).toBe('Nodejs20.19');
    const help = await promisify(execFile)(process.execPath, [CLI, 'build', '--help']);
    expect(help.stdout.replace(/\s+/g, " ")).toMatch(/--runtime <runtime> .*\(choices: "Nodejs18\.15", "Nodejs20\.19", default: "Nodejs18\.15"\)/);
  }, 60_000);
});
