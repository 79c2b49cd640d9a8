/**
 * The SQLite store's update binds a plain string and a safe integer as themselves, everything else as its JSON
 * text through json(?) / json_extract(?, '$') (datasources/sqlite-store.ts `update`). Whichever way a value goes,
 * the row must end up exactly as the JSON-text way writes it: the same `data` text, the same mirror column value
 * and SQLite type, the same JSON type inside `data`, and the same record read back.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { modelsFile, openSqliteStore } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';

const MODELS: Record<string, ModelDefinition> = {
  things: {
    properties: {
      key: { type: 'string', 'x-unique': true },
      // Mirrored (indexed) and not, of every JSON type.
      m: { type: ['string', 'number', 'boolean', 'object', 'array', 'null'], 'x-index': true },
      v: { type: ['string', 'number', 'boolean', 'object', 'array', 'null'] },
    },
    required: ['key'],
  },
};

const VALUES: unknown[] = [
  'plain', '', '支付成功 咖啡券', 'emoji 😀', 'lone \ud800 surrogate', 'quote " and \\ backslash', 'line\nbreak\ttab\u0001', '\b\f\r\u001f\u0000', '</script> \u2028 \u2029 /', '\u007f del', '2', '"2"', 'null',
  0, -0, 1, -1, 2, 1722470400000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 1e21, 0.1 + 0.2, 1.5, -2.5e-7,
  true, false, null, { a: 1, b: 'x' }, [1, 'two', null],
];

let dir: string;
let store: ModelStore;
let db: Database.Database;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weda-store-binding-'));
  store = openSqliteStore({ dataDir: dir, models: MODELS });
  const data = VALUES.flatMap((_, i) => [{ key: `store${i}`, m: 'before', v: 'before' }, { key: `text${i}`, m: 'before', v: 'before' }]);
  await store.callModel({ name: 'things', methodName: 'wedaBatchCreateV2', params: { data }, envType: 'pre' });
  db = new Database(modelsFile(dir, 'pre'));
});
afterAll(async () => {
  db.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The row as stored (its data text exactly, the record's own key blanked: the two rows compared differ in it). */
const row = (key: string) => {
  const r = db.prepare(`SELECT data, f_m AS m, typeof(f_m) AS mType, json_type(data, '$.m') AS mJson, json_type(data, '$.v') AS vJson FROM m_things WHERE f_key = ?`).get(key) as { data: string; m: unknown; mType: string; mJson: string; vJson: string };
  return { ...r, data: r.data.replace(`"key":"${key}"`, '"key":""') };
};

test.each(VALUES.map((value, i) => [i, JSON.stringify(value) ?? String(value), value]))('value %i (%s) is written as its JSON text would be', async (i, _label, value) => {
  const record = { m: value, v: value };
  expect(await store.callModel({ name: 'things', methodName: 'wedaBatchUpdate', params: { where: [{ key: 'key', rel: 'eq', val: `store${i}` }], record }, envType: 'pre' })).toEqual({ updated: 1 });
  // The JSON-text way, by hand: what the store wrote for every value before.
  const json = JSON.stringify(value);
  db.prepare(`UPDATE m_things SET data = json_set(data, '$.m', json(?), '$.v', json(?)), f_m = json_extract(?, '$') WHERE f_key = ?`).run(json, json, json, `text${i}`);
  expect(row(`store${i}`)).toEqual(row(`text${i}`));
  const read = await store.callModel({ name: 'things', methodName: 'wedaGetItemV2', params: { filter: { where: { key: { $eq: `store${i}` } } } }, envType: 'pre' });
  expect({ m: read.m, v: read.v }).toEqual({ m: JSON.parse(json), v: JSON.parse(json) });
});

test('a kept statement binds each value the way it was prepared for', async () => {
  // The same fields with a string, then an integer, then an object, then a string again: each finds its own plan.
  const seq: unknown[] = ['s', 7, { o: 1 }, 'line\nbreak', 's2', 8];
  for (const value of seq) {
    await store.callModel({ name: 'things', methodName: 'wedaBatchUpdate', params: { where: [{ key: 'key', rel: 'eq', val: 'store0' }], record: { m: value } }, envType: 'pre' });
    const r = row('store0');
    const json = JSON.stringify(value);
    const expected = db.prepare(`SELECT json_extract(?, '$') AS m, typeof(json_extract(?, '$')) AS mType, json_type(?) AS mJson`).get(json, json, json);
    expect({ m: r.m, mType: r.mType, mJson: r.mJson }).toEqual(expected);
  }
});
