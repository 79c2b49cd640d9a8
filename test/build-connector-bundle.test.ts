/**
 * The connector cloud function as built by `npm run build`, run in a fresh Node process against the sandbox:
 * the call the exported WeDa method makes (`{method, params}`) gets `{ok, data}`, and bad input gets
 * `{ok: false, error}` naming the field, with nothing sent to WeChat Pay.
 */
import path from 'node:path';
import { startCallbackDev, newOrderNo, TestDev } from './helpers/callback-harness';
import { buildInto, runFunction, sandboxBuildConfig, sandboxSecrets } from './helpers/callback-bundle';

let t: TestDev;
let built: Awaited<ReturnType<typeof buildInto>>;
let env: Record<string, string>;
beforeAll(async () => {
  t = await startCallbackDev();
  built = await buildInto(sandboxBuildConfig(t));
  env = { ...sandboxSecrets(t), WEDA_WXPAY_STORE: `sqlite:${path.join(t.dataDir, 'models')}` };
}, 60_000);
afterAll(async () => {
  built?.cleanup();
  await t?.close();
});

const connectorDir = () => built.functions.find((f) => f.kind === 'connector')!.dir;

it('runs unifiedOrder and queryOrder for the WeDa connector methods', async () => {
  const outTradeNo = newOrderNo('K');
  const placed = await runFunction(connectorDir(), { method: 'unifiedOrder', params: { body: '咖啡券', outTradeNo, totalFee: 1800, openid: 'o-bundle' } }, env);
  expect(placed.result.ok).toBe(true);
  expect(placed.result.data).toMatchObject({ outTradeNo, payment: { signType: 'RSA', package: expect.stringMatching(/^prepay_id=/) } });
  const queried = await runFunction(connectorDir(), { method: 'queryOrder', params: { outTradeNo } }, env);
  expect(queried.result).toEqual({ ok: true, data: expect.objectContaining({ outTradeNo, tradeState: 'NOTPAY', totalFee: 1800 }) });
});

it('answers bad input as an error naming the field, sending nothing', async () => {
  const sent = await t.sandboxRequestCount();
  const run = await runFunction(connectorDir(), { method: 'refund', params: { outTradeNo: newOrderNo('K'), outRefundNo: 'R1', totalFee: 10, refundFee: 0 } }, env);
  expect(run.result).toMatchObject({ ok: false, error: { code: 'PARAM_ERROR', retryable: false, detail: { field: 'refundFee' } } });
  expect(run.result.error.message).toMatch(/refundFee must be an integer ≥ 1/);
  expect(await t.sandboxRequestCount()).toBe(sent);
});
