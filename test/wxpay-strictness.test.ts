/**
 * The rules the fast paths of the protocol core must keep exactly (wxpay-v3.md §3, §4): Base64 as strict as the
 * regex / re-encoding checks it replaced, signature headers read as a case-insensitive first match, the body
 * signed byte for byte, the 32-byte APIv3 key insisted on at every call.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  aesGcmDecrypt, aesGcmEncrypt, buildNotification, parseNotification, PayError, rsaSign, rsaVerify,
  responseSignatureMessage, unixSeconds, WechatpayVerifier,
} from '../wxpay';
import { decodeBase64 } from '../wxpay/base64';
import { random } from './helpers/seeded-random';

describe('decodeBase64 keeps the rules it replaced, on every kind of text', () => {
  // The rules as they were written before: a regex for signatures, re-encoding for ciphertexts.
  const signatureRule = (s: string) => (/^[A-Za-z0-9+/]+={0,2}$/.test(s) ? Buffer.from(s, 'base64') : undefined);
  const ciphertextRule = (s: string) => {
    const bytes = Buffer.from(s, 'base64');
    const body = s.replace(/=+$/, '');
    return body.length > 0 && bytes.toString('base64').replace(/=+$/, '') === body ? bytes : undefined;
  };
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  // Every ASCII character, Latin-1, UTF-16 units whose low byte is a Base64 letter (Ł = U+0141 → "A"), surrogates.
  const strays = [...Array(128).keys()].map((k) => String.fromCharCode(k)).concat(['é', 'ÿ', 'Ł', 'Ŵ', '€', '\ud800', '😀', 'İ', '==', '-', '_', ' ', '\n']);
  const same = (a: Buffer | undefined, b: Buffer | undefined) => (a === undefined ? b === undefined : b !== undefined && a.equals(b));

  test('200 000 mutated encodings: the same verdict and the same bytes as the old rules', () => {
    const next = random(20240805);
    const mismatches: string[] = [];
    for (let n = 0; n < 200_000 && mismatches.length < 5; n++) {
      let s = randomBytes(next(40)).toString('base64');
      if (next(10) === 0) s = s.replace(/=+$/, '');
      for (let m = next(4); m > 0; m--) {
        const at = next(s.length + 1);
        const ch = next(3) === 0 ? alphabet[next(64)]! : strays[next(strays.length)]!;
        const kind = next(5);
        if (kind === 0) s = s.slice(0, at) + ch + s.slice(at);
        else if (kind === 1) s = s.slice(0, at) + ch + s.slice(at + 1);
        else if (kind === 2) s = s.slice(0, at) + s.slice(at + 1);
        else if (kind === 3) s += '='.repeat(next(4));
        else s += ch;
      }
      if (!same(decodeBase64(s, { maxPadding: 2, canonical: false }), signatureRule(s))) mismatches.push(`signature ${JSON.stringify(s)}`);
      if (!same(decodeBase64(s, { maxPadding: Infinity, canonical: true }), ciphertextRule(s))) mismatches.push(`ciphertext ${JSON.stringify(s)}`);
    }
    expect(mismatches).toEqual([]);
  });

  test.each([
    ['QUJD', true, true], ['QUI=', true, true], ['QUI', true, true], ['QUI===', false, true], ['QUJ=', true, false],
    ['QUJDR', true, false], ['QU JD', false, false], ['QU\nJD', false, false], ['QU-D', false, false], ['QU_D', false, false],
    ['QQ==QUJD', false, false], ['ŁUJD', false, false], ['', false, false], ['====', false, false],
  ])('%j: signature rule %s, ciphertext rule %s', (text, signatureOk, ciphertextOk) => {
    expect(decodeBase64(text, { maxPadding: 2, canonical: false }) !== undefined).toBe(signatureOk);
    expect(decodeBase64(text, { maxPadding: Infinity, canonical: true }) !== undefined).toBe(ciphertextOk);
  });
});

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const apiV3Key = 'abcdefghijklmnopqrstuvwxyz012345';

describe('rsaVerify refuses whatever is not standard Base64, as before', () => {
  const message = Buffer.from('1722850421\nNONCE\n{"a":1}\n');
  const signature = rsaSign(message, privateKey);

  test('the genuine signature verifies, padded or not', () => {
    expect(signature).toHaveLength(344);
    expect(rsaVerify(message, signature, publicKey)).toBe(true);
    expect(rsaVerify(message, signature.replace(/=+$/, ''), publicKey)).toBe(true);
  });

  test('a probe does not, nor the same bytes spelt any other way (Node alone would decode them all alike)', () => {
    expect(rsaVerify(message, `WECHATPAY/SIGNTEST/${signature}`, publicKey)).toBe(false);
    const bytes = Buffer.from(signature, 'base64');
    const loose = [
      `${signature.slice(0, 100)}\n${signature.slice(100)}`, `${signature} `, `${signature}=`, `${signature}AAAA`,
      signature.replace(/\+/g, '-').replace(/\//g, '_'), // base64url
    ].filter((v) => v !== signature);
    expect(Buffer.from(loose[0]!, 'base64').equals(bytes)).toBe(true);
    for (const variant of loose) expect(rsaVerify(message, variant, publicKey)).toBe(false);
  });
});

describe('aesGcmDecrypt takes only the canonical encoding of the ciphertext, as before', () => {
  const nonce = 'abcdefghijkl';
  const ciphertext = aesGcmEncrypt({ key: apiV3Key, nonce, associatedData: 'transaction', plaintext: '{"x":1}' });
  const decrypt = (text: string) => aesGcmDecrypt({ key: apiV3Key, nonce, associatedData: 'transaction', ciphertext: text });

  test('with, without or with extra padding', () => {
    expect(ciphertext.endsWith('=')).toBe(true);
    for (const text of [ciphertext, ciphertext.replace(/=+$/, ''), `${ciphertext}==`]) expect(decrypt(text)).toBe('{"x":1}');
  });

  test('not with stray characters, base64url, or non-zero bits after the last byte', () => {
    const body = ciphertext.replace(/=+$/, '');
    const last = body[body.length - 1]!;
    const noisyLast = String.fromCharCode(last.charCodeAt(0) + 1); // same high bits, a low bit set
    for (const text of [` ${ciphertext}`, `${body.slice(0, 8)}\n${body.slice(8)}`, `${body.slice(0, 4)}-${body.slice(5)}`, body.slice(0, -1) + noisyLast]) {
      expect(() => decrypt(text)).toThrow(/not Base64/);
    }
  });
});

describe('WechatpayVerifier', () => {
  const serial = 'PUB_KEY_ID_0114232134912410000000000000000001';
  const body = Buffer.from('{"summary":"支付成功","ok":true}', 'utf8');
  const signed = (b: string | Buffer = body) => {
    const timestamp = String(unixSeconds());
    const nonce = 'N0NCE';
    return { timestamp, nonce, signature: rsaSign(responseSignatureMessage(timestamp, nonce, b), privateKey) };
  };
  const verifier = new WechatpayVerifier({ keys: { [serial.toLowerCase()]: publicKey } });

  test('reads the headers whatever their case; of two spellings the first wins, of a repeated header its first value', () => {
    const s = signed();
    expect(() => verifier.verify({ 'WECHATPAY-TIMESTAMP': s.timestamp, 'wechatpay-nonce': s.nonce, 'Wechatpay-Signature': s.signature, 'wEchatpay-serial': serial }, body)).not.toThrow();
    expect(() => verifier.verify({ 'wechatpay-timestamp': s.timestamp, 'wechatpay-nonce': s.nonce, 'wechatpay-signature': [s.signature, 'x'], 'wechatpay-serial': serial }, body)).not.toThrow();
    expect(() => verifier.verify({ 'Wechatpay-Signature': 'AAAA', 'wechatpay-timestamp': s.timestamp, 'wechatpay-nonce': s.nonce, 'wechatpay-signature': s.signature, 'wechatpay-serial': serial }, body)).toThrow(/does not match/);
    expect(() => verifier.verify({ 'Wechatpay-Signature': s.signature, 'wechatpay-timestamp': s.timestamp, 'wechatpay-nonce': s.nonce, 'wechatpay-signature': 'AAAA', 'wechatpay-serial': serial }, body)).not.toThrow();
    expect(() => verifier.verify(new Headers({ 'Wechatpay-Timestamp': s.timestamp, 'Wechatpay-Nonce': s.nonce, 'Wechatpay-Signature': s.signature, 'Wechatpay-Serial': serial }), body)).not.toThrow();
    expect(() => verifier.verify({ 'wechatpay-timestamp': s.timestamp, 'wechatpay-nonce': s.nonce, 'wechatpay-signature': s.signature, 'wechatpay-serial-x': serial }, body)).toThrow(/missing/);
  });

  test('a Buffer body and the same text verify alike; the Buffer is signed byte for byte, never re-decoded', () => {
    const s = signed();
    const headers = { 'wechatpay-timestamp': s.timestamp, 'wechatpay-nonce': s.nonce, 'wechatpay-signature': s.signature, 'wechatpay-serial': serial };
    expect(() => verifier.verify(headers, body)).not.toThrow();
    expect(() => verifier.verify(headers, body.toString('utf8'))).not.toThrow();
    // Bytes that are not UTF-8 are still the bytes WeChat Pay signed (wxpay-v3.md §3: the raw body).
    const raw = Buffer.concat([body, Buffer.from([0xff, 0xfe])]);
    const r = signed(raw);
    expect(() => verifier.verify({ ...headers, 'wechatpay-timestamp': r.timestamp, 'wechatpay-signature': r.signature }, raw)).not.toThrow();
    expect(responseSignatureMessage(r.timestamp, 'N0NCE', raw).equals(Buffer.concat([Buffer.from(`${r.timestamp}\nN0NCE\n`), raw, Buffer.from('\n')]))).toBe(true);
  });
});

describe('parseNotification', () => {
  const serial = 'PUB_KEY_ID_0114232134912410000000000000000002';
  const notification = (key = apiV3Key) => buildNotification({
    eventType: 'TRANSACTION.SUCCESS', resource: { out_trade_no: 'T1', amount: { total: 100 } }, apiV3Key: key, signingKey: privateKey, serial,
    createTime: '2024-08-05T17:33:42+08:00',
  });

  test('opens a Buffer body and a string body alike', () => {
    const verifier = new WechatpayVerifier({ keys: { [serial]: publicKey } });
    const n = notification();
    const fromBuffer = parseNotification({ headers: n.headers, rawBody: Buffer.from(n.body), verifier, apiV3Key });
    expect(fromBuffer.resource).toEqual({ out_trade_no: 'T1', amount: { total: 100 } });
    expect(parseNotification({ headers: n.headers, rawBody: n.body, verifier, apiV3Key })).toEqual(fromBuffer);
  });

  test('insists on a 32-byte APIv3 key on every call, before anything else, and follows a changed key', () => {
    const verifier = new WechatpayVerifier({ keys: { [serial]: publicKey } });
    const n = notification();
    expect(() => parseNotification({ headers: n.headers, rawBody: n.body, verifier, apiV3Key })).not.toThrow();
    for (const bad of ['0123456789abcdef', `${apiV3Key}x`, `${apiV3Key.slice(0, 31)}é`]) {
      const err = (() => { try { parseNotification({ headers: {}, rawBody: 'not even JSON', verifier, apiV3Key: bad }); } catch (e) { return e; } return undefined; })();
      expect(err).toBeInstanceOf(PayError);
      expect((err as PayError).code).toBe('CONFIG_ERROR');
    }
    const otherKey = 'ZYXWVUTSRQPONMLKJIHGFEDCBA987654';
    expect(() => parseNotification({ headers: n.headers, rawBody: n.body, verifier, apiV3Key: otherKey })).toThrow(/tag mismatch/);
    const m = notification(otherKey);
    expect(parseNotification({ headers: m.headers, rawBody: m.body, verifier, apiV3Key: otherKey }).resource).toEqual({ out_trade_no: 'T1', amount: { total: 100 } });
    expect(() => parseNotification({ headers: m.headers, rawBody: m.body, verifier, apiV3Key })).toThrow(/tag mismatch/);
  });
});
