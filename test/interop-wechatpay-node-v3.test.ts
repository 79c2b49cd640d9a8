/**
 * Interop with a second independent SDK, wechatpay-node-v3 (the most used v3 SDK on npm), as a merchant uses it:
 * configured only with appid, mchid, the merchant private key, the merchant certificate (`publicKey`, from which the
 * SDK reads the serial it signs under; the ready line names no certificate path, so it is read as WeChat Pay hands
 * it out: apiclient_cert.pem beside apiclient_key.pem) and the APIv3 key. Its URLs are hard-coded to
 * https://api.mch.weixin.qq.com; the one thing the test changes is its HTTP service (`createHttp`, the SDK's own
 * hook): the SDK's PayRequest, with that origin swapped for the sandbox's baseUrl — the bytes it signs and sends are
 * its own.
 * (a) prepay (Native and JSAPI), query by out_trade_no and by transaction_id, close, refund and refund query, trade
 *     bill and its download, parsed as the SDK parses them (status, data; `error` = the error body's text);
 * (b) its `verifySign` (platform certificates fetched from /v3/certificates, decrypted with the APIv3 key) accepts
 *     the sandbox's signed responses, the 204 of close included, and refuses a tampered body;
 * (c) it verifies (`verifySign`) and decrypts (`decipher_gcm`) the sandbox's TRANSACTION.SUCCESS and REFUND.SUCCESS;
 * (d) a request it signs with the wrong private key is refused 401 SIGN_ERROR.
 * Found on the way, fixed in the sandbox: Native prepay (`POST /v3/pay/transactions/native`) did not exist
 * (test/sandbox-native-prepay.test.ts).
 *
 * Where the SDK, not the sandbox, departs from WeChat Pay v3 (the sandbox is not bent to it):
 * - It knows only platform certificates (no WeChat Pay public key, `PUB_KEY_ID_…`): the sandbox runs with
 *   `notificationSerial: 'certificate'`; a response signed under the public key id is one it cannot verify.
 * - Its PayRequest returns no response headers, so it never verifies a response by itself; to verify one, a
 *   merchant must obtain the `Wechatpay-*` headers with its own HTTP call (here: the SDK's own superagent, with the
 *   SDK's own Authorization) and hand them to `verifySign`.
 * - It derives the signed URL by deleting the literal `https://api.mch.weixin.qq.com` from the URL (wxpay-v3.md §2
 *   says: path + query, no host). A `download_url` on another origin — the sandbox's own, as the sandbox must answer
 *   so other SDKs fetch the bill from it (§1.6) — is signed whole, scheme and host included, and refused 401 like
 *   real WeChat Pay refuses any wrong canonical URL; given WeChat's origin (as real WeChat Pay hands it out), the
 *   download works.
 * - `decipher_gcm` never calls `final()`, so it does not check the GCM tag (not needed by the tests).
 * Left open: wxpay-v3.md does not say which Content-Type WeChat Pay gives a GZIP bill stream. The sandbox says
 * application/octet-stream, which the SDK's superagent does not read, so its GZIP `downloadBill` returns no bytes
 * (the SDK's older code path expects application/x-gzip, which superagent would read) — pinned below, not bent.
 * Everything on loopback; nothing of wxpay/ is used on the client side.
 */
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Pay from 'wechatpay-node-v3';
import { PayRequest } from 'wechatpay-node-v3/dist/lib/pay-request';
import type { IPayRequest } from 'wechatpay-node-v3/dist/lib/pay-request.interface';
import type { Output } from 'wechatpay-node-v3/dist/lib/interface-v2';
import { SandboxReadyInfo } from '../sandbox';
import { control, newOutTradeNo, ReceivedNotification, startReceiver, waitFor, withSandbox } from './helpers/sandbox-harness';

// superagent: the SDK's own HTTP client, resolved from the SDK (its dependency, untyped here)
interface RawAnswer { status: number; headers: Record<string, string>; text: string }
interface SuperagentRequest extends Promise<RawAnswer> { set(h: Record<string, string>): SuperagentRequest; send(body: object): SuperagentRequest }
const superagent = require(require.resolve('superagent', { paths: [path.dirname(require.resolve('wechatpay-node-v3'))] })) as { get(url: string): SuperagentRequest; post(url: string): SuperagentRequest };

const WECHATPAY_ORIGIN = 'https://api.mch.weixin.qq.com';

let info: SandboxReadyInfo;
const cleanups: (() => Promise<void> | void)[] = [];

// the SDK verifies only under platform certificate serials (see the header)
withSandbox({ refundSettleSeconds: null, notificationSerial: 'certificate' }, (s) => { info = s.info; });
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The SDK's own PayRequest, with WeChat Pay's origin replaced by the sandbox's; nothing else changes. */
class SandboxOrigin implements IPayRequest {
  private readonly inner = new PayRequest();
  constructor(private readonly baseUrl: string) {}
  private to(url: string): string {
    return url.startsWith(WECHATPAY_ORIGIN) ? this.baseUrl + url.slice(WECHATPAY_ORIGIN.length) : url;
  }
  post(url: string, params: Record<string, any>, headers: Record<string, any>): Promise<Output> {
    return this.inner.post(this.to(url), params, headers);
  }
  get(url: string, headers: Record<string, any>): Promise<Output> {
    return this.inner.get(this.to(url), headers);
  }
  upload(url: string, params: Record<string, any>, headers: Record<string, any>): Promise<Output> {
    return this.inner.upload(this.to(url), params, headers);
  }
}

const merchantKey = () => readFileSync(info.merchant.privateKeyPath);
/** The merchant API certificate: WeChat Pay hands it out as apiclient_cert.pem beside apiclient_key.pem. */
const merchantCert = () => readFileSync(path.join(path.dirname(info.merchant.privateKeyPath), 'apiclient_cert.pem'));

/** The SDK as a merchant configures it (no serial_no: the SDK reads it from the certificate). */
function sdk(privateKey: Buffer = merchantKey()): Pay {
  const pay = new Pay({ appid: info.merchant.appid, mchid: info.merchant.mchid, publicKey: merchantCert(), privateKey, key: info.merchant.apiV3Key });
  pay.createHttp(new SandboxOrigin(info.baseUrl));
  return pay;
}

/** Parts of the SDK the merchant reaches for by hand (public in JS, protected or static in its typings). */
interface SdkInternals {
  buildAuthorization(method: string, url: string, params?: Record<string, any>): string;
  getHeaders(authorization: string, headers?: Record<string, string>): Record<string, string>;
}
const sdkCertificates = () => (Pay as unknown as { certificates: Record<string, string> }).certificates;

/**
 * A request as the SDK builds it (its Authorization and headers, its superagent, its JSON body), returning what its
 * PayRequest drops: the response headers and the raw body. Non-2xx answers are returned, not thrown.
 */
async function raw(pay: Pay, method: 'GET' | 'POST', pathAndQuery: string, body?: Record<string, unknown>, extraHeaders: Record<string, string> = {}): Promise<RawAnswer> {
  const internals = pay as unknown as SdkInternals;
  const headers = { ...internals.getHeaders(internals.buildAuthorization(method, WECHATPAY_ORIGIN + pathAndQuery, body), body ? { 'Content-Type': 'application/json' } : {}), ...extraHeaders };
  const request = method === 'GET' ? superagent.get(info.baseUrl + pathAndQuery).set(headers) : superagent.post(info.baseUrl + pathAndQuery).send(body ?? {}).set(headers);
  return request.catch((err: { response?: RawAnswer }) => {
    if (!err.response) throw err;
    return err.response;
  });
}

function signedParts(headers: Record<string, string | string[] | undefined>) {
  const h = (name: string) => String(headers[name]);
  return { timestamp: h('wechatpay-timestamp'), nonce: h('wechatpay-nonce'), serial: h('wechatpay-serial'), signature: h('wechatpay-signature') };
}

async function receiver(): Promise<Awaited<ReturnType<typeof startReceiver>>> {
  const r = await startReceiver();
  cleanups.push(r.close);
  return r;
}

const order = (outTradeNo: string, notifyUrl: string, total = 100) => ({
  description: 'Image形象店-深圳腾大-QQ公仔', out_trade_no: outTradeNo, notify_url: notifyUrl, amount: { total, currency: 'CNY' },
});
const openid = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

/** The error body the SDK hands back on a non-2xx: `error` is the response text. */
const errorBody = (r: Output) => JSON.parse(String(r.error));

describe('(a) the SDK as a client of the sandbox', () => {
  test('its serial_no, read from the merchant certificate with its own X.509 parser, is the sandbox merchant serial', () => {
    expect(sdk().getSN().toUpperCase()).toBe(info.merchant.serialNo.toUpperCase());
  });

  test('transactions_jsapi: prepay, and the SDK builds wx.requestPayment params signed with the merchant key', async () => {
    const pay = sdk();
    const no = newOutTradeNo('NVJ');
    const r = await pay.transactions_jsapi({ ...order(no, 'https://merchant.example.com/notify'), payer: { openid } });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ appId: info.merchant.appid, signType: 'RSA', package: expect.stringMatching(/^prepay_id=wx/) });
    const message = `${r.data.appId}\n${r.data.timeStamp}\n${r.data.nonceStr}\n${r.data.package}\n`; // wxpay-v3.md §5
    expect(verify('RSA-SHA256', Buffer.from(message), createPublicKey(merchantCert()), Buffer.from(r.data.paySign, 'base64'))).toBe(true);
  });

  test('transactions_native: prepay answers a code_url; the order is queried as NOTPAY, then paid as NATIVE', async () => {
    const pay = sdk();
    const no = newOutTradeNo('NVN');
    const r = await pay.transactions_native(order(no, 'https://merchant.example.com/notify', 256));
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ code_url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=\w+$/) });
    const q = await pay.query({ out_trade_no: no });
    expect(q).toMatchObject({ status: 200, data: { out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 256 } } });
    const paid = (await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    const byId = await pay.query({ transaction_id: paid.transaction_id });
    expect(byId).toMatchObject({ status: 200, data: { out_trade_no: no, trade_state: 'SUCCESS', trade_type: 'NATIVE', payer: { openid: expect.any(String) } } });
  });

  test('query by out_trade_no and by transaction_id, refunds and find_refunds', async () => {
    const pay = sdk();
    const no = newOutTradeNo('NVQ');
    await pay.transactions_jsapi({ ...order(no, 'https://merchant.example.com/notify'), payer: { openid } });
    const q = await pay.query({ out_trade_no: no });
    expect(q).toMatchObject({ status: 200, data: { out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 100 } } });

    const paid = (await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    const byId = await pay.query({ transaction_id: paid.transaction_id });
    expect(byId).toMatchObject({ status: 200, data: { out_trade_no: no, trade_state: 'SUCCESS', transaction_id: paid.transaction_id, payer: { openid }, amount: { total: 100, payer_total: 100 } } });

    const refundNo = `${no}R`;
    const refund = await pay.refunds({ out_trade_no: no, out_refund_no: refundNo, reason: '退货', amount: { refund: 40, total: 100, currency: 'CNY' } });
    expect(refund).toMatchObject({ status: 200, data: { out_refund_no: refundNo, out_trade_no: no, transaction_id: paid.transaction_id, status: 'PROCESSING', amount: { refund: 40, total: 100 } } });
    const found = await pay.find_refunds(refundNo);
    expect(found).toMatchObject({ status: 200, data: { refund_id: refund.data!.refund_id, status: 'PROCESSING' } });
    expect((await pay.query({ out_trade_no: no })).data.trade_state).toBe('REFUND');

    // the error answers, as the SDK returns them: status + the v3 error body as text
    const missing = await pay.query({ out_trade_no: 'NO_SUCH_ORDER_9' });
    expect(missing.status).toBe(404);
    expect(errorBody(missing)).toMatchObject({ code: 'ORDER_NOT_EXIST', message: expect.any(String) });
    const noRefund = await pay.find_refunds('NO_SUCH_REFUND_9');
    expect(noRefund.status).toBe(404);
    expect(errorBody(noRefund)).toMatchObject({ code: 'RESOURCE_NOT_EXISTS' });
  });

  test('close: 204, re-entrant, and the order reads CLOSED', async () => {
    const pay = sdk();
    const no = newOutTradeNo('NVC');
    await pay.transactions_jsapi({ ...order(no, 'https://merchant.example.com/notify'), payer: { openid } });
    expect((await pay.close(no)).status).toBe(204);
    expect((await pay.close(no)).status).toBe(204);
    expect((await pay.query({ out_trade_no: no })).data.trade_state).toBe('CLOSED');
  });

  test('tradebill and downloadBill: the text bill, SHA-1 = hash_value; the GZIP bill, which the SDK cannot read', async () => {
    const pay = sdk();
    const no = newOutTradeNo('NVB');
    await pay.transactions_jsapi({ ...order(no, 'https://merchant.example.com/notify', 321), payer: { openid } });
    const paid = (await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    const day = String(paid.success_time).slice(0, 10);
    // the bill of day D exists from D+1 (sandbox clock); later tests do not depend on the date
    await control(info, 'POST', '/sandbox/clock/advance', { seconds: 86_400 });

    const bill = await pay.tradebill({ bill_date: day, bill_type: 'ALL' });
    expect(bill).toMatchObject({ status: 200, data: { hash_type: 'SHA1', hash_value: expect.stringMatching(/^[0-9a-f]{40}$/) } });
    const url = new URL(bill.data.download_url);
    expect(url.origin).toBe(info.baseUrl);

    // As handed over, the sandbox's origin stays in what the SDK signs (see the header): refused like any wrong URL.
    const asGiven = await pay.downloadBill(bill.data.download_url);
    expect(asGiven.status).toBe(401);
    expect(errorBody(asGiven)).toMatchObject({ code: 'SIGN_ERROR', detail: { issue: 'sign not match' } });

    // On WeChat's origin, as real WeChat Pay hands it out, the SDK signs path + query and downloads the text bill.
    const file = await pay.downloadBill(`${WECHATPAY_ORIGIN}${url.pathname}${url.search}`);
    expect(file.status).toBe(200);
    expect(typeof file.data).toBe('string');
    expect(file.data).toContain(`\`${no}`);
    expect(createHash('sha1').update(file.data, 'utf8').digest('hex')).toBe(bill.data.hash_value);

    // GZIP: the open Content-Type question of the header — the SDK answers 200 with no bytes (superagent leaves an
    // application/octet-stream body unread); the same signed request by hand gets the gzip of the text bill.
    const gz = await pay.tradebill({ bill_date: day, bill_type: 'ALL', tar_type: 'GZIP' });
    expect(gz).toMatchObject({ status: 200, data: { hash_value: bill.data.hash_value } }); // the hash of the uncompressed bill
    const gzUrl = new URL(gz.data.download_url);
    const gzFile = await pay.downloadBill(`${WECHATPAY_ORIGIN}${gzUrl.pathname}${gzUrl.search}`);
    expect(gzFile).toEqual({ status: 200, data: {} });
    const internals = pay as unknown as SdkInternals;
    const bytes = await fetch(info.baseUrl + gzUrl.pathname + gzUrl.search, { headers: internals.getHeaders(internals.buildAuthorization('GET', `${WECHATPAY_ORIGIN}${gzUrl.pathname}${gzUrl.search}`)) });
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
    expect(gunzipSync(Buffer.from(await bytes.arrayBuffer())).toString('utf8')).toBe(file.data);
  });
});

describe('(b) the SDK verifies the sandbox\'s signed responses', () => {
  test('verifySign fetches /v3/certificates, decrypts them with the APIv3 key, accepts the answers and refuses a tampered body', async () => {
    const pay = sdk();
    // static, shared by every instance of the SDK in this process (and replaced, not updated, by each fetch)
    for (const serial of Object.keys(sdkCertificates())) delete sdkCertificates()[serial];
    const no = newOutTradeNo('NVV');
    await pay.transactions_jsapi({ ...order(no, 'https://merchant.example.com/notify'), payer: { openid } });
    const answer = await raw(pay, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${info.merchant.mchid}`);
    expect(answer.status).toBe(200);
    const parts = signedParts(answer.headers);
    expect(parts.serial).toBe(info.platform.certSerial);

    const before = (await control(info, 'GET', '/sandbox/requests')).json.requests.length;
    expect(await pay.verifySign({ ...parts, body: answer.text })).toBe(true);
    // it fetched the certificate list through its HTTP service once, and keeps the platform key under its serial
    const requests = (await control(info, 'GET', '/sandbox/requests')).json.requests.slice(before);
    expect(requests).toEqual([expect.objectContaining({ method: 'GET', url: '/v3/certificates', status: 200 })]);
    const der = (pem: string | Buffer) => createPublicKey(pem).export({ type: 'spki', format: 'der' });
    expect(der(sdkCertificates()[info.platform.certSerial]!).equals(der(readFileSync(info.platform.certPath)))).toBe(true);
    // as the SDK's README passes it: the parsed body, which it re-serialises (the sandbox's JSON is compact, like WeChat's)
    expect(await pay.verifySign({ ...parts, body: JSON.parse(answer.text) })).toBe(true);

    expect(await pay.verifySign({ ...parts, body: answer.text.replace('"NOTPAY"', '"SUCCESS"') })).toBe(false);
    expect(await pay.verifySign({ ...parts, timestamp: String(Number(parts.timestamp) + 1), body: answer.text })).toBe(false);

    // close's 204 is signed over the empty body ("TS\nNONCE\n\n", wxpay-v3.md §3), and so is the certificate list
    const closed = await raw(pay, 'POST', `/v3/pay/transactions/out-trade-no/${no}/close`, { mchid: info.merchant.mchid });
    expect(closed.status).toBe(204);
    expect(closed.text).toBe('');
    expect(await pay.verifySign({ ...signedParts(closed.headers), body: closed.text })).toBe(true);
    const certs = await raw(pay, 'GET', '/v3/certificates');
    expect(await pay.verifySign({ ...signedParts(certs.headers), body: certs.text })).toBe(true);
    expect(await pay.get_certificates(info.merchant.apiV3Key)).toEqual([expect.objectContaining({ serial_no: info.platform.certSerial, publicKey: expect.stringContaining('BEGIN PUBLIC KEY') })]);
  });

  test('a response the sandbox signs under the WeChat Pay public key id (asked for by Wechatpay-Serial) is one the SDK cannot verify', async () => {
    const pay = sdk();
    const no = newOutTradeNo('NVP');
    await pay.transactions_native(order(no, 'https://merchant.example.com/notify'));
    const answer = await raw(pay, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${info.merchant.mchid}`, undefined, { 'Wechatpay-Serial': info.platform.publicKeyId });
    expect(answer.status).toBe(200);
    const parts = signedParts(answer.headers);
    expect(parts.serial).toBe(info.platform.publicKeyId);
    await expect(pay.verifySign({ ...parts, body: answer.text })).rejects.toThrow('平台证书序列号不相符');
  });
});

describe('(c) notifications, verified with verifySign and decrypted with decipher_gcm', () => {
  /** What the SDK's users write in their notify handler. */
  async function openWithSdk(pay: Pay, n: ReceivedNotification): Promise<{ envelope: any; resource: any }> {
    const envelope = JSON.parse(n.rawBody);
    expect(await pay.verifySign({ ...signedParts(n.headers), body: n.rawBody })).toBe(true);
    expect(await pay.verifySign({ ...signedParts(n.headers), body: envelope })).toBe(true); // req.body, as its README does
    const r = envelope.resource;
    const resource = pay.decipher_gcm<any>(r.ciphertext, r.associated_data, r.nonce, info.merchant.apiV3Key);
    return { envelope, resource };
  }

  test('TRANSACTION.SUCCESS and REFUND.SUCCESS under the platform certificate serial', async () => {
    const pay = sdk();
    const rx = await receiver();
    const no = newOutTradeNo('NVN');
    await pay.transactions_jsapi({ ...order(no, rx.url), payer: { openid } });
    const paid = (await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    await waitFor(() => rx.received.length === 1, 'the payment notification');
    expect(rx.received[0]!.headers['wechatpay-serial']).toBe(info.platform.certSerial);
    const payment = await openWithSdk(pay, rx.received[0]!);
    expect(payment.envelope).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', resource: { algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction' } });
    expect(payment.resource).toMatchObject({ out_trade_no: no, transaction_id: paid.transaction_id, trade_state: 'SUCCESS', mchid: info.merchant.mchid, appid: info.merchant.appid, payer: { openid }, amount: { total: 100, payer_total: 100 } });

    await pay.refunds({ out_trade_no: no, out_refund_no: `${no}R`, notify_url: rx.url, amount: { refund: 100, total: 100, currency: 'CNY' } });
    await control(info, 'POST', `/sandbox/refunds/${no}R/settle`, { status: 'SUCCESS' });
    await waitFor(() => rx.received.length === 2, 'the refund notification');
    const refund = await openWithSdk(pay, rx.received[1]!);
    expect(refund.envelope).toMatchObject({ event_type: 'REFUND.SUCCESS', resource: { original_type: 'refund' } });
    expect(refund.resource).toMatchObject({ out_trade_no: no, transaction_id: paid.transaction_id, out_refund_no: `${no}R`, refund_status: 'SUCCESS', amount: { refund: 100, total: 100 } });

    // a tampered notification fails the same check
    const n = rx.received[0]!;
    expect(await pay.verifySign({ ...signedParts(n.headers), body: n.rawBody.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS "') })).toBe(false);
  });
});

describe('(d) refused with 401 SIGN_ERROR', () => {
  test('a request the SDK signs with another private key (same serial)', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const pay = sdk(Buffer.from(otherKey));
    const no = newOutTradeNo('NVE');
    const r = await pay.transactions_jsapi({ ...order(no, 'https://merchant.example.com/notify'), payer: { openid } });
    expect(r.status).toBe(401);
    expect(errorBody(r)).toMatchObject({ code: 'SIGN_ERROR', detail: { field: 'signature', issue: 'sign not match' } });
    expect((await sdk().query({ out_trade_no: no })).status).toBe(404); // nothing was created
  });
});
