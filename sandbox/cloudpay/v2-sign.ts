import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type V2SignType = 'MD5' | 'HMAC-SHA256';

/**
 * The WeChat Pay v2 signature (wxpay-v2-cloudpay.md §2): drop `sign` and empty values (undefined, null, ''),
 * sort keys by byte order, join `k=v` with `&`, append `&key=API_KEY`, then upper-case hex of MD5, or of
 * HMAC-SHA256 keyed with the API key. Nested objects/arrays are not signed fields (the CloudPay `payment` object
 * is returned beside the signed v2 fields, not inside them).
 */
export function v2Sign(fields: Record<string, unknown>, apiKey: string, type: V2SignType = 'MD5'): string {
  const stringA = Object.keys(fields)
    .filter((k) => k !== 'sign' && isSignable(fields[k]))
    .sort()
    .map((k) => `${k}=${String(fields[k])}`)
    .join('&');
  const temp = `${stringA}&key=${apiKey}`;
  const digest = type === 'MD5' ? createHash('md5').update(temp, 'utf8').digest('hex') : createHmac('sha256', apiKey).update(temp, 'utf8').digest('hex');
  return digest.toUpperCase();
}

export function v2Verify(fields: Record<string, unknown>, apiKey: string, type: V2SignType = 'MD5'): boolean {
  const got = fields.sign;
  if (typeof got !== 'string') return false;
  const want = Buffer.from(v2Sign(fields, apiKey, type));
  const have = Buffer.from(got.toUpperCase());
  return want.length === have.length && timingSafeEqual(want, have);
}

/**
 * Mini-program `paySign` for a v2 (CloudPay) order (wxpay-v2-cloudpay.md §6): the v2 signature over exactly
 * `appId, nonceStr, package, signType, timeStamp` (camelCase, capital I).
 */
export function v2PaySign(p: { appId: string; timeStamp: string; nonceStr: string; package: string; signType: V2SignType }, apiKey: string): string {
  return v2Sign({ appId: p.appId, nonceStr: p.nonceStr, package: p.package, signType: p.signType, timeStamp: p.timeStamp }, apiKey, p.signType);
}

function isSignable(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
}
