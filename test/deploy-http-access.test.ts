/**
 * HTTP access for the v3 notify URLs (scripts/http-access.ts): the build derives `tcb service create -p <path>
 * -f <function>` from v3.notifyUrl / v3.refundNotifyUrl, checks the URLs can reach those functions (errors
 * name the field), prints the commands and writes them to http-access.sh — which is run here with a stand-in
 * `tcb` on PATH to see the calls it makes. CloudPay needs none.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_FUNCTION_NAMES } from '../config';
import { build } from '../scripts/build';
import { httpAccessCommands, planHttpAccess } from '../scripts/http-access';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { REPO_ROOT } from './helpers/paths';
import { deployV3Config as v3Config } from './helpers/tcb-deploy';


const cloudpayConfig = {
  provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109', envType: 'pre',
  cloudpay: { envId: 'cloud1-abc', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
} as WedaWxpayConfig;

const plan = (config: WedaWxpayConfig, envId?: string) => planHttpAccess(config, { functions: { ...DEFAULT_FUNCTION_NAMES, ...(config.functions ?? {}) }, ...(envId ? { envId } : {}) });

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-http-access-'));
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the commands', () => {
  it('route the pay and refund paths to their functions, in the environment the default domain names', () => {
    const access = plan(v3Config());
    expect(access.envId).toBe('cloud1-abc');
    expect(access.warnings).toEqual([]);
    expect(access.routes.map((r) => [r.field, r.path, r.functionName])).toEqual([
      ['v3.notifyUrl', '/wxpay/pay-notify', 'wxpay-pay-notify'],
      ['v3.refundNotifyUrl', '/wxpay/refund-notify', 'wxpay-refund-notify'],
    ]);
    expect(httpAccessCommands(access)).toEqual([
      'tcb service create -p /wxpay/pay-notify -f wxpay-pay-notify -e cloud1-abc',
      'tcb service create -p /wxpay/refund-notify -f wxpay-refund-notify -e cloud1-abc',
    ]);
  });

  it('follow the configured function names and the newer <envId>.<region>.app.tcloudbase.com domain', () => {
    const access = plan(v3Config({
      notifyUrl: 'https://shop-1a2b.ap-shanghai.app.tcloudbase.com/pay/notify',
      refundNotifyUrl: 'https://shop-1a2b.ap-shanghai.app.tcloudbase.com/pay/refund',
    }, { functions: { payNotify: 'shop-paid', refundNotify: 'shop-refunded' } }));
    expect(httpAccessCommands(access)).toEqual([
      'tcb service create -p /pay/notify -f shop-paid -e shop-1a2b',
      'tcb service create -p /pay/refund -f shop-refunded -e shop-1a2b',
    ]);
  });

  it('without a refund URL: the payment route only (refund results come through reconcile)', () => {
    expect(plan(v3Config({ refundNotifyUrl: undefined })).routes.map((r) => r.functionName)).toEqual(['wxpay-pay-notify']);
  });

  it('a custom domain: a warning (this build cannot see what it is bound to), and the environment from ENV_ID', () => {
    const access = plan(v3Config({ notifyUrl: 'https://pay.example.com/wxpay/pay-notify', refundNotifyUrl: 'https://pay.example.com/wxpay/refund-notify' }));
    expect(access.envId).toBeUndefined();
    expect(access.warnings).toEqual([
      expect.stringMatching(/^v3\.notifyUrl: pay\.example\.com is not a CloudBase default domain; .*tcb service domain bind pay\.example\.com/),
      expect.stringMatching(/^v3\.refundNotifyUrl: pay\.example\.com is not a CloudBase default domain/),
    ]);
    expect(httpAccessCommands(access)[0]).toBe('tcb service create -p /wxpay/pay-notify -f wxpay-pay-notify -e "$ENV_ID"');
    expect(httpAccessCommands(plan(v3Config({ notifyUrl: 'https://pay.example.com/n', refundNotifyUrl: undefined }), 'cloud9-x'))).toEqual(['tcb service create -p /n -f wxpay-pay-notify -e cloud9-x']);
  });

  it('CloudPay and the local sandbox need none, and say why', () => {
    expect(plan(cloudpayConfig)).toMatchObject({ routes: [], notNeeded: expect.stringMatching(/CloudPay calls the notify functions by name.*no HTTP access is needed/) });
    expect(plan({ ...v3Config({ notifyUrl: 'http://127.0.0.1:9/unused' }), provider: 'sandbox' } as WedaWxpayConfig)).toMatchObject({ routes: [], notNeeded: expect.stringMatching(/sandbox/) });
  });
});

describe('notify URLs that cannot reach the functions fail the build, naming the field', () => {
  it.each([
    ['http, not https', { notifyUrl: 'http://cloud1-abc.service.tcloudbase.com/pay-notify' }, /^weda-wxpay\.config\.json: v3\.notifyUrl must be an https:\/\/ URL/],
    ['no path', { notifyUrl: 'https://cloud1-abc.service.tcloudbase.com/' }, /^weda-wxpay\.config\.json: v3\.notifyUrl has no path/],
    ['the same path for both', { notifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay/notify', refundNotifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay/notify' }, /^weda-wxpay\.config\.json: v3\.refundNotifyUrl has the same path as v3\.notifyUrl \(\/wxpay\/notify\): one path routes to one function/],
    ['the two URLs swapped', { notifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay/refund-notify', refundNotifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay/pay-notify' }, /^weda-wxpay\.config\.json: v3\.notifyUrl path \/wxpay\/refund-notify names "refund-notify", but payment results go to wxpay-pay-notify; are v3\.notifyUrl and v3\.refundNotifyUrl swapped\?/],
    ['a refund path naming the pay function', { refundNotifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay-pay-notify/refund' }, /^weda-wxpay\.config\.json: v3\.refundNotifyUrl path \/wxpay-pay-notify\/refund names "wxpay-pay-notify", but refund results go to wxpay-refund-notify/],
    ['a CloudBase domain that is not HTTP access (static hosting)', { notifyUrl: 'https://cloud1-abc-1300000000.tcloudbaseapp.com/pay-notify' }, /^weda-wxpay\.config\.json: v3\.notifyUrl host cloud1-abc-1300000000\.tcloudbaseapp\.com is a CloudBase domain but not HTTP access's/],
    ['this machine', { notifyUrl: 'https://localhost/pay-notify' }, /^weda-wxpay\.config\.json: v3\.notifyUrl host localhost is this machine/],
    ['two environments', { refundNotifyUrl: 'https://cloud2-xyz.service.tcloudbase.com/wxpay/refund-notify' }, /^weda-wxpay\.config\.json: v3\.refundNotifyUrl is on environment cloud2-xyz's domain but v3\.notifyUrl on cloud1-abc's/],
  ])('%s', (_what, v3, message) => {
    expect(() => plan(v3Config(v3))).toThrow(message);
  });

  it('a default domain of another environment than --env-id', () => {
    expect(() => plan(v3Config(), 'cloud2-xyz')).toThrow(/^weda-wxpay\.config\.json: v3\.notifyUrl is on environment cloud1-abc's domain \(cloud1-abc\.service\.tcloudbase\.com\), but the functions deploy to cloud2-xyz \(--env-id\)/);
  });

  it('the build stops before writing anything', async () => {
    const out = path.join(work, 'refused');
    const logs: string[] = [];
    await expect(build({ config: v3Config({ notifyUrl: 'http://cloud1-abc.service.tcloudbase.com/pay-notify' }), outDir: out, root: REPO_ROOT, log: (l) => logs.push(l) })).rejects.toThrow(/v3\.notifyUrl must be an https:\/\/ URL/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('dist/http-access.sh', () => {
  /** A stand-in `tcb` that records its arguments, one call per line. */
  function fakeTcb(): { bin: string; calls: () => string[] } {
    const bin = fs.mkdtempSync(path.join(work, 'bin-'));
    const record = path.join(bin, 'calls.log');
    fs.writeFileSync(path.join(bin, 'tcb'), `#!/bin/sh\necho "$*" >> '${record}'\n`, { mode: 0o755 });
    return { bin, calls: () => (fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim().split('\n') : []) };
  }
  const run = (script: string, env: Record<string, string>) => promisify(execFile)('sh', [script], { cwd: work, env: { PATH: `${env.BIN}:${process.env.PATH ?? ''}`, ...env } });

  it('the build prints the commands and writes them to a script that makes exactly those calls', async () => {
    const out = path.join(work, 'v3');
    const logs: string[] = [];
    const built = await build({ config: v3Config(), outDir: out, root: REPO_ROOT, log: (l) => logs.push(l) });
    expect(built.httpAccessScript).toBe(path.join(out, 'http-access.sh'));
    expect(logs).toEqual(expect.arrayContaining([
      '  tcb service create -p /wxpay/pay-notify -f wxpay-pay-notify -e cloud1-abc',
      '  tcb service create -p /wxpay/refund-notify -f wxpay-refund-notify -e cloud1-abc',
    ]));
    expect(fs.statSync(built.httpAccessScript!).mode & 0o111).not.toBe(0);
    const tcb = fakeTcb();
    await run(built.httpAccessScript!, { BIN: tcb.bin });
    expect(tcb.calls()).toEqual([
      'service create -p /wxpay/pay-notify -f wxpay-pay-notify -e cloud1-abc',
      'service create -p /wxpay/refund-notify -f wxpay-refund-notify -e cloud1-abc',
    ]);
  }, 60_000);

  it('on a custom domain it takes ENV_ID from the environment or from the .env beside it, and stops without one', async () => {
    const out = path.join(work, 'custom');
    const logs: string[] = [];
    const built = await build({ config: v3Config({ notifyUrl: 'https://pay.example.com/n/pay', refundNotifyUrl: 'https://pay.example.com/n/refund' }), outDir: out, root: REPO_ROOT, log: (l) => logs.push(l) });
    expect(logs.filter((l) => l.startsWith('warning: '))).toHaveLength(2);
    const script = built.httpAccessScript!;

    const none = fakeTcb();
    await expect(run(script, { BIN: none.bin })).rejects.toMatchObject({ stderr: expect.stringMatching(/set ENV_ID to the CloudBase environment id/) });
    expect(none.calls()).toEqual([]);

    const fromEnv = fakeTcb();
    await run(script, { BIN: fromEnv.bin, ENV_ID: 'cloud7-env' });
    expect(fromEnv.calls()).toEqual(['service create -p /n/pay -f wxpay-pay-notify -e cloud7-env', 'service create -p /n/refund -f wxpay-refund-notify -e cloud7-env']);

    fs.writeFileSync(path.join(out, '.env'), 'ENV_ID=cloud8-file\nWXPAY_APIV3_KEY=x\n');
    const fromFile = fakeTcb();
    await run(script, { BIN: fromFile.bin });
    expect(fromFile.calls()[0]).toBe('service create -p /n/pay -f wxpay-pay-notify -e cloud8-file');
  }, 60_000);

  it('CloudPay: no script, a line that says none is needed, and a stale one from a v3 build is removed', async () => {
    const out = path.join(work, 'switch');
    await build({ config: v3Config(), outDir: out, root: REPO_ROOT });
    expect(fs.existsSync(path.join(out, 'http-access.sh'))).toBe(true);
    const logs: string[] = [];
    const built = await build({ config: cloudpayConfig, outDir: out, root: REPO_ROOT, log: (l) => logs.push(l) });
    expect(built.httpAccessScript).toBeUndefined();
    expect(fs.existsSync(path.join(out, 'http-access.sh'))).toBe(false);
    expect(logs).toContain(built.httpAccess.notNeeded);
    expect(built.httpAccess.notNeeded).toMatch(/no HTTP access is needed/);
  }, 60_000);
});
