/**
 * Interop with an independent SDK, wechatpay-axios-plugin: configured only from the ready
 * line (baseURL = info.baseUrl, the merchant key and serial, the platform key), it
 * (a) signs requests the sandbox accepts — prepay, query by out_trade_no and transaction_id, close, refund,
 *     refund query, trade bill and its (unsigned) download;
 * (b) verifies every response with the platform key, under the WeChat Pay public key id and under the platform
 *     certificate serial, and refuses responses signed with another key or under a serial it does not know;
 * (c) verifies and decrypts the sandbox's notifications with its own primitives (the plugin has no notification
 *     helper: Formatter.response + Rsa.verify, Aes.AesGcm.decrypt);
 * (d) gets 401 SIGN_ERROR for a request signed with the wrong key, a stale timestamp, or a body changed after
 *     signing.
 * Everything on loopback; nothing of wxpay/ is used on the client side.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Aes, Formatter, Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import { SandboxReadyInfo, startSandbox } from '../sandbox';
import { control, newOutTradeNo, ReceivedNotification, startReceiver, tempDataDir, waitFor, withSandbox } from './helpers/sandbox-harness';

type Client = InstanceType<typeof Wechatpay>;

let info: SandboxReadyInfo;
const cleanups: (() => Promise<void> | void)[] = [];

withSandbox({ refundSettleSeconds: null }, (s) => { info = s.info; });
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const merchantKey = () => readFileSync(info.merchant.privateKeyPath, 'utf8');
const platformPublicKey = () => readFileSync(info.platform.publicKeyPath, 'utf8');
const platformCert = () => readFileSync(info.platform.certPath, 'utf8');

/** The SDK as a merchant configures it; `by` picks which platform key id it trusts. */
function client(by: 'publicKeyId' | 'certSerial', overrides: { privateKey?: string; certs?: Record<string, string> } = {}): Client {
  const certs = overrides.certs ?? (by === 'publicKeyId' ? { [info.platform.publicKeyId]: platformPublicKey() } : { [info.platform.certSerial]: platformCert() });
  return new Wechatpay({
    baseURL: `${info.baseUrl}/`,
    mchid: info.merchant.mchid,
    serial: info.merchant.serialNo,
    privateKey: overrides.privateKey ?? merchantKey(),
    certs,
    // Ask for responses signed under the platform certificate serial when that is what we trust (wxpay-v3.md §3).
    ...(by === 'certSerial' ? { headers: { 'Wechatpay-Serial': info.platform.certSerial } } : {}),
  });
}

/** The rejection an axios call ended with: HTTP status + body, or the plugin's own verification error. */
async function failure(p: Promise<unknown>): Promise<{ status?: number; data?: any; code?: string; message: string }> {
  try {
    await p;
  } catch (err: any) {
    return { status: err.response?.status, data: err.response?.data, code: err.code, message: String(err.message) };
  }
  throw new Error('expected the call to fail');
}

async function receiver(): Promise<Awaited<ReturnType<typeof startReceiver>>> {
  const r = await startReceiver();
  cleanups.push(r.close);
  return r;
}

function prepayBody(outTradeNo: string, notifyUrl: string, total = 100) {
  return {
    appid: info.merchant.appid, mchid: info.merchant.mchid, description: 'Image形象店-深圳腾大-QQ公仔', out_trade_no: outTradeNo,
    notify_url: notifyUrl, amount: { total, currency: 'CNY' }, payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  };
}

/** What a merchant using only the plugin does with a notification: verify the signature, then decrypt. */
function openWithPlugin(n: ReceivedNotification, keys: Record<string, string>, apiV3Key: string): { envelope: any; resource: any } {
  const h = n.headers;
  const serial = String(h['wechatpay-serial']);
  const timestamp = String(h['wechatpay-timestamp']);
  expect(keys[serial]).toBeDefined();
  expect(Math.abs(Number(Formatter.timestamp()) - Number(timestamp))).toBeLessThan(300);
  const ok = Rsa.verify(Formatter.response(timestamp, String(h['wechatpay-nonce']), n.rawBody), String(h['wechatpay-signature']), Rsa.from(keys[serial]!, Rsa.KEY_TYPE_PUBLIC));
  expect(ok).toBe(true);
  const envelope = JSON.parse(n.rawBody);
  const r = envelope.resource;
  const resource = JSON.parse(Aes.AesGcm.decrypt(r.ciphertext, apiV3Key, r.nonce, r.associated_data));
  return { envelope, resource };
}

describe('(a)+(b) the plugin signs, the sandbox accepts; the sandbox signs, the plugin verifies', () => {
  test.each(['publicKeyId', 'certSerial'] as const)('prepay, query ×2, close (204), refund, refund query — trusting the platform key by %s', async (by) => {
    const wxpay = client(by);
    const expectedSerial = by === 'publicKeyId' ? info.platform.publicKeyId : info.platform.certSerial;
    const no = newOutTradeNo(by === 'publicKeyId' ? 'AXP' : 'AXC');

    const prepay = await wxpay.v3.pay.transactions.jsapi.post<any, { status: number; headers: Record<string, string>; data: any }>(prepayBody(no, 'https://merchant.example.com/notify'));
    expect(prepay.status).toBe(200);
    expect(prepay.headers['wechatpay-serial']).toBe(expectedSerial);
    expect(prepay.data.prepay_id).toMatch(/^wx/);

    // out_trade_no has capitals: the plugin's placeholder syntax, as its README says
    const q = await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: info.merchant.mchid }, out_trade_no: no } as any);
    expect(q.data).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 100 } });

    const paid = (await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    const byId = await wxpay.v3.pay.transactions.id._transaction_id_.get({ params: { mchid: info.merchant.mchid }, transaction_id: paid.transaction_id } as any);
    expect(byId.data).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS', transaction_id: paid.transaction_id });

    const refundNo = `${no}R`;
    const refund = await wxpay.v3.refund.domestic.refunds.post<any, { data: any }>({ out_trade_no: no, out_refund_no: refundNo, reason: '退货', amount: { refund: 40, total: 100, currency: 'CNY' } });
    expect(refund.data).toMatchObject({ out_refund_no: refundNo, status: 'PROCESSING', amount: { refund: 40, total: 100 } });
    const rq = await wxpay.v3.refund.domestic.refunds._out_refund_no_.get({ out_refund_no: refundNo } as any);
    expect(rq.data).toMatchObject({ refund_id: refund.data.refund_id, status: 'PROCESSING' });

    const toClose = newOutTradeNo('AXZ');
    await wxpay.v3.pay.transactions.jsapi.post(prepayBody(toClose, 'https://merchant.example.com/notify'));
    const closed = await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.close.post({ mchid: info.merchant.mchid }, { out_trade_no: toClose } as any);
    expect(closed.status).toBe(204); // the empty body was verified too (message ends "\n\n")
    expect(closed.headers['wechatpay-signature']).toBeTruthy();
    expect((await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: info.merchant.mchid }, out_trade_no: toClose } as any)).data.trade_state).toBe('CLOSED');
  });

  test('error answers come back as the v3 error body (the plugin does not verify non-2xx, like every SDK)', async () => {
    const f = await failure(client('publicKeyId').v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: info.merchant.mchid }, out_trade_no: 'NO_SUCH_ORDER_9' } as any));
    expect(f.status).toBe(404);
    expect(f.data).toMatchObject({ code: 'ORDER_NOT_EXIST', message: expect.any(String) });
  });

  test('trade bill: signed request, hash and download_url verified; the unsigned download (gzip too) matches the SHA-1', async () => {
    const wxpay = client('publicKeyId');
    const no = newOutTradeNo('AXB');
    await wxpay.v3.pay.transactions.jsapi.post(prepayBody(no, 'https://merchant.example.com/notify', 321));
    const paid = (await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    const day = String(paid.success_time).slice(0, 10);
    // the bill of day D exists from D+1 (sandbox clock); later tests do not depend on the date
    await control(info, 'POST', '/sandbox/clock/advance', { seconds: 86_400 });
    const bill = await wxpay.v3.bill.tradebill.get({ params: { bill_date: day, bill_type: 'ALL' } });
    expect(bill.data).toMatchObject({ hash_type: 'SHA1', hash_value: expect.stringMatching(/^[0-9a-f]{40}$/) });
    const url = new URL(bill.data.download_url);
    expect(url.origin).toBe(info.baseUrl);
    const file = await wxpay.v3.billdownload.file.get({ params: Object.fromEntries(url.searchParams), responseType: 'arraybuffer' });
    const bytes = Buffer.from(file.data);
    expect(file.headers['wechatpay-signature']).toBeUndefined(); // downloads are not signed; the SDK skips verification
    expect((Formatter.castCsvBill(bytes) as { rows: Record<string, string>[] }).rows.some((r: Record<string, string>) => Object.values(r).includes(no))).toBe(true);
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(bill.data.hash_value);

    const gz = await wxpay.v3.bill.tradebill.get({ params: { bill_date: day, tar_type: 'GZIP' } });
    const gzFile = await wxpay.v3.billdownload.file.get({ params: Object.fromEntries(new URL(gz.data.download_url).searchParams), responseType: 'arraybuffer' });
    expect(gunzipSync(Buffer.from(gzFile.data)).equals(bytes)).toBe(true);
  });

  test('the plugin refuses a sandbox response signed by another key, or under a serial it was not given', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const wrongKey = client('publicKeyId', { certs: { [info.platform.publicKeyId]: stranger } });
    const f1 = await failure(wrongKey.v3.pay.transactions.jsapi.post(prepayBody(newOutTradeNo('AXW'), 'https://merchant.example.com/notify')));
    expect(f1.code).toBe('EV3_RES_HEADER_SIGNATURE_DIGEST');

    // trusts only the certificate serial but does not ask for it: the sandbox signs under PUB_KEY_ID_…, unknown here
    const certOnly = new Wechatpay({ baseURL: `${info.baseUrl}/`, mchid: info.merchant.mchid, serial: info.merchant.serialNo, privateKey: merchantKey(), certs: { [info.platform.certSerial]: platformCert() } });
    const f2 = await failure(certOnly.v3.pay.transactions.jsapi.post(prepayBody(newOutTradeNo('AXS'), 'https://merchant.example.com/notify')));
    expect(f2.code).toBe('EV3_RES_HEADER_PLATFORM_SERIAL');
  });
});

describe('(c) notifications, verified and decrypted with the plugin primitives', () => {
  test('TRANSACTION.SUCCESS and REFUND.SUCCESS under the public key id', async () => {
    const wxpay = client('publicKeyId');
    const rx = await receiver();
    const no = newOutTradeNo('AXN');
    await wxpay.v3.pay.transactions.jsapi.post(prepayBody(no, rx.url));
    await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(() => rx.received.length === 1, 'the payment notification');
    const keys = { [info.platform.publicKeyId]: platformPublicKey() };
    const pay = openWithPlugin(rx.received[0]!, keys, info.merchant.apiV3Key);
    expect(pay.envelope).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', resource: { algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction' } });
    expect(pay.resource).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS', mchid: info.merchant.mchid, amount: { total: 100 } });

    await wxpay.v3.refund.domestic.refunds.post({ out_trade_no: no, out_refund_no: `${no}R`, notify_url: rx.url, amount: { refund: 100, total: 100, currency: 'CNY' } });
    await control(info, 'POST', `/sandbox/refunds/${no}R/settle`, { status: 'SUCCESS' });
    await waitFor(() => rx.received.length === 2, 'the refund notification');
    const refund = openWithPlugin(rx.received[1]!, keys, info.merchant.apiV3Key);
    expect(refund.envelope).toMatchObject({ event_type: 'REFUND.SUCCESS', resource: { original_type: 'refund' } });
    expect(refund.resource).toMatchObject({ out_trade_no: no, out_refund_no: `${no}R`, refund_status: 'SUCCESS', amount: { refund: 100, total: 100 } });

    // tampering is caught by the same primitives
    const n = rx.received[0]!;
    const tampered = n.rawBody.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS "');
    expect(Rsa.verify(Formatter.response(String(n.headers['wechatpay-timestamp']), String(n.headers['wechatpay-nonce']), tampered), String(n.headers['wechatpay-signature']), Rsa.from(platformPublicKey(), Rsa.KEY_TYPE_PUBLIC))).toBe(false);
  });

  test('a sandbox configured for platform certificates signs notifications under the certificate serial', async () => {
    const dir = tempDataDir();
    const certSandbox = await startSandbox({ dataDir: dir.dir, notificationSerial: 'certificate' });
    try {
      const ci = certSandbox.info;
      const wxpay = new Wechatpay({ baseURL: `${ci.baseUrl}/`, mchid: ci.merchant.mchid, serial: ci.merchant.serialNo, privateKey: readFileSync(ci.merchant.privateKeyPath, 'utf8'), certs: { [ci.platform.certSerial]: readFileSync(ci.platform.certPath, 'utf8') } });
      const rx = await receiver();
      const no = newOutTradeNo('AXK');
      const prepay = await wxpay.v3.pay.transactions.jsapi.post({ ...prepayBody(no, rx.url), appid: ci.merchant.appid, mchid: ci.merchant.mchid });
      expect(prepay.headers['wechatpay-serial']).toBe(ci.platform.certSerial);
      await control(ci, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
      await waitFor(() => rx.received.length === 1, 'the notification');
      expect(rx.received[0]!.headers['wechatpay-serial']).toBe(ci.platform.certSerial);
      const { resource } = openWithPlugin(rx.received[0]!, { [ci.platform.certSerial]: readFileSync(ci.platform.certPath, 'utf8') }, ci.merchant.apiV3Key);
      expect(resource).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS' });
    } finally {
      await certSandbox.close();
      dir.remove();
    }
  });
});

describe('(d) refused with 401 SIGN_ERROR', () => {
  test('a request signed with another private key (same serial)', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const f = await failure(client('publicKeyId', { privateKey: otherKey }).v3.pay.transactions.jsapi.post(prepayBody(newOutTradeNo('AXE'), 'https://merchant.example.com/notify')));
    expect(f.status).toBe(401);
    expect(f.data).toMatchObject({ code: 'SIGN_ERROR' });
  });

  test('a stale timestamp (signed by hand with the plugin\'s Rsa and Formatter), while the same signing with a fresh one passes', async () => {
    const uri = `/v3/pay/transactions/out-trade-no/NO_SUCH_ORDER_9?mchid=${info.merchant.mchid}`;
    const signed = (timestamp: number) => {
      const nonce = Formatter.nonce();
      const signature = Rsa.sign(Formatter.request('GET', uri, timestamp, nonce, ''), Rsa.from(merchantKey(), Rsa.KEY_TYPE_PRIVATE));
      return fetch(info.baseUrl + uri, { headers: { Accept: 'application/json', Authorization: Formatter.authorization(info.merchant.mchid, nonce, signature, timestamp, info.merchant.serialNo) } });
    };
    const now = Number(Formatter.timestamp());
    const fresh = await signed(now);
    expect(fresh.status).toBe(404); // authenticated: the order just does not exist
    const stale = await signed(now - 600);
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ code: 'SIGN_ERROR', detail: { field: 'timestamp' } });
    const future = await signed(now + 600);
    expect(future.status).toBe(401);
  });

  test('a body modified after signing (axios transformRequest runs after the plugin\'s signer)', async () => {
    const no = newOutTradeNo('AXT');
    const f = await failure(client('publicKeyId').v3.pay.transactions.jsapi.post(prepayBody(no, 'https://merchant.example.com/notify', 100), {
      transformRequest: [(body: unknown) => JSON.stringify({ ...(body as object), amount: { total: 1, currency: 'CNY' } })],
    }));
    expect(f.status).toBe(401);
    expect(f.data).toMatchObject({ code: 'SIGN_ERROR', detail: { issue: 'sign not match' } });
    const q = await failure(client('publicKeyId').v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid: info.merchant.mchid }, out_trade_no: no } as any));
    expect(q.status).toBe(404); // nothing was created
  });
});
