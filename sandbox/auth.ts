import { KeyObject } from 'node:crypto';
import { AUTH_SCHEME, parseAuthorization, PayError, requestSignatureMessage, rsaVerify } from '../wxpay';
import { signFailure } from './errors';

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
export function authenticate(req: SignedRequest, merchant: MerchantIdentity, realNowMs: number): { mchid: string } {
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
