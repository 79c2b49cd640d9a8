/**
 * The reconcile function's timer (`callbacks.reconcile.schedule`), read the way a CloudBase timer trigger reads it:
 * seven fields, `second minute hour day month weekday year`, in China time. Each field is `*`, a number, a range
 * `a-b`, a step `*` `/n` or `a-b/n` or `a/n`, or a list of those (`0,30`); months may be JAN–DEC and weekdays SUN–SAT
 * (0 = Sunday). Day and weekday both restricted means either (as in cron). The build checks a schedule with it, and
 * the dev server runs reconcile when `nextFire` says it falls due on the sandbox clock.
 */

const CST_OFFSET_MS = 8 * 3600_000;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The first name stands for this number (months count from 1). */
  nameBase?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'weekday', min: 0, max: 6, names: WEEKDAYS, nameBase: 0 },
  { name: 'year', min: 1970, max: 2199 },
];

export interface TimerSchedule {
  readonly text: string;
  readonly second: ReadonlySet<number>;
  readonly minute: ReadonlySet<number>;
  readonly hour: ReadonlySet<number>;
  readonly day: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly weekday: ReadonlySet<number>;
  readonly year: ReadonlySet<number>;
  readonly anyDay: boolean;
  readonly anyWeekday: boolean;
}

/** Parses a 7-field timer schedule; throws an Error naming the field and the rule it breaks. */
export function parseTimerSchedule(text: string): TimerSchedule {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 7) throw new Error(`timer schedule "${text}" must have 7 fields: second minute hour day month weekday year`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!, text));
  const [second, minute, hour, day, month, weekday, year] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return { text, second, minute, hour, day, month, weekday, year, anyDay: isAny(parts[3]!), anyWeekday: isAny(parts[5]!) };
}

function isAny(part: string): boolean {
  return part === '*' || part === '?';
}

function parseField(part: string, spec: FieldSpec, text: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string) => new Error(`timer schedule "${text}": ${spec.name} "${part}" ${why}`);
  const value = (token: string): number => {
    const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
    const n = named >= 0 ? named + (spec.nameBase ?? 0) : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(n) || n < spec.min || n > spec.max) throw bad(`must be ${spec.min}–${spec.max}${spec.names ? ` or ${spec.names[0]}–${spec.names[spec.names.length - 1]}` : ''}`);
    return n;
  };
  for (const item of part.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') throw bad('is not a value, range or step');
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) && Number(stepText) > 0 ? Number(stepText) : NaN;
    if (!Number.isInteger(step)) throw bad('has a step that is not a whole number ≥ 1');
    let from: number;
    let to: number;
    if (isAny(range)) {
      [from, to] = [spec.min, spec.max];
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      [from, to] = [value(a ?? ''), value(b ?? '')];
      if (from > to) throw bad('is a range that runs backwards');
    } else {
      from = value(range);
      to = stepText === undefined ? from : spec.max;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

/**
 * The first time after `afterMs` (ms since the epoch, exclusive) the schedule fires, or undefined when it never
 * does again (its years are past). Skips whole years, months, days, hours and minutes that cannot match, so it
 * takes a few hundred steps at most.
 */
export function nextFire(schedule: TimerSchedule, afterMs: number): number | undefined {
  let t = Math.floor(afterMs / 1000) * 1000 + 1000;
  for (let steps = 0; steps < 100_000; steps++) {
    const d = new Date(t + CST_OFFSET_MS);
    const [y, mo, dd, h, mi, s] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    // China wall time → ms; Date.UTC carries an overflow (month 12, day 32, hour 24) into the next unit.
    const at = (year: number, month: number, day: number, hour: number, minute: number) => Date.UTC(year, month, day, hour, minute) - CST_OFFSET_MS;
    if (!schedule.year.has(y)) {
      if (y > FIELDS[6]!.max || ![...schedule.year].some((year) => year > y)) return undefined;
      t = at(y + 1, 0, 1, 0, 0);
    } else if (!schedule.month.has(mo + 1)) {
      t = at(y, mo + 1, 1, 0, 0);
    } else if (!dayMatches(schedule, dd, d.getUTCDay())) {
      t = at(y, mo, dd + 1, 0, 0);
    } else if (!schedule.hour.has(h)) {
      t = at(y, mo, dd, h + 1, 0);
    } else if (!schedule.minute.has(mi)) {
      t = at(y, mo, dd, h, mi + 1);
    } else if (!schedule.second.has(s)) {
      t += 1000;
    } else {
      return t;
    }
  }
  return undefined;
}

function dayMatches(s: TimerSchedule, day: number, weekday: number): boolean {
  if (s.anyDay || s.anyWeekday) return s.day.has(day) && s.weekday.has(weekday);
  return s.day.has(day) || s.weekday.has(weekday);
}
