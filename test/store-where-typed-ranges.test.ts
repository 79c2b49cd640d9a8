/**
 * A range (`$gt $gte $lt $lte`) only matches values of the operand's JSON type (weda.md §2.2; datasources/where-v2.ts):
 * the compiler tests the type of each row's value, unless the store promises that every value of the field is of
 * the operand's type (`FieldSql.types`: the system columns, and fields the model types as numbers only or text only,
 * whose every write the store checks, once the rows already there are found to hold to the type). Leaving the test
 * out must never change what a where matches: the store's answers are checked against the rules evaluated in
 * JavaScript on the records themselves, over typed and untyped fields, mirrored and not, system fields, and ranges
 * inside `$and` / `$or` beside the operators that match a missing field (`$neq`, `$nin`); and over rows written
 * under an earlier, looser definition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { openSqliteStore } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';
import { compileWhereV2, fieldExpr, type FieldSql } from '../datasources/where-v2';
import { random } from './helpers/seeded-random';

const MODELS: Record<string, ModelDefinition> = {
  things: {
    properties: {
      num: { type: 'integer', 'x-index': true }, // numbers only, mirrored
      str: { type: 'string', 'x-index': true }, // text only, mirrored
      amount: { type: 'number' }, // numbers only, read from the JSON
      label: { type: 'string' }, // text only, read from the JSON
      either: { type: ['number', 'string'], 'x-index': true }, // both: the type test stays
      loose: { type: ['number', 'string'] },
    },
  },
};
const FIELDS = ['num', 'str', 'amount', 'label', 'either', 'loose'] as const;
const NUMBERS = [-2, 0, 1, 1.5, 2, 9, 10, 100];
const STRINGS = ['', '0', '1', '10', '9', 'a', 'b', 'ab', 'B'];

type Rec = Record<string, unknown> & { _id: string; createdAt: number };

function valueFor(field: string, next: (n: number) => number): unknown {
  const r = next(10);
  if (r === 0) return undefined; // missing
  if (r === 1) return null;
  const number = NUMBERS[next(NUMBERS.length)]!;
  const text = STRINGS[next(STRINGS.length)]!;
  if (field === 'num') return Math.trunc(number);
  if (field === 'amount') return number;
  if (field === 'str' || field === 'label') return text;
  return next(2) === 0 ? number : text;
}

function operand(next: (n: number) => number, field: string, records: Rec[]): string | number {
  if (field === '_id') return next(3) === 0 ? NUMBERS[next(NUMBERS.length)]! : records[next(records.length)]!._id.slice(0, 1 + next(6));
  if (field === 'createdAt') return next(4) === 0 ? String(records[next(records.length)]!.createdAt) : records[next(records.length)]!.createdAt;
  return next(2) === 0 ? NUMBERS[next(NUMBERS.length)]! : STRINGS[next(STRINGS.length)]!;
}

/** A random where of ranges, `$neq`, `$nin`, `$eq`, in `$and` / `$or`. */
function whereOf(next: (n: number) => number, records: Rec[], depth = 0): Record<string, unknown> {
  if (depth < 2 && next(4) === 0) {
    return { [next(2) === 0 ? '$and' : '$or']: Array.from({ length: 1 + next(3) }, () => whereOf(next, records, depth + 1)) };
  }
  const field = next(5) === 0 ? (next(2) === 0 ? '_id' : 'createdAt') : FIELDS[next(FIELDS.length)]!;
  const isSystem = field === '_id' || field === 'createdAt';
  const ops = isSystem ? ['$gt', '$gte', '$lt', '$lte'] : ['$gt', '$gte', '$lt', '$lte', '$gt', '$lt', '$neq', '$nin', '$eq'];
  const op = ops[next(ops.length)]!;
  if (op === '$nin') return { [field]: { $nin: [operand(next, field, records), operand(next, field, records)] } };
  const range: Record<string, unknown> = { [op]: operand(next, field, records) };
  if (next(3) === 0) range[['$lt', '$lte'][next(2)]!] = operand(next, field, records); // a two-sided range
  return { [field]: range };
}

const sameType = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
/** SQLite's BINARY collation: the strings here are ASCII, where it agrees with JavaScript's order. */
function compare(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rules, in JavaScript, on the record as it is. */
function matches(rec: Rec, where: Record<string, unknown>): boolean {
  return Object.entries(where).every(([key, cond]) => {
    if (key === '$and') return (cond as Record<string, unknown>[]).every((w) => matches(rec, w));
    if (key === '$or') return (cond as Record<string, unknown>[]).some((w) => matches(rec, w));
    const v = rec[key];
    const present = v !== undefined && v !== null;
    return Object.entries(cond as Record<string, unknown>).every(([op, x]) => {
      switch (op) {
        case '$eq': return present && sameType(v, x) && v === x;
        case '$neq': return !(present && sameType(v, x) && v === x);
        case '$nin': return !present || !(x as unknown[]).some((y) => sameType(v, y) && v === y);
        case '$gt': return present && sameType(v, x) && compare(v as number | string, x as number | string) > 0;
        case '$gte': return present && sameType(v, x) && compare(v as number | string, x as number | string) >= 0;
        case '$lt': return present && sameType(v, x) && compare(v as number | string, x as number | string) < 0;
        case '$lte': return present && sameType(v, x) && compare(v as number | string, x as number | string) <= 0;
        default: throw new Error(`no rule for ${op}`);
      }
    });
  });
}

let dir: string;
let store: ModelStore;
let records: Rec[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weda-wxpay-typed-ranges-'));
  let t = 1_700_000_000_000;
  store = openSqliteStore({ dataDir: dir, models: MODELS, now: () => (t += 1 + (t % 3 === 0 ? 0 : 7)) });
  const next = random(20261201);
  for (let i = 0; i < 160; i++) {
    const data: Record<string, unknown> = {};
    for (const f of FIELDS) {
      const v = valueFor(f, next);
      if (v !== undefined) data[f] = v;
    }
    await store.callModel({ name: 'things', methodName: 'wedaCreateV2', params: { data } });
  }
  const all = (await store.callModel({ name: 'things', methodName: 'wedaGetRecordsV2', params: { select: { $master: true }, pageSize: 200, pageNumber: 1 } })) as { records: Rec[] };
  records = all.records;
  expect(records).toHaveLength(160);
});

afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('3,000 random wheres match exactly the records the rules pick, with or without the type test', async () => {
  const next = random(7);
  const wrong: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const where = whereOf(next, records);
    const page = (await store.callModel({ name: 'things', methodName: 'wedaGetRecordsV2', params: { filter: { where }, select: { _id: true }, pageSize: 200, pageNumber: 1 } })) as { records: Rec[] };
    const got = page.records.map((r) => r._id).sort();
    const want = records.filter((r) => matches(r, where)).map((r) => r._id).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${JSON.stringify(where)}: ${got.length} records, the rules pick ${want.length}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
});

test('the type test is left out only where the store promises the operand type', () => {
  const promised: FieldSql = Object.assign((f: string, p: string) => fieldExpr(f, p), { types: new Map([['n', 'number' as const], ['s', 'text' as const]]) });
  expect(compileWhereV2({ n: { $gte: 1 } }, 'w', promised).sql).toBe("json_extract(data, '$.n') >= ?");
  expect(compileWhereV2({ s: { $lt: 'x' } }, 'w', promised).sql).toBe("json_extract(data, '$.s') < ?");
  // An operand of the other type still matches nothing of the field, as the test says.
  expect(compileWhereV2({ n: { $gte: '1' } }, 'w', promised).sql).toBe("typeof(json_extract(data, '$.n')) = 'text' AND json_extract(data, '$.n') >= ?");
  expect(compileWhereV2({ s: { $lt: 1 } }, 'w', promised).sql).toBe("typeof(json_extract(data, '$.s')) IN ('integer', 'real') AND json_extract(data, '$.s') < ?");
  // No promise, no shortcut.
  const plain: FieldSql = (f, p) => fieldExpr(f, p);
  expect(compileWhereV2({ n: { $gte: 1 } }, 'w', plain).sql).toContain('typeof(');
});

test('rows written under an earlier definition: a field is promised its type only once every row holds to it', async () => {
  const legacyDir = mkdtempSync(join(tmpdir(), 'weda-wxpay-typed-ranges-legacy-'));
  const loose: Record<string, ModelDefinition> = { notes: { properties: { n: { type: ['number', 'string'], 'x-index': true }, m: { type: ['number', 'string'] } } } };
  const strict: Record<string, ModelDefinition> = { notes: { properties: { n: { type: 'integer', 'x-index': true }, m: { type: 'integer' } } } };
  const range = async (s: ModelStore, field: string) =>
    ((await s.callModel({ name: 'notes', methodName: 'wedaGetRecordsV2', params: { filter: { where: { [field]: { $gt: 3 } } }, select: { $master: true }, pageSize: 200, pageNumber: 1 } })) as { records: Rec[] }).records.map((r) => r[field]).sort();
  try {
    const before = openSqliteStore({ dataDir: legacyDir, models: loose });
    for (const v of [1, 5, '5', 'x']) await before.callModel({ name: 'notes', methodName: 'wedaCreateV2', params: { data: { n: v, m: v } } });
    before.close();
    // Now typed as integers, over rows that hold text: a text value is still no match for a number.
    const seen: string[] = [];
    const after = openSqliteStore({ dataDir: legacyDir, models: strict, trace: (sql) => seen.push(sql) });
    expect(await range(after, 'n')).toEqual([5]);
    expect(await range(after, 'm')).toEqual([5]);
    expect(seen.filter((q) => q.startsWith('SELECT') && q.includes('typeof(') && q.includes(' > 3'))).toHaveLength(2);
    after.close();
    // Found once not to hold, a field is not scanned again at the next opening (only when its type changes).
    const scans = (qs: string[]) => qs.filter((q) => /^SELECT ifnull\(max\(typeof\(.* FROM "m_notes"$/.test(q));
    expect(scans(seen)).toHaveLength(1); // one pass for both fields
    seen.length = 0;
    const reopened = openSqliteStore({ dataDir: legacyDir, models: strict, trace: (sql) => seen.push(sql) });
    expect(await range(reopened, 'n')).toEqual([5]);
    expect(scans(seen)).toEqual([]);
    reopened.close();
    // Once the text rows are gone the promise is made (and recorded), and the answers are the same.
    const cleaned = openSqliteStore({ dataDir: legacyDir, models: loose });
    await cleaned.callModel({ name: 'notes', methodName: 'wedaBatchDeleteV2', params: { filter: { where: { n: { $in: ['5', 'x'] } } } } });
    cleaned.close();
    seen.length = 0;
    const again = openSqliteStore({ dataDir: legacyDir, models: strict, trace: (sql) => seen.push(sql) });
    expect(await range(again, 'n')).toEqual([5]);
    expect(await range(again, 'm')).toEqual([5]);
    expect(seen.filter((q) => q.startsWith('SELECT') && q.includes(' > 3'))).toEqual([
      expect.not.stringContaining('typeof('), expect.not.stringContaining('typeof('),
    ]);
    again.close();
  } finally {
    rmSync(legacyDir, { recursive: true, force: true });
  }
});
