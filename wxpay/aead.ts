import { createCipheriv, createDecipheriv, CipherGCMTypes } from 'node:crypto';
import { decodeBase64 } from './base64';
import { PayError } from './errors';

const TAG_LENGTH = 16;
/** The canonical encoding only, with or without '=' padding: what WeChat Pay sends, nothing looser. */
const CIPHERTEXT_BASE64 = { maxPadding: Infinity, canonical: true };

export interface AeadInput {
  /** APIv3 key as ASCII text (32 bytes in production). */
  key: string | Buffer;
  /** The resource `nonce` string; its UTF-8 bytes are the IV (12 bytes for WeChat Pay). */
  nonce: string | Buffer;
  associatedData?: string | Buffer;
}

/**
 * AEAD_AES_256_GCM as WeChat Pay uses it (RFC 5116): ciphertext = Base64(encrypted ‖ 16-byte tag),
 * key = APIv3 key bytes, IV = nonce bytes, AAD = associated_data (wxpay-v3.md §4).
 * Like wechatpay-go, a 16/24-byte key selects AES-128/192 so the public SDK vectors reproduce; the
 * notification path (notification.ts) insists on 32 bytes, as WeChat Pay does.
 */
export function aesGcmDecrypt(input: AeadInput & { ciphertext: string }): string {
  const key = toBuffer(input.key);
  const data = decodeBase64(input.ciphertext, CIPHERTEXT_BASE64);
  if (!data || data.length < TAG_LENGTH) throw decryptError('ciphertext is not Base64 of payload ‖ 16-byte tag');
  try {
    const decipher = createDecipheriv(algorithmFor(key), key, toBuffer(input.nonce), { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(data.subarray(data.length - TAG_LENGTH));
    decipher.setAAD(toBuffer(input.associatedData ?? ''));
    const payload = decipher.update(data.subarray(0, data.length - TAG_LENGTH));
    // final() checks the tag; GCM is a stream mode, so it adds no bytes of its own.
    const rest = decipher.final();
    return (rest.length ? Buffer.concat([payload, rest]) : payload).toString('utf8');
  } catch (err) {
    if (err instanceof PayError) throw err;
    // "Unsupported state or unable to authenticate data" = wrong APIv3 key, nonce, AAD or a tampered ciphertext.
    throw decryptError('authentication tag mismatch (wrong APIv3 key, nonce or associated_data, or tampered ciphertext)', err);
  }
}

export function aesGcmEncrypt(input: AeadInput & { plaintext: string | Buffer }): string {
  const key = toBuffer(input.key);
  const cipher = createCipheriv(algorithmFor(key), key, toBuffer(input.nonce), { authTagLength: TAG_LENGTH });
  cipher.setAAD(toBuffer(input.associatedData ?? ''));
  const encrypted = Buffer.concat([cipher.update(toBuffer(input.plaintext)), cipher.final()]);
  return Buffer.concat([encrypted, cipher.getAuthTag()]).toString('base64');
}

function algorithmFor(key: Buffer): CipherGCMTypes {
  switch (key.length) {
    case 32: return 'aes-256-gcm';
    case 24: return 'aes-192-gcm';
    case 16: return 'aes-128-gcm';
    default: throw decryptError(`APIv3 key must be 32 bytes (got ${key.length})`);
  }
}

function toBuffer(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function decryptError(issue: string, cause?: unknown): PayError {
  return new PayError({ code: 'DECRYPT_ERROR', message: `AEAD_AES_256_GCM decryption failed: ${issue}`, detail: { field: 'resource.ciphertext', issue }, retryable: false, cause });
}
