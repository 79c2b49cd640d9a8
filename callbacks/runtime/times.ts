/**
 * Times in callback events. CloudPay (v2) gives China time without an offset: payment `timeEnd`
 * `yyyyMMddHHmmss`, refund `successTime` `yyyy-MM-dd HH:mm:ss` (wxpay-v2-cloudpay.md §5.4–5.5); v3 gives
 * RFC 3339 with the offset. Orders store milliseconds since the epoch.
 */

/** Milliseconds since the epoch, or undefined when the text is none of the three shapes. */
export function parseWechatTime(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const compact = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  const spaced = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  const m = compact ?? spaced;
  const ms = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`) : Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `2024-01-31 12:00:05` in China time (what a payer reads in a subscribe message). */
export function chinaTime(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
