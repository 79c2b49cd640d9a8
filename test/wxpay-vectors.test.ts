/**
 * Every public vector from test/fixtures/reference/wxpay-v3-test-vectors.json (a copy of the public set) (wxpay-v3.md §6), reproduced with the
 * project's protocol core — V1–V10 and D1–D6. These keep the shared core honest for both connector and sandbox.
 */
import { X509Certificate } from 'node:crypto';
import {
  rsaSign, rsaVerify, requestSignatureMessage, responseSignatureMessage, jsapiPaySign, WechatpayVerifier,
  aesGcmDecrypt, aesGcmEncrypt, parseNotification, formatAuthorization, billSha1, parseBill, PayError, certificateSerial,
} from '../wxpay';
import { readReference } from './helpers/paths';

const tv = JSON.parse(readReference('wxpay-v3-test-vectors.json').toString('utf8'));
const key = (name: string): string => tv.keys[name].pem;
const V = tv.vectors;
const D = tv.derived;

describe('V1 RSA sign (wechatpay-go)', () => {
  it('signs "source" deterministically and verifies with keyID/cert F5765756002FDD77', () => {
    expect(rsaSign(V.V1_go_sign_source.message, key('go_sdk_test_key'))).toBe(V.V1_go_sign_source.signature);
    expect(rsaVerify('source', V.V1_go_sign_source.signature, key('go_sdk_test_pub'))).toBe(true);
    expect(rsaVerify('source', V.V1_go_sign_source.signature, key('go_sdk_cert_F5765756002FDD77'))).toBe(true);
    expect(certificateSerial(key('go_sdk_cert_F5765756002FDD77'))).toBe('F5765756002FDD77');
  });
  it('rejects "wrong source"', () => {
    expect(rsaVerify('wrong source', V.V1_go_sign_source.signature, key('go_sdk_test_pub'))).toBe(false);
  });
});

describe('V2 official request signature', () => {
  it('signs the five-line message of the official JSAPI example', () => {
    const v = V.V2_official_request_signature;
    expect(Buffer.byteLength(v.body, 'utf8')).toBe(295);
    const message = requestSignatureMessage(v.method, v.url, v.timestamp, v.nonce, v.body);
    expect(rsaSign(message, key(v.key))).toBe(v.signature);
  });
});

describe('V3 JSAPI paySign and V3b APP sign', () => {
  it('reproduces the mini-program paySign', () => {
    const v = V.V3_official_paySign_jsapi_miniprogram;
    expect(jsapiPaySign({ appId: v.appId, timeStamp: v.timeStamp, nonceStr: v.nonceStr, package: v.package, privateKey: key(v.key) })).toBe(v.paySign);
  });
  it('reproduces the APP variant (bare prepay_id) — a different message, so a different signature', () => {
    const v = V.V3b_official_app_sign;
    expect(rsaSign(v.message, key(v.key))).toBe(v.sign);
    expect(v.sign).not.toBe(V.V3_official_paySign_jsapi_miniprogram.paySign);
  });
});

describe('V4 response verification, public-key mode', () => {
  const v = V.V4_official_response_verify_pubkey_mode;
  const serial = v.headers['Wechatpay-Serial'];
  const verifierAt = (unix: number) => new WechatpayVerifier({ keys: { [serial]: key(v.key) }, now: () => unix * 1000 });
  it('is valid with the clock pinned to the vector timestamp', () => {
    expect(() => verifierAt(1722850421).verify(v.headers, v.body)).not.toThrow();
  });
  it('fails outside the ±300 s window, on an unknown serial, or a changed body', () => {
    expect(() => verifierAt(1722850421 + 301).verify(v.headers, v.body)).toThrow(/timestamp/);
    expect(() => verifierAt(1722850421 - 301).verify(v.headers, v.body)).toThrow(/timestamp/);
    expect(() => verifierAt(1722850421).verify({ ...v.headers, 'Wechatpay-Serial': 'PUB_KEY_ID_0000000000000000000000000000000' }, v.body)).toThrow(/no WeChat Pay key/);
    expect(() => verifierAt(1722850421).verify(v.headers, v.body.replace('JyC91EIz1', 'JyC91EIz2'))).toThrow(PayError);
  });
  it('rejects a WECHATPAY/SIGNTEST/ probe signature (wxpay-v3.md §3)', () => {
    const probe = { ...v.headers, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/' + v.headers['Wechatpay-Signature'] };
    expect(() => verifierAt(1722850421).verify(probe, v.body)).toThrow(/signature/);
  });
});

describe('V5 Go notification end to end (16-byte key)', () => {
  const v = V.V5_go_notification_end_to_end;
  const verifier = new WechatpayVerifier({ keys: { D7CE59D1F522D701: key(v.verify_key) }, now: () => v.test_clock_unix * 1000 });
  it('verifies the signature over the raw 568-byte body and decrypts (AES-128-GCM, as the Go SDK does)', () => {
    expect(Buffer.byteLength(v.body, 'utf8')).toBe(v.body_utf8_bytes);
    expect(() => verifier.verify(v.headers, v.body)).not.toThrow();
    const r = JSON.parse(v.body).resource;
    expect(aesGcmDecrypt({ key: v.apiV3Key, nonce: r.nonce, associatedData: r.associated_data, ciphertext: r.ciphertext })).toBe(v.plaintext);
  });
  it('is refused by the strict notification parser, because a real APIv3 key is 32 bytes', () => {
    expect(() => parseNotification({ headers: v.headers, rawBody: v.body, verifier, apiV3Key: v.apiV3Key })).toThrow(/32 bytes/);
  });
});

describe('V6 AES-256-GCM (wechatpay-java)', () => {
  const v = V.V6_java_aes256gcm;
  it('encrypts and decrypts', () => {
    expect(aesGcmEncrypt({ key: v.key, nonce: v.nonce, associatedData: v.associated_data, plaintext: v.plaintext })).toBe(v.ciphertext);
    expect(aesGcmDecrypt({ key: v.key, nonce: v.nonce, associatedData: v.associated_data, ciphertext: v.ciphertext })).toBe(v.plaintext);
  });
  it('fails with a wrong AAD or nonce', () => {
    expect(() => aesGcmDecrypt({ key: v.key, nonce: v.nonce, associatedData: 'bad-associatedData', ciphertext: v.ciphertext })).toThrow(/tag mismatch/);
    expect(() => aesGcmDecrypt({ key: v.key, nonce: 'bad-4a9R25RW', associatedData: v.associated_data, ciphertext: v.ciphertext })).toThrow(/tag mismatch/);
  });
});

describe('V7 AES-GCM (wechatpay-go utils, 16-byte key)', () => {
  const v = V.V7_go_aes_gcm_16byte_key;
  const args = { nonce: v.nonce, associatedData: v.associated_data };
  it('decrypts Hello World', () => {
    expect(aesGcmDecrypt({ key: v.key, ...args, ciphertext: v.ciphertext })).toBe(v.plaintext);
  });
  it('fails on the negative cases', () => {
    expect(() => aesGcmDecrypt({ key: v.negative.wrong_key, ...args, ciphertext: v.ciphertext })).toThrow(PayError);
    expect(() => aesGcmDecrypt({ key: v.negative.not_a_key, ...args, ciphertext: v.ciphertext })).toThrow(/APIv3 key must be 32 bytes/);
    expect(() => aesGcmDecrypt({ key: v.key, ...args, ciphertext: v.negative.bad_base64 })).toThrow(PayError);
    expect(() => aesGcmDecrypt({ key: v.key, ...args, ciphertext: v.negative.too_short_after_decode })).toThrow(PayError);
  });
});

describe('V8 AES-256-GCM with a 16-byte IV (axios plugin): tag-at-end layout', () => {
  const v = V.V8_axios_aes256gcm_16byte_iv;
  it.each(v.cases as { plaintext: string; aad: string; ciphertext: string }[])('"$plaintext" / aad "$aad"', ({ plaintext, aad, ciphertext }) => {
    expect(aesGcmEncrypt({ key: v.key, nonce: v.iv, associatedData: aad, plaintext })).toBe(ciphertext);
    expect(aesGcmDecrypt({ key: v.key, nonce: v.iv, associatedData: aad, ciphertext })).toBe(plaintext);
  });
});

describe('V9 platform certificate download decrypt (wechatpay-java)', () => {
  it('decrypts to the PEM certificate with serial 5DEA10EF…', () => {
    const v = V.V9_java_certificate_download_decrypt;
    const pem = aesGcmDecrypt({ key: v.key, nonce: v.nonce, associatedData: v.associated_data, ciphertext: v.ciphertext });
    // The reference copy ends the PEM with a newline the ciphertext does not contain.
    expect(pem).toBe(v.plaintext.replace(/\n$/, ''));
    expect(certificateSerial(pem)).toBe('5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC');
    const cert = new X509Certificate(pem);
    expect(cert.subject).toContain('CN=Tenpay.com sign');
    expect(new Date(cert.validTo).toISOString()).toBe('2028-09-17T15:15:58.000Z');
  });
});

describe('V10 Authorization header layout (Go, mock signer)', () => {
  it.each(V.V10_go_authorization_header_format.cases as Record<string, any>[])('$method $url', (c) => {
    const first = V.V10_go_authorization_header_format.cases[0];
    const merged = { ...first, ...c };
    const message = requestSignatureMessage(merged.method, merged.url, merged.timestamp, merged.nonce, merged.body);
    const header = formatAuthorization('WECHATPAY2-Mock', { mchid: merged.mchid, nonce_str: merged.nonce, timestamp: String(merged.timestamp), serial_no: merged.serial, signature: 'Sign:' + message });
    expect(header).toBe(c.expected);
  });
});

describe('derived vectors', () => {
  it('D1 GET query order and D2 POST close', () => {
    expect(rsaSign(D.D1_get_query_order.message, key(D.D1_get_query_order.key))).toBe(D.D1_get_query_order.signature);
    expect(rsaSign(D.D2_post_close_order.message, key(D.D2_post_close_order.key))).toBe(D.D2_post_close_order.signature);
    expect(D.D1_get_query_order.message).toBe(requestSignatureMessage('GET', '/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109', 1554208460, '593BEC0C930BF1AFEB40B4A08C8FB242', ''));
  });
  it('D3 complete TRANSACTION.SUCCESS notification with a 32-byte key', () => {
    const d = D.D3_transaction_success_notification_aes256;
    const verifier = new WechatpayVerifier({ keys: { F5765756002FDD77: key('go_sdk_test_pub') }, now: () => Number(d.headers['Wechatpay-Timestamp']) * 1000 });
    const parsed = parseNotification({ headers: d.headers, rawBody: d.body, verifier, apiV3Key: d.apiV3Key });
    expect(parsed.envelope.event_type).toBe('TRANSACTION.SUCCESS');
    expect(parsed.resource).toEqual(JSON.parse(d.plaintext));
    expect(aesGcmEncrypt({ key: d.apiV3Key, nonce: d.nonce, associatedData: d.aad, plaintext: d.plaintext })).toBe(d.ciphertext);
  });
  it('D3 tampered: one flipped ciphertext byte fails decryption even though it is re-signed', () => {
    const d = D.D3_transaction_success_notification_aes256;
    const body = JSON.parse(d.body);
    const bytes = Buffer.from(body.resource.ciphertext, 'base64');
    bytes[3] = bytes[3]! ^ 1;
    body.resource.ciphertext = bytes.toString('base64');
    expect(() => aesGcmDecrypt({ key: d.apiV3Key, nonce: d.nonce, associatedData: d.aad, ciphertext: body.resource.ciphertext })).toThrow(/tag mismatch/);
  });
  it('D4 signed empty-body (204) response', () => {
    const d = D.D4_empty_body_204_response;
    expect(responseSignatureMessage('1704081605', '5K8264ILTKCH16CQ2502SI8ZNMTM67VS', '').toString()).toBe(d.message);
    expect(rsaSign(d.message, key(d.sign_key))).toBe(d.signature);
    const verifier = new WechatpayVerifier({ keys: { F5765756002FDD77: key('go_sdk_test_pub') }, now: () => 1704081605 * 1000 });
    expect(() => verifier.verify({ 'Wechatpay-Timestamp': '1704081605', 'Wechatpay-Nonce': '5K8264ILTKCH16CQ2502SI8ZNMTM67VS', 'Wechatpay-Serial': 'F5765756002FDD77', 'Wechatpay-Signature': d.signature }, '')).not.toThrow();
  });
  it('D5 GET /v3/certificates', () => {
    expect(rsaSign(D.D5_official_key_GET_certificates.message, key(D.D5_official_key_GET_certificates.key))).toBe(D.D5_official_key_GET_certificates.signature);
  });
  it('D6 sample bill SHA-1 and parse', () => {
    const bytes = readReference('wxpay-v3-bill.ALL.sample.csv');
    expect(billSha1(bytes)).toBe(D.D6_bill_sample_sha1.sha1);
    const bill = parseBill(bytes.toString('utf8'));
    expect(bill.header).toHaveLength(27);
    expect(bill.rows).toHaveLength(45);
    expect(bill.rows[0]!['商户订单号']).toBe('autotest_20190216081946_82335');
    expect(bill.summary['总交易单数']).toBe('45.0');
  });
});
