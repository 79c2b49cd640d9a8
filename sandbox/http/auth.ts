import { KeyObject } from 'node:crypto';
import { AUTH_SCHEME, parseAuthorization, PayError, requestSignatureMessage, rsaVerify } from '../../wxpay';
import { signFailure } from '../domain/errors';

export interface MerchantIdentity {
  mchid: string;
  /** Merchant API certificate serial (hex). */
  serialNo: string;
  publicKey: KeyObject;
}

export interface SignedRequest {
  method: string;
  /** Path plus "?query" exactly as received: what the client signed (wxpay-v3.md §2). */
  url: string;
  authorization: string | undefined;
  body: string;
  query: URLSearchParams;
}

/** Requests more than this far from the real clock are refused (wxpay-v3.md §2, §8 item 1). */
const MAX_SKEW_SECONDS = 300;

/**
 * Authenticates one v3 request (wxpay-v3.md §8 item 1): Authorization parsed by key, scheme, mchid, serial_no,
 * |real now − timestamp| < 300 s, SHA256withRSA over `METHOD\nPATH?QUERY\nTS\nNONCE\nBODY\n` with the merchant
 * public key, and the mchid in the body / query equal to the signer's. Any failure → 401 SIGN_ERROR.
 * `realNowMs` is the wall clock, never the sandbox business clock: the client signs with its own real time.
 */
export function authenticate(req: SignedRequest, merchant: MerchantIdentity, realNowMs: number, nonces?: NonceCache): { mchid: string } {
  let auth: ReturnType<typeof parseAuthorization>;
  try {
    auth = parseAuthorization(req.authorization);
  } catch (err) {
    const e = err as PayError;
    throw signFailure(e.detail?.field ?? 'Authorization', e.detail?.issue ?? e.message);
  }
  if (auth.scheme !== AUTH_SCHEME) throw signFailure('Authorization', `scheme must be ${AUTH_SCHEME}, got ${auth.scheme}`);
  if (auth.mchid !== merchant.mchid) throw signFailure('mchid', `mchid ${auth.mchid} is not the sandbox merchant ${merchant.mchid}`);
  if (auth.serial_no.toUpperCase() !== merchant.serialNo.toUpperCase()) throw signFailure('serial_no', `serial_no ${auth.serial_no} is not the merchant API certificate serial`);
  if (!/^\d{1,10}$/.test(auth.timestamp)) throw signFailure('timestamp', 'timestamp must be Unix seconds (10 digits), not milliseconds');
  const skew = Math.abs(Math.floor(realNowMs / 1000) - Number(auth.timestamp));
  if (skew >= MAX_SKEW_SECONDS) throw signFailure('timestamp', `timestamp is ${skew}s away from now (limit ${MAX_SKEW_SECONDS}s)`);
  const message = requestSignatureMessage(req.method, req.url, auth.timestamp, auth.nonce_str, req.body);
  if (!rsaVerify(message, auth.signature, merchant.publicKey)) throw signFailure('signature', 'sign not match');
  // Replay: a correctly signed request seen before (same mchid, nonce and timestamp) within the window.
  if (nonces && !nonces.claim(`${auth.mchid}\n${auth.nonce_str}\n${auth.timestamp}`, realNowMs)) {
    throw signFailure('nonce_str', 'this nonce_str and timestamp were already used (replayed request); sign every request with a fresh nonce');
  }

  const bodyMchid = mchidInBody(req.body);
  if (bodyMchid !== undefined && bodyMchid !== auth.mchid) throw signFailure('mchid', `body mchid ${bodyMchid} differs from the Authorization mchid ${auth.mchid}`);
  const queryMchid = req.query.get('mchid');
  if (queryMchid !== null && queryMchid !== auth.mchid) throw signFailure('mchid', `query mchid ${queryMchid} differs from the Authorization mchid ${auth.mchid}`);
  return { mchid: auth.mchid };
}

function mchidInBody(body: string): unknown {
  if (body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>).mchid : undefined;
  } catch {
    return undefined; // not JSON: the route answers PARAM_ERROR
  }
}

/**
 * Nonces of accepted requests, remembered for the ±300 s window on the real clock (replay protection, wxpay-v3.md
 * §2 "拒绝…重放"). In memory: a restart forgets them, which only reopens replays of requests less than 5 min old.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  private nextPrune = 0;

  /** Records `key`; false when it was already seen within the window. */
  claim(key: string, realNowMs: number): boolean {
    if (realNowMs >= this.nextPrune) {
      for (const [k, expires] of this.seen) if (expires <= realNowMs) this.seen.delete(k);
      this.nextPrune = realNowMs + 30_000;
    }
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > realNowMs) return false;
    // The request's timestamp may be up to 300 s in the future: remember it for two windows.
    this.seen.set(key, realNowMs + 2 * MAX_SKEW_SECONDS * 1000);
    return true;
  }
}
