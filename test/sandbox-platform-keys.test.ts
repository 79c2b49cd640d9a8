/**
 * Both ways of knowing WeChat Pay's key (wxpay-v3.md §3): the public key id (default) and the platform certificate.
 * `GET /v3/certificates` hands out the certificate encrypted with AEAD_AES_256_GCM (associated_data "certificate"),
 * so certificate-mode SDKs can bootstrap; with `notificationSerial: 'certificate'` notifications and un-asked
 * responses are signed under the certificate serial.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Aes } from 'wechatpay-axios-plugin';
import { WechatpayVerifier } from '../wxpay';
import { RunningSandbox, startSandbox } from '../sandbox';
import { newOutTradeNo, paidOrder, platformVerifier, startVerifyingReceiver, tempDataDir, v3Request, waitFor } from './helpers/sandbox-harness';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function start(opts: { notificationSerial?: 'publicKey' | 'certificate' } = {}): Promise<RunningSandbox> {
  const dir = tempDataDir();
  const s = await startSandbox({ dataDir: dir.dir, ...opts });
  cleanups.push(dir.remove, s.close);
  return s;
}

test('GET /v3/certificates: the platform certificate, AEAD_AES_256_GCM-encrypted under the APIv3 key, decryptable by an independent SDK', async () => {
  const sandbox = await start();
  const res = await v3Request(sandbox.info, 'GET', '/v3/certificates');
  expect(res.status).toBe(200);
  // Signed with the certificate itself (the client has nothing else yet) unless it asked for the public key.
  expect(res.headers['wechatpay-serial']).toBe(sandbox.info.platform.certSerial);
  expect(() => platformVerifier(sandbox.info, 'certSerial').verify(res.headers, res.text)).not.toThrow();
  expect(res.json.data).toHaveLength(1);
  const [entry] = res.json.data;
  expect(entry).toMatchObject({
    serial_no: sandbox.info.platform.certSerial,
    effective_time: expect.stringMatching(/\+08:00$/), expire_time: expect.stringMatching(/\+08:00$/),
    encrypt_certificate: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'certificate', nonce: expect.stringMatching(/^[0-9A-Za-z]{12}$/), ciphertext: expect.any(String) },
  });
  const { nonce, associated_data: aad, ciphertext } = entry.encrypt_certificate;
  const pem = Aes.AesGcm.decrypt(ciphertext, sandbox.info.merchant.apiV3Key, nonce, aad) as string;
  expect(pem).toBe(readFileSync(sandbox.info.platform.certPath, 'utf8'));
  const cert = new X509Certificate(pem);
  expect(cert.serialNumber.toUpperCase()).toBe(sandbox.info.platform.certSerial);
  expect(Date.parse(entry.expire_time)).toBe(Date.parse(cert.validTo));
  // A certificate-mode client now verifies the sandbox's answers with what it downloaded.
  const downloaded = new WechatpayVerifier({ keys: { [entry.serial_no]: pem } });
  const q = await v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${newOutTradeNo()}?mchid=${sandbox.info.merchant.mchid}`, undefined, { headers: { 'Wechatpay-Serial': entry.serial_no } });
  expect(() => downloaded.verify(q.headers, q.text)).not.toThrow();
  const asked = await v3Request(sandbox.info, 'GET', '/v3/certificates', undefined, { headers: { 'Wechatpay-Serial': sandbox.info.platform.publicKeyId } });
  expect(asked.headers['wechatpay-serial']).toBe(sandbox.info.platform.publicKeyId);
});

test("notificationSerial 'certificate': notifications and un-asked responses carry the certificate serial; a request naming the public key id still gets it", async () => {
  const sandbox = await start({ notificationSerial: 'certificate' });
  const rx = await startVerifyingReceiver(sandbox.info);
  cleanups.push(rx.close);
  const order = await paidOrder(sandbox.info, rx.url);
  await waitFor(() => rx.received.length === 1, 'the notification');
  expect(rx.received[0]!.headers['wechatpay-serial']).toBe(sandbox.info.platform.certSerial);
  expect(rx.received[0]!.ok).toBe(true);
  // A receiver holding only the certificate verifies it.
  expect(() => platformVerifier(sandbox.info, 'certSerial').verify(rx.received[0]!.headers, rx.received[0]!.rawBody)).not.toThrow();

  const queryUrl = `/v3/pay/transactions/out-trade-no/${order.out_trade_no}?mchid=${sandbox.info.merchant.mchid}`;
  const plain = await v3Request(sandbox.info, 'GET', queryUrl);
  expect(plain.headers['wechatpay-serial']).toBe(sandbox.info.platform.certSerial);
  const byKeyId = await v3Request(sandbox.info, 'GET', queryUrl, undefined, { headers: { 'Wechatpay-Serial': sandbox.info.platform.publicKeyId } });
  expect(byKeyId.headers['wechatpay-serial']).toBe(sandbox.info.platform.publicKeyId);
  expect(() => platformVerifier(sandbox.info, 'publicKeyId').verify(byKeyId.headers, byKeyId.text)).not.toThrow();
});

test("the default ('publicKey') signs notifications under PUB_KEY_ID_…", async () => {
  const sandbox = await start();
  const rx = await startVerifyingReceiver(sandbox.info);
  cleanups.push(rx.close);
  await paidOrder(sandbox.info, rx.url);
  await waitFor(() => rx.received.length === 1, 'the notification');
  expect(rx.received[0]!.headers['wechatpay-serial']).toBe(sandbox.info.platform.publicKeyId);
  expect(sandbox.info.platform.publicKeyId).toMatch(/^PUB_KEY_ID_0{13}\d{21}$/);
});
