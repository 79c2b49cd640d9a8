/**
 * `weda-wxpay env` (scripts/deploy-env.ts): the .env `tcb fn deploy` reads. The produced .env and the built
 * cloudbaserc.json go through the CLI's substitution as it happens (values pasted into the JSON text, then
 * JSON.parse — test/helpers/tcb-deploy.ts), and the keys the functions then load, the way their runtime
 * loads them (config/ resolveConfig, wxpay/keys.ts), are the original ones. The forms that break the deploy
 * (a multi-line PEM, a double-quoted `\n`) fail the same simulation, so the check can fail.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveConfig } from '../config';
import { deployConfig } from '../callbacks/generate';
import { build } from '../scripts/build';
import { envLine, renderDeployEnv, renderEnvExample, writeDeployEnv } from '../scripts/deploy-env';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { REPO_ROOT } from './helpers/paths';
import { deployV3Config as v3Config, parseDotenv, PLATFORM_KEY_ID, simulateTcbDeploy } from './helpers/tcb-deploy';

const CLI = path.join(REPO_ROOT, 'bin', 'weda-wxpay.js');
const API_V3_KEY = 'Zq7Wm2Xc9Lp4Rt6Yb1Nv8Kd3Hs5Gf0Ja';

const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PLATFORM_PEM = platform.publicKey.export({ type: 'spki', format: 'pem' }).toString();


let work: string;
let dist: string;
let configPath: string;
let envText: string;
let rcText: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-deploy-env-'));
  fs.mkdirSync(path.join(work, 'certs'));
  fs.writeFileSync(path.join(work, 'certs', 'apiclient_key.pem'), PRIVATE_PEM);
  fs.writeFileSync(path.join(work, 'certs', 'pub_key.pem'), PLATFORM_PEM);
  configPath = path.join(work, 'weda-wxpay.config.json');
  fs.writeFileSync(configPath, JSON.stringify(v3Config(), null, 2));
  dist = path.join(work, 'dist');
  await build({ configPath, outDir: dist, root: REPO_ROOT });
  const written = writeDeployEnv({ configPath, outFile: path.join(dist, '.env'), env: { WXPAY_APIV3_KEY: API_V3_KEY }, root: REPO_ROOT });
  expect(written.names).toEqual(['ENV_ID', 'WXPAY_PRIVATE_KEY', 'WXPAY_APIV3_KEY', 'WXPAY_PLATFORM_KEY_1']);
  envText = fs.readFileSync(written.file, 'utf8');
  rcText = fs.readFileSync(path.join(dist, 'cloudbaserc.json'), 'utf8');
}, 60_000);
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The .env with the private key's line replaced. */
const withPrivateKeyLine = (line: string) => envText.replace(/^WXPAY_PRIVATE_KEY=.*$/m, () => line);

/**
 * What a deployed function holds after `tcb fn deploy` with this .env, loaded as its runtime loads it; throws
 * when the deploy would fail or a key would come out different from the original.
 */
function deployedKeysMatch(dotenv: string): void {
  const deployed = simulateTcbDeploy(rcText, dotenv);
  expect(deployed.envId).toBe('cloud1-abc');
  expect(Object.keys(deployed.envVariables)).toEqual(['wxpay-pay-notify', 'wxpay-refund-notify', 'wxpay-reconcile', 'wxpay-connector']);
  for (const env of Object.values(deployed.envVariables)) {
    const resolved = resolveConfig(deployConfig(v3Config()).config, { baseDir: work, env });
    expect(resolved.v3!.privateKey.export({ type: 'pkcs8', format: 'pem' })).toBe(PRIVATE_PEM);
    expect(resolved.v3!.platformKeys[PLATFORM_KEY_ID]!.export({ type: 'spki', format: 'pem' })).toBe(PLATFORM_PEM);
    expect(resolved.v3!.apiV3Key).toBe(API_V3_KEY);
  }
}

describe('the .env that weda-wxpay env writes', () => {
  it('gives every variable on one line, PEM line breaks as literal \\n, unquoted', () => {
    const lines = envText.split('\n').filter((l) => /^[A-Z_0-9]+=/.test(l));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('ENV_ID=cloud1-abc');
    expect(lines[1]).toBe(`WXPAY_PRIVATE_KEY=${PRIVATE_PEM.trimEnd().split('\n').join('\\n')}`);
    expect(lines[2]).toBe(`WXPAY_APIV3_KEY=${API_V3_KEY}`);
    expect(lines[3]).toBe(`WXPAY_PLATFORM_KEY_1=${PLATFORM_PEM.trimEnd().split('\n').join('\\n')}`);
    for (const l of lines) expect(l).not.toMatch(/=["'`]/);
  });

  it('survives the CLI substitution: the functions get the original keys, as their runtime loads them', () => {
    expect(() => deployedKeysMatch(envText)).not.toThrow();
    // After JSON.parse the PEM has its line breaks back: the text is the original file's (without its last newline).
    const deployed = simulateTcbDeploy(rcText, envText);
    expect(deployed.envVariables['wxpay-pay-notify']!.WXPAY_PRIVATE_KEY).toBe(PRIVATE_PEM.trimEnd());
    // The single-quoted form survives too (dotenv leaves \n alone inside single quotes).
    const single = withPrivateKeyLine(`WXPAY_PRIVATE_KEY='${PRIVATE_PEM.trimEnd().split('\n').join('\\n')}'`);
    expect(() => deployedKeysMatch(single)).not.toThrow();
  });

  it('the forms that break a real deploy fail the same simulation', () => {
    // Multi-line in double quotes: dotenv keeps the real line breaks, JSON refuses them.
    const multiLine = withPrivateKeyLine(`WXPAY_PRIVATE_KEY="${PRIVATE_PEM.trimEnd()}"`);
    expect(() => simulateTcbDeploy(rcText, multiLine)).toThrow(SyntaxError);
    expect(() => simulateTcbDeploy(rcText, multiLine)).toThrow(/control character/);
    // Multi-line unquoted: dotenv reads the first line only; the key that arrives is not the key.
    const unquoted = withPrivateKeyLine(`WXPAY_PRIVATE_KEY=${PRIVATE_PEM.trimEnd()}`);
    expect(parseDotenv(unquoted).WXPAY_PRIVATE_KEY).toBe('-----BEGIN PRIVATE KEY-----');
    expect(() => deployedKeysMatch(unquoted)).toThrow();
    // One line in double quotes: dotenv expands \n into real line breaks, JSON refuses them ("Bad control character").
    const doubleQuoted = withPrivateKeyLine(`WXPAY_PRIVATE_KEY="${PRIVATE_PEM.trimEnd().split('\n').join('\\n')}"`);
    expect(() => simulateTcbDeploy(rcText, doubleQuoted)).toThrow(/Bad control character/);
  });

  it('is readable by its owner only, and nothing else in the build holds a secret', () => {
    expect(fs.statSync(path.join(dist, '.env')).mode & 0o777).toBe(0o600);
    const files: string[] = [];
    const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
    walk(dist);
    const keyLines = [...PRIVATE_PEM.split('\n'), ...PLATFORM_PEM.split('\n')].filter((l) => l.length >= 40 && !l.startsWith('-----'));
    for (const file of files.filter((f) => path.basename(f) !== '.env')) {
      const text = fs.readFileSync(file, 'utf8');
      expect({ file, apiV3Key: text.includes(API_V3_KEY), keyLine: keyLines.some((l) => text.includes(l)) }).toEqual({ file, apiV3Key: false, keyLine: false });
    }
  });
});

describe('values that would break the deploy are refused, naming the variable and where it came from', () => {
  it.each([
    ['a double quote', 'abc"def', /contains a double quote/],
    ['a backslash that is not a \\n line break', 'C:\\keys\\x', /backslash other than the \\n line breaks/],
    ['a tab', 'abc\tdef', /control character U\+0009/],
    ['a # (dotenv would cut the value there)', 'abc#def', /contains #/],
    ['a leading quote', "'abc", /starts with a space or a quote/],
    ['nothing', '', /is empty/],
  ])('%s', (_what, value, reason) => {
    expect(() => envLine('WXPAY_APIV3_KEY', value, 'v3.apiV3KeyEnv')).toThrow(reason);
    expect(() => envLine('WXPAY_APIV3_KEY', value, 'v3.apiV3KeyEnv')).toThrow(/^WXPAY_APIV3_KEY \(from v3\.apiV3KeyEnv\) /);
  });

  it('a PEM with CRLF line breaks, or already in the one-line form, comes out the same', () => {
    const oneLine = PRIVATE_PEM.trimEnd().split('\n').join('\\n');
    expect(envLine('K', PRIVATE_PEM.replace(/\n/g, '\r\n'), 'x')).toBe(`K=${oneLine}`);
    expect(envLine('K', oneLine, 'x')).toBe(`K=${oneLine}`);
  });

  it('a configured APIv3 key with a double quote: the error names v3.apiV3Key', () => {
    const config = v3Config({ apiV3KeyEnv: undefined, apiV3Key: 'Zq7Wm2Xc9Lp4Rt6Yb1Nv8Kd3Hs5Gf0J"' });
    expect(() => renderDeployEnv(config, { baseDir: work })).toThrow(/^WXPAY_APIV3_KEY \(from v3\.apiV3Key\) contains a double quote/);
  });

  it('a variable the configuration names but this shell lacks: the error names the field', () => {
    expect(() => renderDeployEnv(v3Config(), { baseDir: work, env: {} })).toThrow('weda-wxpay.config.json: v3.apiV3KeyEnv gives no value for WXPAY_APIV3_KEY (that environment variable is not set here)');
  });

  it('a key file that cannot be read: the error names the field and the file', () => {
    expect(() => renderDeployEnv(v3Config({ privateKeyPath: 'certs/missing.pem' }), { baseDir: work, env: { WXPAY_APIV3_KEY: API_V3_KEY } }))
      .toThrow(`weda-wxpay.config.json: v3.privateKeyPath cannot be read (${path.join(work, 'certs', 'missing.pem')})`);
  });
});

describe('ENV_ID', () => {
  const env = { WXPAY_APIV3_KEY: API_V3_KEY };
  const envIdOf = (text: string) => parseDotenv(text).ENV_ID;

  it('is --env-id when given, else the notify URL\'s default domain, else CloudPay\'s envId', () => {
    expect(envIdOf(renderDeployEnv(v3Config(), { baseDir: work, env, envId: 'cloud2-xyz' }))).toBe('cloud2-xyz');
    expect(envIdOf(renderDeployEnv(v3Config({ notifyUrl: 'https://shop-1a2b.ap-shanghai.app.tcloudbase.com/pay' }), { baseDir: work, env }))).toBe('shop-1a2b');
    const cloudpay = { provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109', envType: 'pre', cloudpay: { envId: 'cloud1-7g8h9i', payCallbackFunction: 'wxpay-pay-notify' } } as WedaWxpayConfig;
    const text = renderDeployEnv(cloudpay, { baseDir: work });
    expect(parseDotenv(text)).toEqual({ ENV_ID: 'cloud1-7g8h9i' }); // CloudPay: no keys
  });

  it('a custom domain and no --env-id: the error asks for it', () => {
    expect(() => renderDeployEnv(v3Config({ notifyUrl: 'https://pay.example.com/pay-notify' }), { baseDir: work, env })).toThrow('cannot tell the CloudBase environment id (ENV_ID); pass --env-id <id>');
  });
});

describe('writing it', () => {
  it('refuses a folder whose cloudbaserc.json reads a variable this configuration does not give', () => {
    const other = path.join(work, 'other-dist');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'cloudbaserc.json'), rcText.replace('{{env.WXPAY_APIV3_KEY}}', '{{env.SHOP_APIV3_KEY}}'));
    expect(() => writeDeployEnv({ configPath, outFile: path.join(other, '.env'), env: { WXPAY_APIV3_KEY: API_V3_KEY }, root: REPO_ROOT }))
      .toThrow(/cloudbaserc\.json reads SHOP_APIV3_KEY, which .* does not give: build and env from the same configuration/);
    expect(fs.existsSync(path.join(other, '.env'))).toBe(false);
  });

  it('the CLI: weda-wxpay env --config … --out … writes the same file', async () => {
    const out = path.join(work, 'cli', '.env');
    const { stderr } = await promisify(execFile)(process.execPath, [CLI, 'env', '--config', configPath, '--out', out], {
      cwd: work, env: { PATH: process.env.PATH ?? '', WXPAY_APIV3_KEY: API_V3_KEY },
    });
    expect(stderr).toContain(`wrote ${out} (ENV_ID, WXPAY_PRIVATE_KEY, WXPAY_APIV3_KEY, WXPAY_PLATFORM_KEY_1)`);
    expect(fs.readFileSync(out, 'utf8')).toBe(envText);
    const help = await promisify(execFile)(process.execPath, [CLI, 'env', '--help']);
    expect(help.stdout).toMatch(/^Usage: weda-wxpay env/);
  });
});

describe('.env.example at the root of the checkout', () => {
  it('is what the build writes for the README\'s v3 configuration, with the sample key line, and names the command', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const config = [...readme.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((m) => { try { return JSON.parse(m[1]!) as WedaWxpayConfig; } catch { return undefined; } })
      .find((c) => c?.provider === 'v3')!;
    const example = fs.readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
    expect(example).toBe(renderEnvExample(config, deployConfig(config).secretEnv, { pemSample: true }));
    expect(example).toContain('npx weda-wxpay env --config weda-wxpay.config.json');
    expect(example).toMatch(/line breaks written as the two\n# characters \\n, unquoted/);
    expect(example.split('\n').filter((l) => /^[A-Z_0-9]+=/.test(l))).toEqual(['ENV_ID=', 'WXPAY_PRIVATE_KEY=', 'WXPAY_APIV3_KEY=', 'WXPAY_PLATFORM_KEY_1=']);
  });
});
