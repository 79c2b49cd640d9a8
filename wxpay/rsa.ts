import { createSign, createVerify, randomBytes } from 'node:crypto';
import { decodeBase64 } from './base64';
import { KeyInput, loadPrivateKey, loadPublicKey } from './keys';

/** A message given in pieces, signed as their concatenation (text as UTF-8). */
export type MessageParts = readonly (string | Buffer)[];

/** SHA256withRSA (RSASSA-PKCS1-v1_5), standard padded Base64 — the only v3 signature algorithm (wxpay-v3.md §2). */
export function rsaSign(message: string | Buffer | MessageParts, privateKey: KeyInput): string {
  return hashed(createSign('RSA-SHA256'), message).sign(loadPrivateKey(privateKey), 'base64');
}

/** The standard alphabet, then at most two '=' (missing padding is tolerated, as it always was here). */
const SIGNATURE_BASE64 = { maxPadding: 2, canonical: false };

export function rsaVerify(message: string | Buffer | MessageParts, signatureBase64: string, publicKey: KeyInput): boolean {
  // Probe signatures (`WECHATPAY/SIGNTEST/...`, wxpay-v3.md §3) are not Base64: they must fail, not throw oddly.
  const signature = decodeBase64(signatureBase64, SIGNATURE_BASE64);
  if (!signature) return false;
  try {
    // Streaming rather than one-shot crypto.verify(): on Node 20 it is the faster of the two (bench/README.md).
    return hashed(createVerify('RSA-SHA256'), message).verify(loadPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

function hashed<T extends { update(data: string | Buffer): T }>(signOrVerify: T, message: string | Buffer | MessageParts): T {
  if (typeof message === 'string' || Buffer.isBuffer(message)) return signOrVerify.update(message);
  for (const part of message) signOrVerify.update(part);
  return signOrVerify;
}

const NONCE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 32 chars from [0-9A-Za-z], like wechatpay-go utils/nonce.go. */
export function createNonce(length = 32): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += NONCE_ALPHABET[bytes[i]! % NONCE_ALPHABET.length];
  return out;
}

/** Unix seconds, 10 digits (milliseconds are a SIGN_ERROR, wxpay-v3.md §2). */
export function unixSeconds(now: number = Date.now()): number {
  return Math.floor(now / 1000);
}
