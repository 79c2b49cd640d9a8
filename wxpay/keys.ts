import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';

export type KeyInput = string | Buffer | KeyObject;

/** Accepts PKCS#8 / PKCS#1 PEM text or a KeyObject. PEM pasted with literal "\n" (a common config bug, peers.md §3.3) is repaired. */
export function loadPrivateKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) return input;
  return createPrivateKey(normalisePem(input));
}

/** Accepts a public key PEM, an X.509 certificate PEM (platform certificate), or a KeyObject. */
export function loadPublicKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) return input.type === 'private' ? createPublicKey(input) : input;
  const pem = normalisePem(input);
  if (pem.includes('BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey;
  return createPublicKey(pem);
}

/** Upper-case hex serial of an X.509 certificate, as WeChat Pay writes it in `Wechatpay-Serial` / `serial_no`. */
export function certificateSerial(certPem: string | Buffer): string {
  return new X509Certificate(normalisePem(certPem)).serialNumber.toUpperCase();
}

function normalisePem(input: string | Buffer): string {
  const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
  return text.includes('\\n') && !text.includes('\n') ? text.replace(/\\n/g, '\n') : text;
}
