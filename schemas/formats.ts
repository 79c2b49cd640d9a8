/**
 * The string formats the schemas name, as plain functions: ajv-formats' own (`fullFormats`) and WeChat Pay's rules
 * that a pattern cannot say. The precompiled validators (validators.generated.ts) look their formats up here at
 * run time, and validate.ts takes each WeChat Pay rule's wording from here, so nothing at run time needs ajv itself.
 */
import { fullFormats } from 'ajv-formats/dist/formats';
import { parseChinaTime } from '../wxpay';

/** ajv-formats' own ipv4 and ipv6 expressions (both are RegExps), for the one format that accepts either. */
const IPV4 = fullFormats.ipv4 as RegExp;
const IPV6 = fullFormats.ipv6 as RegExp;

/**
 * WeChat Pay's rules on a string that a pattern cannot say, as `format`s the method schemas name. `rule` is what
 * the error says after the field name.
 */
export const WXPAY_FORMATS: Record<string, { validate: (text: string) => boolean; rule: string }> = {
  // Surrogates are how a JavaScript string holds a 4-byte UTF-8 character (or, alone, no character at all).
  'bmp-text': {
    validate: (text) => !/[\uD800-\uDFFF]/.test(text),
    rule: 'must not contain characters outside the Basic Multilingual Plane (emoji): WeChat Pay accepts 1–3-byte UTF-8 only (wxpay-v3.md §0)',
  },
  'ip-address': {
    validate: (text) => IPV4.test(text) || IPV6.test(text),
    rule: 'must be an IPv4 or IPv6 address, e.g. 203.0.113.7 or 2001:db8::1 (wxpay-v3.md §1.1 payer_client_ip)',
  },
  'calendar-date': {
    validate: isCalendarDate,
    rule: 'must be a date that exists (yyyy-MM-dd or yyyyMMdd; no 30 February, no month 13)',
  },
  'calendar-date-time': {
    validate: isCalendarDateTime,
    rule: 'must be a time that exists (yyyyMMddHHmmss China time, or RFC 3339 with an offset; no 30 February, no hour 24)',
  },
};

/** Every format by name, in the shape ajv's generated code reads (`ALL_FORMATS[name]`: a RegExp, a function or `{validate}`). */
export const ALL_FORMATS: Record<string, unknown> = {
  ...fullFormats,
  ...Object.fromEntries(Object.entries(WXPAY_FORMATS).map(([name, f]) => [name, { type: 'string', validate: f.validate }])),
};

/** yyyy-MM-dd or yyyyMMdd naming a day on the calendar. */
function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  return !!m && dayExists(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** yyyyMMddHHmmss (China wall time, v2/CloudPay) or RFC 3339 with an offset (v3), naming a real instant (wxpay-v3.md §0). */
function isCalendarDateTime(text: string): boolean {
  if (/^\d{14}$/.test(text)) return parseChinaTime(text) !== undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(text);
  if (!m) return false;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  const offsetOk = m[8] === 'Z' || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return dayExists(Number(m[1]), Number(m[2]), Number(m[3])) && hour <= 23 && minute <= 59 && second <= 59 && offsetOk;
}

function dayExists(year: number, month: number, day: number): boolean {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return days !== undefined && day >= 1 && day <= days;
}
