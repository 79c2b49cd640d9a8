/**
 * The generator: configuration in, one readable index.js per function out. Bad `callbacks` options are refused
 * with the field and the rule; secrets become environment variable names; names and dependencies follow the
 * configuration.
 */
import vm from 'node:vm';
import { deployConfig, generateFunctions } from '../callbacks/generate';
import { reconcileSettings } from '../callbacks/runtime/reconcile';

const v3Config = (extra: Record<string, unknown> = {}) => ({
  provider: 'v3', appid: 'wx1234567890abcdef', mchid: '1900000109', envType: 'prod',
  v3: {
    merchantSerialNo: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1', privateKeyPath: 'keys/apiclient_key.pem', apiV3Key: 'a'.repeat(32),
    platformKeys: [{ id: 'PUB_KEY_ID_0114232134912410000000000000000' + '1', path: 'keys/pub_key.pem' }],
    notifyUrl: 'https://example.com/wxpay/notify',
  },
  ...extra,
}) as never;

it('turns key files and key values into environment variable names', () => {
  const { config, secretEnv } = deployConfig(v3Config());
  expect(config.v3).toEqual({
    merchantSerialNo: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1', privateKeyEnv: 'WXPAY_PRIVATE_KEY', apiV3KeyEnv: 'WXPAY_APIV3_KEY',
    platformKeys: [{ id: 'PUB_KEY_ID_01142321349124100000000000000001', env: 'WXPAY_PLATFORM_KEY_1' }],
    notifyUrl: 'https://example.com/wxpay/notify',
  });
  expect(secretEnv).toEqual(['WXPAY_PRIVATE_KEY', 'WXPAY_APIV3_KEY', 'WXPAY_PLATFORM_KEY_1']);
  for (const f of generateFunctions({ config: v3Config() })) {
    expect(f.source).not.toContain('a'.repeat(32));
    expect(f.source).not.toContain('apiclient_key.pem');
    expect(f.source).toContain('WXPAY_APIV3_KEY');
    expect(f.envVariables).toEqual({ WXPAY_PRIVATE_KEY: '{{env.WXPAY_PRIVATE_KEY}}', WXPAY_APIV3_KEY: '{{env.WXPAY_APIV3_KEY}}', WXPAY_PLATFORM_KEY_1: '{{env.WXPAY_PLATFORM_KEY_1}}' });
    // v3 without a payer message needs no wx-server-sdk.
    expect(f.dependencies).toEqual({ '@cloudbase/node-sdk': expect.any(String) });
  }
});

it('keeps secrets already given as environment variable names', () => {
  const cfg = v3Config();
  const v3 = (cfg as any).v3;
  delete v3.privateKeyPath; delete v3.apiV3Key;
  v3.privateKeyEnv = 'MY_KEY'; v3.apiV3KeyEnv = 'MY_V3_KEY';
  expect(deployConfig(cfg).secretEnv).toEqual(['MY_KEY', 'MY_V3_KEY', 'WXPAY_PLATFORM_KEY_1']);
});

it('names the functions as configured and gives reconcile its timer', () => {
  const fns = generateFunctions({ config: v3Config({ functions: { payNotify: 'payCb', refundNotify: 'refundCb', reconcile: 'dui-zhang' }, callbacks: { reconcile: { schedule: '0 0 * * * * *' }, timeoutSeconds: { reconcile: 120 } } }) });
  expect(fns.map((f) => [f.kind, f.name, f.timeout])).toEqual([['pay-notify', 'payCb', 20], ['refund-notify', 'refundCb', 20], ['reconcile', 'dui-zhang', 120], ['connector', 'wxpay-connector', 20]]);
  expect(fns[2]!.triggers).toEqual([{ name: 'reconcile', type: 'timer', config: '0 0 * * * * *' }, { name: 'reconcile-bill', type: 'timer', config: '0 30 10 * * * *' }]);
  for (const f of fns) expect(() => new vm.Script(f.source)).not.toThrow();
  expect(fns[0]!.source).toContain("const kit = wxpay.functionKit({ name: 'payCb',");
});

it.each([
  [{ reconcile: { closeAfterMinutes: 1 } }, /callbacks.*reconcile\.closeAfterMinutes.*5/],
  [{ reconcile: { schedule: '*/5 * * * *' } }, /reconcile\.schedule/],
  [{ payerMessage: { data: { thing1: '{orderNo}' } } }, /payerMessage.*templateId/],
  [{ retries: 3 }, /retries/],
])('refuses callbacks options %j', (callbacks, message) => {
  expect(() => generateFunctions({ config: v3Config({ callbacks }) })).toThrow(message);
});

it('refuses a configuration that breaks its schema before generating anything', () => {
  expect(() => generateFunctions({ config: v3Config({ fields: { orderNo: 'order-no' } }) })).toThrow(/fields\.orderNo/);
  expect(() => generateFunctions({ config: v3Config({ envType: 'staging' }) })).toThrow(/envType/);
});

it('never lets reconcile close before the 5-minute rule, and bounds the batch', () => {
  expect(reconcileSettings({ closeAfterMinutes: 1 }).closeAfterMinutes).toBe(5);
  expect(reconcileSettings({ batchSize: 10_000 }).batchSize).toBe(200);
  expect(reconcileSettings({})).toEqual({ queryAfterMinutes: 5, closeAfterMinutes: 30, batchSize: 50, budgetMs: 40_000 });
});

it('keeps reconcile inside its function timeout unless a budget is configured', () => {
  const budget = (callbacks: Record<string, unknown>) => {
    const src = generateFunctions({ config: v3Config({ callbacks }) }).find((f) => f.kind === 'reconcile')!.source;
    return Number(/budgetMs: (\d+)/.exec(src)?.[1]);
  };
  expect(budget({})).toBe(40_000);
  expect(budget({ timeoutSeconds: { reconcile: 30 } })).toBe(20_000);
  expect(budget({ timeoutSeconds: { reconcile: 30 }, reconcile: { budgetMs: 25_000 } })).toBe(25_000);
});
