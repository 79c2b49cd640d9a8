import { randomUUID } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt } from './aead';
import { signResponse, ResponseSignature } from './auth';
import { PayError } from './errors';
import { KeyInput } from './keys';
import { createNonce } from './rsa';
import { HeaderBag, WechatpayVerifier } from './verifier';

/** The v3 notification envelope (wxpay-v3.md §4). */
export interface NotificationEnvelope {
  id: string;
  create_time: string;
  event_type: string;
  resource_type: string;
  summary: string;
  resource: {
    algorithm: string;
    ciphertext: string;
    associated_data?: string;
    original_type: string;
    nonce: string;
  };
}

export interface ParsedNotification<T = Record<string, unknown>> {
  envelope: NotificationEnvelope;
  resource: T;
}

/**
 * Verify first, then decrypt (wxpay-v3.md §4 "order of processing"): decryptability is no proof of the sender
 * (peers.md §3.3). `rawBody` must be the body as received — best the Buffer itself, which is verified byte for
 * byte and decoded once for JSON.parse — never re-serialised JSON (peers.md §3.3).
 */
export function parseNotification<T = Record<string, unknown>>(opts: { headers: HeaderBag; rawBody: string | Buffer; verifier: WechatpayVerifier; apiV3Key: string }): ParsedNotification<T> {
  const aesKey = aesKeyFor(opts.verifier, opts.apiV3Key);
  opts.verifier.verify(opts.headers, opts.rawBody);
  let envelope: NotificationEnvelope;
  try {
    envelope = JSON.parse(typeof opts.rawBody === 'string' ? opts.rawBody : opts.rawBody.toString('utf8')) as NotificationEnvelope;
  } catch {
    throw new PayError({ code: 'INVALID_REQUEST', message: 'notification body is not JSON' });
  }
  const r = envelope?.resource;
  if (!r || typeof r.ciphertext !== 'string' || typeof r.nonce !== 'string') {
    throw new PayError({ code: 'INVALID_REQUEST', message: 'notification has no encrypted resource', detail: { field: 'resource' } });
  }
  if (r.algorithm !== 'AEAD_AES_256_GCM') {
    throw new PayError({ code: 'INVALID_REQUEST', message: `unsupported resource algorithm ${r.algorithm}`, detail: { field: 'resource.algorithm' } });
  }
  const plaintext = aesGcmDecrypt({ key: aesKey, nonce: r.nonce, associatedData: r.associated_data ?? '', ciphertext: r.ciphertext });
  let resource: T;
  try {
    resource = JSON.parse(plaintext) as T;
  } catch {
    // Its shape is the caller's to check (schemas/events); that it is JSON at all is the protocol's (§4).
    throw new PayError({ code: 'INVALID_REQUEST', message: 'the decrypted resource is not JSON', detail: { field: 'resource.ciphertext' } });
  }
  return { envelope, resource };
}

/**
 * The APIv3 key as AES key bytes, checked and made once per verifier (a deployed function keeps one for its
 * lifetime) rather than on every notification; a different key for the same verifier replaces it.
 */
const aesKeys = new WeakMap<WechatpayVerifier, { apiV3Key: string; bytes: Buffer }>();

function aesKeyFor(verifier: WechatpayVerifier, apiV3Key: string): Buffer {
  const cached = aesKeys.get(verifier);
  if (cached && cached.apiV3Key === apiV3Key) return cached.bytes;
  const bytes = Buffer.from(apiV3Key, 'utf8');
  // AEAD_AES_256_GCM with the key's 32 ASCII bytes (wxpay-v3.md §4); aesGcmDecrypt alone would take 16 or 24.
  if (bytes.length !== 32) {
    throw new PayError({ code: 'CONFIG_ERROR', message: 'apiV3Key must be exactly 32 bytes (AEAD_AES_256_GCM)', detail: { field: 'apiV3Key', issue: 'must be 32 bytes' } });
  }
  aesKeys.set(verifier, { apiV3Key, bytes });
  return bytes;
}

export const NOTIFICATION_SUMMARIES: Record<string, string> = {
  'TRANSACTION.SUCCESS': '支付成功',
  'REFUND.SUCCESS': '退款成功',
  'REFUND.ABNORMAL': '退款异常',
  'REFUND.CLOSED': '退款关闭',
};

/** Builds what WeChat Pay POSTs: encrypted resource + signed headers. Used by the sandbox. */
export function buildNotification(opts: {
  eventType: string;
  resource: unknown;
  apiV3Key: string;
  signingKey: KeyInput;
  serial: string;
  createTime: string;
  id?: string;
  nonce?: string;
  timestamp?: number;
}): { body: string; headers: ResponseSignature & { 'Content-Type': string } } {
  const originalType = opts.eventType.startsWith('REFUND.') ? 'refund' : 'transaction';
  const nonce = opts.nonce ?? createNonce(12);
  const envelope: NotificationEnvelope = {
    id: opts.id ?? randomUUID(),
    create_time: opts.createTime,
    resource_type: 'encrypt-resource',
    event_type: opts.eventType,
    summary: NOTIFICATION_SUMMARIES[opts.eventType] ?? opts.eventType,
    resource: {
      original_type: originalType,
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: aesGcmEncrypt({ key: opts.apiV3Key, nonce, associatedData: originalType, plaintext: JSON.stringify(opts.resource) }),
      associated_data: originalType,
      nonce,
    },
  };
  const body = JSON.stringify(envelope);
  const signed = signResponse({ privateKey: opts.signingKey, serial: opts.serial, body, ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}) });
  return { body, headers: { ...signed, 'Content-Type': 'application/json' } };
}
