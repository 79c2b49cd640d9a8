/** RFC 3339 in China Standard Time (+08:00), the form WeChat Pay uses for every date field (wxpay-v3.md §0). */
export function toRfc3339Cst(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ, but shifted to +08:00 wall time
  return `${iso.slice(0, 19)}+08:00`;
}
