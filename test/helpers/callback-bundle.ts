/**
 * Builds the callback functions into a temp directory and runs one of them in a fresh Node process, the way
 * CloudBase would: `require('<dir>/index.js').main(event, context)`, with the store chosen by
 * WEDA_WXPAY_STORE=sqlite:<dir> and the secrets in environment variables.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, BuildResult } from '../../scripts/build';
import { REPO_ROOT } from './paths';
import type { TestDev } from './dev';

export async function buildInto(config: Record<string, unknown>): Promise<BuildResult & { cleanup(): void }> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-build-'));
  const result = await build({ outDir, config: config as never, root: REPO_ROOT });
  return { ...result, cleanup: () => fs.rmSync(outDir, { recursive: true, force: true }) };
}

/**
 * The sandbox as a `provider: "sandbox"` configuration, with key files and the APIv3 key as values;
 * `v3` overrides notify URLs and the like, `extra` adds top-level sections.
 */
export function sandboxBuildConfig(t: TestDev, extra: Record<string, unknown> = {}, v3: Record<string, unknown> = {}): Record<string, unknown> {
  const info = t.dev.info;
  return {
    provider: 'sandbox',
    appid: info.merchant.appid,
    mchid: info.merchant.mchid,
    envType: 'pre',
    v3: {
      baseUrl: info.baseUrl,
      merchantSerialNo: info.merchant.serialNo,
      privateKeyPath: info.merchant.privateKeyPath,
      apiV3Key: info.merchant.apiV3Key,
      platformKeys: [{ id: info.platform.publicKeyId, path: info.platform.publicKeyPath }],
      notifyUrl: `${t.dev.info.devServer.baseUrl}/unused`,
      ...v3,
    },
    ...extra,
  };
}

/** The secrets a function built from `sandboxBuildConfig` reads (names from cloudbaserc.json envVariables). */
export function sandboxSecrets(t: TestDev): Record<string, string> {
  const info = t.dev.info;
  return {
    WXPAY_PRIVATE_KEY: fs.readFileSync(info.merchant.privateKeyPath, 'utf8'),
    WXPAY_APIV3_KEY: info.merchant.apiV3Key,
    WXPAY_PLATFORM_KEY_1: fs.readFileSync(info.platform.publicKeyPath, 'utf8'),
  };
}

export interface FunctionRun {
  result: any;
  /** The function's log lines (JSON events). */
  logs: any[];
}

const RUNNER = `
const [dir, eventJson] = process.argv.slice(1);
const fn = require(dir + '/index.js');
fn.main(JSON.parse(eventJson), { function_name: require('path').basename(dir) })
  .then(async (result) => {
    await require(dir + '/weda-wxpay-runtime.js').closeSharedStore();
    process.stdout.write('\\n@@RESULT@@' + JSON.stringify(result === undefined ? null : result) + '\\n', () => process.exit(0));
  })
  .catch((err) => { console.error(err && err.stack || err); process.exit(3); });
`;

/** Runs `main(event)` of the built function in `dir` in a new Node process (no NODE_OPTIONS, no jest). */
export function runFunction(dir: string, event: unknown, env: Record<string, string>, timeoutMs = 20_000): Promise<FunctionRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', RUNNER, dir, JSON.stringify(event)], {
      cwd: dir,
      timeout: timeoutMs,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? os.tmpdir(),
        // better-sqlite3 (local store only) is not bundled: it is found in the checkout's node_modules.
        NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
        ...env,
      },
      maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const marker = stdout.lastIndexOf('@@RESULT@@');
      if (err || marker < 0) {
        reject(new Error(`function in ${dir} failed: ${err?.message ?? 'no result'}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
        return;
      }
      const logs = stdout.slice(0, marker).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      resolve({ result: JSON.parse(stdout.slice(marker + '@@RESULT@@'.length).trim()), logs });
    });
  });
}

/** The HTTP-trigger event CloudBase hands a function for a POST to its URL. */
export function httpTriggerEvent(n: { body: string; headers: Record<string, string> }, p = '/'): Record<string, unknown> {
  return {
    httpMethod: 'POST',
    path: p,
    headers: Object.fromEntries(Object.entries(n.headers).map(([k, v]) => [k.toLowerCase(), v])),
    queryStringParameters: {},
    body: n.body,
    isBase64Encoded: false,
    requestContext: { requestId: 'test', envId: 'test-env' },
  };
}
