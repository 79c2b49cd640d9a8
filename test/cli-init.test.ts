/**
 * `weda-wxpay init`: from a fresh clone with no configuration to a valid, commented one — by flags, by answers
 * to its questions, never over an existing file, and never writing a configuration that would not load.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { configSettings } from '../config';
import { init } from '../scripts/init';
import { build } from '../scripts/build';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', 'bin', 'weda-wxpay.js');
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-init-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

test('the CLI writes a commented v3 configuration from flags that loads as written', async () => {
  const { stderr } = await run(process.execPath, [CLI, 'init', '--no-input', '--provider', 'v3', '--appid', 'wx1234567890abcdef', '--mchid', '1230000109', '--env-id', 'cloud1-abc'], { cwd: dir });
  expect(stderr).toMatch(/wrote .*weda-wxpay\.config\.json \(v3\)/);
  const written = read(path.join(dir, 'weda-wxpay.config.json'));
  expect(written['//']).toMatch(/notes/);
  expect(written.v3['//']).toMatch(/商户平台/);
  const { config } = configSettings(written);
  expect(config).toMatchObject({ provider: 'v3', appid: 'wx1234567890abcdef', mchid: '1230000109', v3: { notifyUrl: 'https://cloud1-abc.service.tcloudbase.com/pay-notify' } });
  expect(JSON.stringify(config)).not.toContain('"//"'); // notes never reach what the functions see
});

test('a CloudPay configuration from init builds the functions as it is', async () => {
  const file = await init({ provider: 'cloudpay', envId: 'cloud1-abc', out: path.join(dir, 'weda-wxpay.config.json'), interactive: false });
  expect(read(file)).toMatchObject({ provider: 'cloudpay', subMchId: '1900000109', cloudpay: { envId: 'cloud1-abc' } });
  const built = await build({ configPath: file, outDir: path.join(dir, 'dist') });
  expect(built.functions.map((f) => f.name).sort()).toEqual(['wxpay-connector', 'wxpay-pay-notify', 'wxpay-reconcile', 'wxpay-refund-notify']);
}, 60_000);

test('in a terminal it asks for what the flags leave out; Enter keeps the default', async () => {
  const input = new PassThrough();
  input.end(['cloudpay', '1900000999', '', 'prod'].join('\n'));
  const file = await init({ out: path.join(dir, 'c.json'), interactive: true, input, appid: 'wxabcdefabcdefabcd' });
  expect(read(file)).toMatchObject({ provider: 'cloudpay', appid: 'wxabcdefabcdefabcd', subMchId: '1900000999', envType: 'prod', cloudpay: { envId: 'your-env-id' } }); // Enter kept the env id's default
});

test('never over an existing file, and never a configuration that would not load', async () => {
  const file = path.join(dir, 'weda-wxpay.config.json');
  fs.writeFileSync(file, '{"mine": true}\n');
  await expect(run(process.execPath, [CLI, 'init', '--no-input'], { cwd: dir })).rejects.toMatchObject({ stderr: expect.stringMatching(/exists; pass --force/) });
  expect(fs.readFileSync(file, 'utf8')).toBe('{"mine": true}\n');

  await expect(run(process.execPath, [CLI, 'init', '--no-input', '--out', 'bad.json', '--appid', 'wxBAD'], { cwd: dir })).rejects.toMatchObject({ stderr: expect.stringMatching(/appid must match/) });
  expect(fs.existsSync(path.join(dir, 'bad.json'))).toBe(false);
  await expect(run(process.execPath, [CLI, 'init', '--no-input', '--provider', 'v2'], { cwd: dir })).rejects.toMatchObject({ stderr: expect.stringMatching(/--provider.*v3, cloudpay/s) });
});

test('every command answers --help with its usage', async () => {
  for (const cmd of ['start', 'sandbox', 'preview', 'init', 'build', 'package', 'export', 'trigger']) {
    const { stdout } = await run(process.execPath, [CLI, cmd, '--help']);
    expect(stdout).toMatch(new RegExp(`^Usage: weda-wxpay ${cmd}`));
  }
});
