/**
 * The sandbox authenticates every /v3/* request like WeChat Pay (wxpay-v3.md §8 item 1) and signs every
 * response, errors included (§8 item 2), so a client verifying with the ready line's platform key accepts them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { buildAuthorization, unixSeconds } from '../wxpay';
import type { RunningSandbox } from '../sandbox';
import { control, merchantSigner, newOutTradeNo, platformVerifier, prepayBody, V3Response, v3Request, withSandbox } from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
const NOTIFY_URL = 'https://merchant.example.com/wxpay/notify';

withSandbox({}, (s) => (sandbox = s));

function queryUrl(outTradeNo: string): string {
  return `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${sandbox.info.merchant.mchid}`;
}

function expectSignError(res: V3Response, field: string): void {
  expect(res.status).toBe(401);
  expect(res.json).toMatchObject({ code: 'SIGN_ERROR', message: expect.any(String), detail: { field, issue: expect.any(String) } });
  // Error answers are signed too, and carry a Request-ID.
  expect(() => platformVerifier(sandbox.info).verify(res.headers, res.text)).not.toThrow();
  expect(res.headers['request-id']).toMatch(/^[0-9A-F]{32}-\d+$/);
}

describe('accepted requests and signed responses', () => {
  test('a correctly signed prepay is accepted and its 200 verifies with the platform key by publicKeyId', async () => {
    const res = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, newOutTradeNo(), NOTIFY_URL));
    expect(res.status).toBe(200);
    expect(res.json.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
    expect(res.headers['wechatpay-serial']).toBe(sandbox.info.platform.publicKeyId);
    expect(res.headers['wechatpay-signature-type']).toBe('WECHATPAY2-SHA256-RSA2048');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(() => platformVerifier(sandbox.info, 'publicKeyId').verify(res.headers, res.text)).not.toThrow();
    // A verifier that only knows the certificate cannot be fooled into accepting it under another id.
    expect(() => platformVerifier(sandbox.info, 'certSerial').verify(res.headers, res.text)).toThrow(/no WeChat Pay key for serial/);
  });

  test('a signed query for an unknown order is authenticated (404, not 401) and the 404 verifies', async () => {
    const res = await v3Request(sandbox.info, 'GET', queryUrl(newOutTradeNo('NONE')));
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    expect(() => platformVerifier(sandbox.info, 'publicKeyId').verify(res.headers, res.text)).not.toThrow();
  });

  test('a request naming the platform certificate in Wechatpay-Serial gets a response signed under that serial', async () => {
    const outTradeNo = newOutTradeNo();
    const headers = { 'Wechatpay-Serial': sandbox.info.platform.certSerial };
    const created = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, outTradeNo, NOTIFY_URL), { headers });
    expect(created.status).toBe(200);
    const found = await v3Request(sandbox.info, 'GET', queryUrl(outTradeNo), undefined, { headers });
    const missing = await v3Request(sandbox.info, 'GET', queryUrl(newOutTradeNo('NONE')), undefined, { headers });
    expect([found.status, missing.status]).toEqual([200, 404]);
    for (const res of [created, found, missing]) {
      expect(res.headers['wechatpay-serial']).toBe(sandbox.info.platform.certSerial);
      expect(() => platformVerifier(sandbox.info, 'certSerial').verify(res.headers, res.text)).not.toThrow();
    }
  });

  test('an unknown Wechatpay-Serial in the request falls back to the public key id', async () => {
    const res = await v3Request(sandbox.info, 'GET', queryUrl(newOutTradeNo('NONE')), undefined, { headers: { 'Wechatpay-Serial': 'PUB_KEY_ID_00000000000000000000000000000000' } });
    expect(res.headers['wechatpay-serial']).toBe(sandbox.info.platform.publicKeyId);
  });
});

describe('refused requests: 401 SIGN_ERROR and no effect', () => {
  test('signed with the wrong private key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const outTradeNo = newOutTradeNo('WK');
    const res = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, outTradeNo, NOTIFY_URL), { signer: { ...merchantSigner(sandbox.info), privateKey } });
    expectSignError(res, 'signature');
    expect((await v3Request(sandbox.info, 'GET', queryUrl(outTradeNo))).status).toBe(404);
  });

  test('a stale timestamp (now − 400 s), and one in milliseconds', async () => {
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { timestamp: unixSeconds() - 400 }), 'timestamp');
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { timestamp: unixSeconds() + 400 }), 'timestamp');
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { timestamp: Date.now() }), 'timestamp');
  });

  test('the body modified after signing', async () => {
    const outTradeNo = newOutTradeNo('MB');
    const signed = prepayBody(sandbox.info, outTradeNo, NOTIFY_URL);
    const tampered = JSON.stringify({ ...signed, amount: { total: 1, currency: 'CNY' } });
    const res = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', signed, { sentBody: tampered });
    expectSignError(res, 'signature');
    expect((await v3Request(sandbox.info, 'GET', queryUrl(outTradeNo))).status).toBe(404);
  });

  test('a path or query other than the one signed', async () => {
    const signedUrl = queryUrl('ABCDEF1');
    const authorization = buildAuthorization(merchantSigner(sandbox.info), { method: 'GET', url: signedUrl });
    const res = await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF2'), undefined, { authorization });
    expectSignError(res, 'signature');
  });

  test('a mchid other than the sandbox merchant, in the header or in the body', async () => {
    const foreign = { ...merchantSigner(sandbox.info), mchid: '1230000109' };
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { signer: foreign }), 'mchid');

    const outTradeNo = newOutTradeNo('MC');
    const bodyForOther = prepayBody(sandbox.info, outTradeNo, NOTIFY_URL, { mchid: '1230000109' });
    expectSignError(await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', bodyForOther), 'mchid');
    expectSignError(await v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=1230000109`), 'mchid');
    expect((await v3Request(sandbox.info, 'GET', queryUrl(outTradeNo))).status).toBe(404);
  });

  test('an unknown merchant serial_no or a scheme other than WECHATPAY2-SHA256-RSA2048', async () => {
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { signer: { ...merchantSigner(sandbox.info), serialNo: '0123456789ABCDEF' } }), 'serial_no');
    const good = buildAuthorization(merchantSigner(sandbox.info), { method: 'GET', url: queryUrl('ABCDEF1') });
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { authorization: good.replace('WECHATPAY2-SHA256-RSA2048', 'WECHATPAY2-SHA256-RSA') }), 'Authorization');
  });

  test('the Authorization parameters may come in any order, but must all be there', async () => {
    const good = buildAuthorization(merchantSigner(sandbox.info), { method: 'GET', url: queryUrl('ABCDEF1') });
    const [scheme, params] = [good.slice(0, good.indexOf(' ')), good.slice(good.indexOf(' ') + 1).split(',')];
    const reordered = `${scheme} ${[...params].reverse().join(',')}`;
    expect((await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { authorization: reordered })).status).toBe(404);
    const withoutNonce = `${scheme} ${params.filter((p) => !p.startsWith('nonce_str=')).join(',')}`;
    expectSignError(await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { authorization: withoutNonce }), 'Authorization');
  });

  test('no Authorization header at all', async () => {
    const res = await v3Request(sandbox.info, 'GET', queryUrl('ABCDEF1'), undefined, { authorization: null });
    expectSignError(res, 'Authorization');
  });

  test('a replayed request (same nonce and timestamp) is refused the second time, even though its signature is valid', async () => {
    const outTradeNo = newOutTradeNo('RP');
    const body = JSON.stringify(prepayBody(sandbox.info, outTradeNo, NOTIFY_URL));
    const authorization = buildAuthorization(merchantSigner(sandbox.info), { method: 'POST', url: '/v3/pay/transactions/jsapi', body });
    const first = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', body, { authorization });
    expect(first.status).toBe(200);
    const replay = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', body, { authorization });
    expectSignError(replay, 'nonce_str');
    // The same nonce with another timestamp is a different request.
    const nonce = /nonce_str="([^"]+)"/.exec(authorization)![1]!;
    const fresh = buildAuthorization(merchantSigner(sandbox.info), { method: 'GET', url: queryUrl(outTradeNo), nonce, timestamp: unixSeconds() - 5 });
    expect((await v3Request(sandbox.info, 'GET', queryUrl(outTradeNo), undefined, { authorization: fresh })).status).toBe(200);
  });

  test('the request log records refusals with their code', async () => {
    const { json } = await control(sandbox.info, 'GET', '/sandbox/requests');
    const refused = (json.requests as { status: number; code?: string }[]).filter((r) => r.status === 401);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.every((r) => r.code === 'SIGN_ERROR')).toBe(true);
  });
});
