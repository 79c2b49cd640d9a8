/**
 * A payment notification that is not provably from WeChat Pay changes nothing (peers.md §3.3, §3.5):
 * bad signature, stale timestamp, tampered ciphertext, signature probe, unknown serial. Each is refused with
 * a non-2xx status so the real WeChat Pay would resend a proper one (wxpay-v3.md §3–4).
 */
import { generateKeyPairSync } from 'node:crypto';
import { rsaSign, responseSignatureMessage, unixSeconds } from '../wxpay';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';
import { deliver, platformPrivateKey, signedNotification, transactionResource } from './helpers/notify';

let t: TestDev;
let orderNo: string;
beforeAll(async () => {
  t = await startTestDev({ seedGoods: false });
  orderNo = newOrderNo('F');
  await t.model('orders', 'wedaCreateV2', { data: { orderNo, amount: 100, status: 1 } });
});
afterAll(async () => { await t?.close(); });

const statusOf = async () => (await t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: orderNo } } } })).status;

it('refuses a notification signed with a key that is not WeChat Pay\'s', async () => {
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  expect(await deliver(t, signedNotification(t, transactionResource(t, orderNo, 100), { key: stranger }))).toBe(401);
  expect(await statusOf()).toBe(1);
});

it('refuses a correctly signed notification whose timestamp is older than 5 minutes', async () => {
  const stale = signedNotification(t, transactionResource(t, orderNo, 100), { timestamp: unixSeconds() - 400 });
  expect(await deliver(t, stale)).toBe(401);
  expect(await statusOf()).toBe(1);
});

it('refuses a tampered ciphertext even when the envelope is re-signed with the real key', async () => {
  const n = signedNotification(t, transactionResource(t, orderNo, 100));
  const envelope = JSON.parse(n.body);
  const bytes = Buffer.from(envelope.resource.ciphertext, 'base64');
  bytes[10] = bytes[10]! ^ 0x01;
  envelope.resource.ciphertext = bytes.toString('base64');
  const body = JSON.stringify(envelope);
  const ts = n.headers['Wechatpay-Timestamp'];
  const nonce = n.headers['Wechatpay-Nonce'];
  const headers = { ...n.headers, 'Wechatpay-Signature': rsaSign(responseSignatureMessage(ts, nonce, body), platformPrivateKey(t)) };
  expect(await deliver(t, { body, headers })).toBe(400);
  expect(await statusOf()).toBe(1);
});

it('refuses a body changed after signing', async () => {
  const n = signedNotification(t, transactionResource(t, orderNo, 100));
  expect(await deliver(t, { body: n.body.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS" '), headers: n.headers })).toBe(401);
  expect(await statusOf()).toBe(1);
});

it('refuses a WECHATPAY/SIGNTEST/ probe and an unknown serial', async () => {
  const n = signedNotification(t, transactionResource(t, orderNo, 100));
  expect(await deliver(t, { body: n.body, headers: { ...n.headers, 'Wechatpay-Signature': `WECHATPAY/SIGNTEST/${n.headers['Wechatpay-Signature']}` } })).toBe(401);
  const unknown = signedNotification(t, transactionResource(t, orderNo, 100), { serial: 'PUB_KEY_ID_0000000000000000000000000000000000' });
  expect(await deliver(t, unknown)).toBe(401);
  expect(await statusOf()).toBe(1);
});

it('still accepts the genuine article afterwards', async () => {
  expect(await deliver(t, signedNotification(t, transactionResource(t, orderNo, 100)))).toBe(204);
  expect(await statusOf()).toBe(2);
});
