/**
 * The production store path of a built bundle: with WEDA_WXPAY_STORE unset the function talks to CloudBase
 * data models through @cloudbase/node-sdk (not bundled; installed by CloudBase, here found in node_modules).
 * The models gateway is a loopback HTTPS emulator (test/helpers/cloudbase-emulator.ts), trusted through
 * NODE_EXTRA_CA_CERTS; the payment provider is the sandbox.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cloudPayPaymentEvent, newOrderNo, placeAndPay, sinkConnector, startCallbackDev, startSink, Sink, TestDev } from './helpers/callback-harness';
import { buildInto, runFunction, sandboxBuildConfig, sandboxSecrets } from './helpers/callback-bundle';
import { CloudbaseEmulator, startCloudbaseEmulator } from './helpers/cloudbase-emulator';

let t: TestDev;
let sink: Sink;
let emu: CloudbaseEmulator;
let dir: string;
let built: Awaited<ReturnType<typeof buildInto>>;
beforeAll(async () => {
  t = await startCallbackDev();
  sink = await startSink();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-cb-'));
  emu = await startCloudbaseEmulator({ dataDir: path.join(dir, 'models') });
  fs.writeFileSync(path.join(dir, 'ca.pem'), emu.caPem);
  built = await buildInto(sandboxBuildConfig(t, { envType: 'prod' }));
}, 60_000);
afterAll(async () => {
  built?.cleanup();
  await emu?.close();
  await t?.close();
  await sink?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('pay-notify marks a CloudBase-model order paid through the models API, envType prod, compare-and-set', async () => {
  const orderNo = newOrderNo('CBS');
  await emu.backing.callModel({ name: 'orders', methodName: 'wedaCreateV2', params: { data: { orderNo, amount: 600, status: 1 } }, envType: 'prod' });
  const tx = await placeAndPay(t, sinkConnector(t, sink.url), orderNo, 600);
  const env = {
    ...sandboxSecrets(t),
    WEDA_WXPAY_ENV_ID: 'wxpay-test-1a2b3c',
    WEDA_WXPAY_CLOUDBASE_SERVICE_URL: emu.serviceUrl,
    WEDA_WXPAY_CLOUDBASE_ACCESS_KEY: emu.accessKey,
    NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem'),
    TENCENTCLOUD: 'true', // no cloud-platform metadata probe (weda.md §4.4)
  };
  const payNotify = built.functions.find((f) => f.kind === 'pay-notify')!.dir;
  const first = await runFunction(payNotify, cloudPayPaymentEvent(t, tx), env);
  expect(first.result).toEqual({ errcode: 0, errmsg: 'OK' });
  const again = await runFunction(payNotify, cloudPayPaymentEvent(t, tx), env);
  expect(again.result).toEqual({ errcode: 0, errmsg: 'OK (duplicate)' });

  const order = await emu.backing.callModel({ name: 'orders', methodName: 'wedaGetItemV2', params: { filter: { where: { orderNo: { $eq: orderNo } } } }, envType: 'prod' });
  expect(order).toMatchObject({ status: 2, transactionId: tx.transaction_id });
  // The update went out as one updateMany whose filter carries the expected status.
  const updates = emu.requests.filter((r) => r.method === 'PUT' && r.path === '/v1/model/prod/orders/updateMany');
  expect(updates).toHaveLength(1);
  expect(updates[0]!.body).toMatchObject({
    data: { status: 2, transactionId: tx.transaction_id },
    filter: { where: { $and: [{ orderNo: { $eq: orderNo } }, { status: { $eq: 1 } }] } },
    envType: 'prod',
  });
  expect(emu.requests.every((r) => r.path.startsWith('/v1/model/prod/'))).toBe(true);
});
