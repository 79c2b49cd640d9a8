/**
 * China Standard Time (+08:00, no daylight saving) in the shapes WeChat Pay uses. v3 dates are RFC 3339 with
 * the offset (wxpay-v3.md §0); v2/CloudPay gives China wall time without an offset: `yyyyMMddHHmmss`
 * (time_end, time_expire) and `yyyy-MM-dd HH:mm:ss` (refund success_time, bill rows) (wxpay-v2-cloudpay.md §0,
 * §5.4–5.5). Every conversion in the project goes through here.
 */
const CST_OFFSET_MS = 8 * 3600_000;

/** `YYYY-MM-DDTHH:mm:ss` of the China wall clock at `ms`. */
function chinaWall(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 19);
}

/** RFC 3339 in China Standard Time: `2024-01-31T12:00:05+08:00`. */
export function toRfc3339Cst(ms: number): string {
  return `${chinaWall(ms)}+08:00`;
}

/** `yyyyMMddHHmmss` in China time (v2 time_end, time_expire; ids that start with the date). */
export function toChinaCompact(ms: number): string {
  return chinaWall(ms).replace(/\D/g, '');
}

/** `yyyy-MM-dd HH:mm:ss` in China time (v2 refund success_time, bill rows, what a payer reads). */
export function toChinaDateTime(ms: number): string {
  return chinaWall(ms).replace('T', ' ');
}

/** `yyyy-MM-dd`: the China calendar date of an instant (bill days). */
export function toChinaDate(ms: number): string {
  return chinaWall(ms).slice(0, 10);
}

const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const SPACED = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * China wall time without an offset (`yyyyMMddHHmmss` or `yyyy-MM-dd HH:mm:ss`) → ms since the epoch, or
 * undefined when it is neither shape or not a real time (30 February, hour 25).
 */
export function parseChinaTime(text: string): number | undefined {
  const m = COMPACT.exec(text) ?? SPACED.exec(text);
  if (!m) return undefined;
  const wall = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  const ms = Date.parse(`${wall}+08:00`);
  return Number.isFinite(ms) && chinaWall(ms) === wall ? ms : undefined;
}

/** Any WeChat Pay time (RFC 3339 with offset, or China wall time) → ms since the epoch, or undefined. */
export function parseWechatTime(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const v3 = parseRfc3339Cst(text);
  if (v3 !== undefined) return v3;
  const china = parseChinaTime(text);
  if (china !== undefined) return china;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * `yyyy-MM-DDTHH:mm:ss+08:00`, the form of every v3 time (wxpay-v3.md §0; success_time on each payment), read by
 * hand: undefined for anything else, or a date that is not on the calendar (30 February, hour 24), which the
 * general reading (`Date.parse`) then decides — what it answers for those, this must not second-guess.
 */
function parseRfc3339Cst(text: string): number | undefined {
  if (text.length !== 25 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 // - - T
    || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || !text.endsWith('+08:00')) return undefined; // : :
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  // Years from 1970 only: Date.UTC reads a year under 100 as 19xx.
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) - CST_OFFSET_MS;
}

/** The decimal number written by `count` ASCII digits at `at`, or -1 if one of them is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** China wall time (`yyyyMMddHHmmss`, `yyyy-MM-dd HH:mm:ss`) → RFC 3339 +08:00, or undefined when malformed. */
export function chinaTimeToRfc3339(text: string): string | undefined {
  const ms = parseChinaTime(text);
  return ms === undefined ? undefined : toRfc3339Cst(ms);
}
