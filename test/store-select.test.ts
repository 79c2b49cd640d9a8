/**
 * A V2 `select` (weda.md §2.2) answers exactly `_id` and the asked fields the record has, with their JSON types —
 * whichever way the SQLite store reads them (the JSON text of the field, a mirror column of an indexed field, a
 * system column): the same as picking those fields from the whole record (`$master`). Fields are names (NAME_RE), so
 * there is no nested path to ask for; a field the record lacks is left out, a null it holds is answered null.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { openSqliteStore } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';

const MODELS: Record<string, ModelDefinition> = {
  items: {
    properties: {
      code: { type: 'string', 'x-unique': true },
      label: { type: 'string', 'x-index': true }, // mirrored, read from its column
      rank: { type: 'integer', 'x-index': true }, // mirrored
      either: { type: ['number', 'string'], 'x-index': true }, // mirrored: text or a number, both exact
      flag: { type: 'boolean', 'x-index': true }, // mirrored as 1/0: must be read from the JSON
      meta: { type: 'object', 'x-index': true }, // mirrored as its text: must be read from the JSON
      text: { type: 'string' },
      price: { type: 'number' },
      on: { type: 'boolean' },
      tags: { type: 'array' },
      spec: { type: 'object' },
    },
    required: ['code'],
  },
};

const RECORDS: Array<Record<string, unknown>> = [
  {
    code: 'A1', label: 'plain', rank: 7, either: 3.5, flag: true, meta: { a: [1, { b: null }] },
    text: 'quote " backslash \\ slash / tab \t newline \n unicode é 中文 emoji 😀', price: -12.25, on: false,
    tags: ['x', 2, true, null], spec: { deep: { er: 'y' }, n: 0 },
  },
  {
    code: 'A2', label: 'null', rank: 0, either: '42', flag: false, meta: {},
    text: '{"looks":"like json"}', price: 9007199254740991, on: true, tags: [], spec: { arr: [] },
  },
  // nulls the record holds (every field but the required one)
  { code: 'A3', label: null, rank: null, either: null, flag: null, meta: null, text: null, price: null, on: null, tags: null, spec: null },
  // fields it lacks
  { code: 'A4' },
  { code: 'A5', label: '', text: '', price: 0, rank: -1, either: -0.5, tags: [[]] },
];

const FIELD_SETS: string[][] = [
  ['code'],
  ['label', 'rank', 'either'],
  ['flag', 'meta', 'on', 'tags', 'spec'],
  ['text', 'price'],
  ['createdAt', 'updatedAt', 'code'],
  ['_id', 'rank'],
  ['notAField', 'code'],
  Object.keys(MODELS.items!.properties),
];

let dir: string;
let store: ModelStore;
let t = 1_700_000_000_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weda-select-'));
  store = openSqliteStore({ dataDir: dir, models: MODELS, now: () => t++ });
  await call('wedaBatchCreateV2', { data: RECORDS });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(methodName: string, params: Record<string, unknown>): Promise<any> {
  return store.callModel({ name: 'items', methodName, params });
}

/** What a select must answer: `_id`, then each asked field the whole record has, as it has it. */
function picked(whole: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { _id: whole._id };
  for (const f of fields) if (Object.prototype.hasOwnProperty.call(whole, f)) out[f] = whole[f];
  return out;
}

describe('select answers exactly the asked fields, JSON types kept', () => {
  test('the whole records hold what was written', async () => {
    const { records } = await call('wedaGetRecordsV2', { select: { $master: true }, orderBy: [{ code: 'asc' }], pageSize: 10 });
    expect(records.map(({ _id, createdAt, updatedAt, ...rest }: Record<string, unknown>) => rest)).toStrictEqual(RECORDS);
  });

  test.each(FIELD_SETS.map((fields) => [fields.join(', '), fields]))('wedaGetRecordsV2 select { %s }', async (_label, fields) => {
    const { records: whole } = await call('wedaGetRecordsV2', { select: { $master: true }, orderBy: [{ code: 'asc' }], pageSize: 10 });
    const select = Object.fromEntries((fields as string[]).map((f) => [f, true]));
    const { records } = await call('wedaGetRecordsV2', { select, orderBy: [{ code: 'asc' }], pageSize: 10 });
    expect(records).toStrictEqual(whole.map((r: Record<string, unknown>) => picked(r, fields as string[])));
    // The keys in order: _id first, then the asked ones the record has.
    expect(records.map((r: object) => Object.keys(r))).toEqual(whole.map((r: Record<string, unknown>) => Object.keys(picked(r, fields as string[]))));
  });

  test.each(RECORDS.map((r) => [r.code as string]))('wedaGetItemV2 of %s, field by field', async (code) => {
    const whole = await call('wedaGetItemV2', { filter: { where: { code: { $eq: code } } }, select: { $master: true } });
    for (const field of Object.keys(MODELS.items!.properties)) {
      const one = await call('wedaGetItemV2', { filter: { where: { code: { $eq: code } } }, select: { [field]: true } });
      expect(one).toStrictEqual(picked(whole, [field]));
    }
  });

  test('a select with false values and $master', async () => {
    const whole = await call('wedaGetItemV2', { filter: { where: { code: 'A1' } }, select: { $master: true } });
    expect(await call('wedaGetItemV2', { filter: { where: { code: 'A1' } }, select: { rank: true, label: false } })).toStrictEqual({ _id: whole._id, rank: 7 });
    expect(await call('wedaGetItemV2', { filter: { where: { code: 'A1' } }, select: { rank: true, $master: true } })).toStrictEqual(whole);
    expect(await call('wedaGetItemV2', { filter: { where: { code: 'none' } }, select: { rank: true } })).toStrictEqual({});
  });

  test('after an update, the mirrored and the JSON-read fields answer the new values', async () => {
    await call('wedaUpdateV2', { filter: { where: { code: 'A4' } }, data: { label: 'now', rank: 3, flag: true, meta: { z: 1 }, on: true } });
    await call('wedaUpdateV2', { filter: { where: { code: 'A2' } }, data: { label: null, either: 5 } });
    expect(await call('wedaGetItemV2', { filter: { where: { code: 'A4' } }, select: { label: true, rank: true, flag: true, meta: true, on: true, text: true } }))
      .toStrictEqual({ _id: expect.any(String), label: 'now', rank: 3, flag: true, meta: { z: 1 }, on: true });
    expect(await call('wedaGetItemV2', { filter: { where: { code: 'A2' } }, select: { label: true, either: true } }))
      .toStrictEqual({ _id: expect.any(String), label: null, either: 5 });
  });
});
