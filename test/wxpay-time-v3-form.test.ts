/**
 * parseWechatTime reads the v3 form `yyyy-MM-DDTHH:mm:ss+08:00` (wxpay-v3.md §0) by hand; for every text it must
 * answer what it answered before, when every RFC 3339 time went through `Date.parse` — calendar dates and
 * leap years included, and whatever `Date.parse` makes of the texts that are not on the calendar.
 */
import { parseWechatTime } from '../wxpay';
import { random } from './helpers/seeded-random';

/** parseWechatTime as it was: the two China wall-time forms by regex (checked against the calendar), else Date.parse. */
function before(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text) ?? /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (m) {
    const wall = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
    const ms = Date.parse(`${wall}+08:00`);
    if (Number.isFinite(ms) && new Date(ms + 8 * 3600_000).toISOString().slice(0, 19) === wall) return ms;
  }
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

describe('the v3 time form read by hand answers what Date.parse answered', () => {
  test('every field at and past its edges: years 0000–9999 around 1970 and leap years, month 0–13, day 0–32, hour 0–25, minute and second 0–61', () => {
    const next = random(20240903);
    const years = [0, 99, 100, 1899, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 2400, 9999];
    const mismatches: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const text = `${pad(next(3) === 0 ? years[next(years.length)]! : 1960 + next(200), 4)}-${pad(next(14))}-${pad(next(33))}T${pad(next(26))}:${pad(next(62))}:${pad(next(62))}+08:00`;
      if (parseWechatTime(text) !== before(text)) mismatches.push(`${text}: ${parseWechatTime(text)} vs ${before(text)}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test('200 000 texts one to three characters away from a v3 time', () => {
    const next = random(20240904);
    const alphabet = '0123456789-T:+ Z.z\u0660\uff10';
    const mismatches: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const chars = '2024-02-29T23:59:59+08:00'.split('');
      for (let k = 0; k <= next(3); k++) {
        const at = next(chars.length + 1);
        const edit = next(3);
        if (edit === 0) chars[at] = alphabet[next(alphabet.length)]!;
        else if (edit === 1) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[next(alphabet.length)]!);
      }
      const text = chars.join('');
      if (parseWechatTime(text) !== before(text)) mismatches.push(`${JSON.stringify(text)}: ${parseWechatTime(text)} vs ${before(text)}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test('the instants themselves', () => {
    expect(parseWechatTime('2024-02-29T23:59:59+08:00')).toBe(Date.UTC(2024, 1, 29, 15, 59, 59));
    expect(parseWechatTime('1970-01-01T08:00:00+08:00')).toBe(0);
    // Not on the calendar: whatever Date.parse says (V8 rolls 30 February over), as before.
    expect(parseWechatTime('2023-02-30T00:00:00+08:00')).toBe(Date.parse('2023-02-30T00:00:00+08:00'));
    expect(parseWechatTime('2024-01-01T24:00:00+08:00')).toBe(Date.parse('2024-01-01T24:00:00+08:00'));
  });
});
