import { KeyObject } from 'node:crypto';
import { KeyInput, loadPublicKey } from './keys';
import { rsaVerify, unixSeconds } from './rsa';
import { responseSignatureMessage } from './auth';
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

  verify(headers: HeaderBag, body: string | Buffer): void {
    const timestamp = headerValue(headers, 'Wechatpay-Timestamp');
    const nonce = headerValue(headers, 'Wechatpay-Nonce');
    const signature = headerValue(headers, 'Wechatpay-Signature');
    const serial = headerValue(headers, 'Wechatpay-Serial');
    const type = headerValue(headers, 'Wechatpay-Signature-Type');
    // A 2xx without signature headers must be treated as forged (wxpay-v3.md §3).
    if (!timestamp || !nonce || !signature || !serial) throw signError('Wechatpay-* signature headers are missing', 'Wechatpay-Signature');
    if (type && type !== 'WECHATPAY2-SHA256-RSA2048') throw signError(`unsupported signature type ${type}`, 'Wechatpay-Signature-Type');
    if (!/^\d{1,12}$/.test(timestamp)) throw signError('timestamp is not Unix seconds', 'Wechatpay-Timestamp');
    const skew = Math.abs(unixSeconds(this.now()) - Number(timestamp));
    if (skew >= this.maxSkew) throw signError(`timestamp is ${skew}s away from now (limit ${this.maxSkew}s)`, 'Wechatpay-Timestamp');
    const key = this.keys.get(serial.toUpperCase());
    if (!key) throw signError(`no WeChat Pay key for serial ${serial}`, 'Wechatpay-Serial');
    if (!rsaVerify(responseSignatureMessage(timestamp, nonce, body), signature, key)) throw signError('signature does not match the body');
  }
}
