import { KeyObject } from 'node:crypto';
import { KeyInput, loadPublicKey } from './keys';
import { rsaVerify, unixSeconds } from './rsa';
import { responseSignatureParts } from './auth';
import { signError } from './errors';

/** 5 minutes, as every official SDK (wxpay-v3.md §3: Go rejects |now−ts| ≥ 300 s). */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const wanted = name.toLowerCase();
  for (const key of Object.keys(bag)) {
    if (key.toLowerCase() === wanted) {
      const v = bag[key];
      return Array.isArray(v) ? v[0] : v;
    }
  }
  return undefined;
}

/** The `Wechatpay-*` headers of a signed response or notification (wxpay-v3.md §3), in the order verify() reads them. */
const SIGNATURE_HEADERS = ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-signature', 'wechatpay-serial', 'wechatpay-signature-type'];

/**
 * The five signature headers, as headerValue() would give each, in one pass over the bag: a name matches
 * whatever its case, the first matching name wins, and of a repeated header its first value counts. Only a name
 * beginning with "w" or "W" can lower-case to "wechatpay-…", so the others are passed over unread, and a name
 * already in lower case (as node:http gives them) is not lower-cased again.
 */
function signatureHeaders(headers: HeaderBag): (string | undefined)[] {
  if (typeof (headers as Headers).get === 'function') return SIGNATURE_HEADERS.map((name) => (headers as Headers).get(name) ?? undefined);
  const bag = headers as Record<string, string | string[] | undefined>;
  const values: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  let found = 0;
  for (const key of Object.keys(bag)) {
    const first = key.charCodeAt(0);
    if (first !== 0x77 && first !== 0x57) continue;
    let i = SIGNATURE_HEADERS.indexOf(key);
    if (i < 0) i = SIGNATURE_HEADERS.indexOf(key.toLowerCase());
    if (i < 0 || found & (1 << i)) continue;
    const v = bag[key];
    values[i] = Array.isArray(v) ? v[0] : v;
    found |= 1 << i;
  }
  return values;
}

export interface VerifierOptions {
  /**
   * WeChat Pay keys by id: platform certificate serials (hex) and/or `PUB_KEY_ID_…` ids. Several at once,
   * because during the certificate → public-key migration callbacks come signed by either (wxpay-v3.md §3).
   */
  keys: Record<string, KeyInput>;
  maxSkewSeconds?: number;
  /** Clock in ms, injectable for test vectors pinned to a past timestamp. */
  now?: () => number;
}

/** Verifies `Wechatpay-*` signed responses and notifications; throws PayError SIGN_ERROR on any doubt. */
export class WechatpayVerifier {
  private readonly keys = new Map<string, KeyObject>();
  private readonly maxSkew: number;
  private readonly now: () => number;

  constructor(opts: VerifierOptions) {
    for (const [id, key] of Object.entries(opts.keys)) this.keys.set(id.toUpperCase(), loadPublicKey(key));
    this.maxSkew = opts.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
    this.now = opts.now ?? Date.now;
  }

  knows(serial: string): boolean {
    return this.keys.has(serial.toUpperCase());
  }

  /** `body` is the raw body: a Buffer as received, or the same bytes as a string (wxpay-v3.md §3). */
  verify(headers: HeaderBag, body: string | Buffer): void {
    const [timestamp, nonce, signature, serial, type] = signatureHeaders(headers);
    // A 2xx without signature headers must be treated as forged (wxpay-v3.md §3).
    if (!timestamp || !nonce || !signature || !serial) throw signError('Wechatpay-* signature headers are missing', 'Wechatpay-Signature');
    if (type && type !== 'WECHATPAY2-SHA256-RSA2048') throw signError(`unsupported signature type ${type}`, 'Wechatpay-Signature-Type');
    if (!/^\d{1,12}$/.test(timestamp)) throw signError('timestamp is not Unix seconds', 'Wechatpay-Timestamp');
    const skew = Math.abs(unixSeconds(this.now()) - Number(timestamp));
    if (skew >= this.maxSkew) throw signError(`timestamp is ${skew}s away from now (limit ${this.maxSkew}s)`, 'Wechatpay-Timestamp');
    // Ids are kept in upper case, as WeChat Pay writes them: most serials are found without converting.
    const key = this.keys.get(serial) ?? this.keys.get(serial.toUpperCase());
    if (!key) throw signError(`no WeChat Pay key for serial ${serial}`, 'Wechatpay-Serial');
    if (!rsaVerify(responseSignatureParts(timestamp, nonce, body), signature, key)) throw signError('signature does not match the body');
  }
}
