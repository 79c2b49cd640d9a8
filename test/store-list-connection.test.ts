/**
 * Lists (wedaGetRecordsV2, wedaGetRecords) read through a second, read-only connection of the SQLite store, so that
 * a walk over many records neither evicts the lookups' cached pages nor holds their memory. What a caller sees must
 * not change: every list sees every write that returned before it, in this process and in another store on the same
 * files, and its records and its total are of one snapshot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelDefinition } from '../datasources/definitions';
import { openSqliteStore } from '../datasources/sqlite-store';
import type { ModelStore } from '../datasources/weda';

const MODELS: Record<string, ModelDefinition> = {
  items: { properties: { code: { type: 'string', 'x-unique': true }, n: { type: 'integer', 'x-index': true } }, required: ['code'] },
};

let dir: string;
const stores: ModelStore[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'weda-lists-'));
});
afterAll(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(): ModelStore {
  const s = openSqliteStore({ dataDir: dir, models: MODELS });
  stores.push(s);
  return s;
}

const call = (store: ModelStore, methodName: string, params: Record<string, unknown>): Promise<any> => store.callModel({ name: 'items', methodName, params });
const codes = async (store: ModelStore, where: Record<string, unknown> = {}): Promise<string[]> =>
  (await call(store, 'wedaGetRecordsV2', { filter: { where }, select: { code: true }, orderBy: [{ code: 'asc' }], pageSize: 200 })).records.map((r: { code: string }) => r.code);

test('a list sees each write that came before it, from this store and from another on the same files', async () => {
  const a = open();
  const b = open();
  expect(await codes(a)).toEqual([]); // the list connection is open from here on
  for (let i = 0; i < 30; i++) {
    const code = `C${String(i).padStart(3, '0')}`;
    const writer = i % 2 ? a : b;
    await call(writer, 'wedaCreateV2', { data: { code, n: i } });
    expect((await codes(a)).at(-1)).toBe(code);
    expect((await codes(b)).at(-1)).toBe(code);
    await call(writer, 'wedaUpdateV2', { filter: { where: { code } }, data: { n: -i - 1 } });
    expect(await codes(a, { n: { $lt: 0 } })).toHaveLength(i + 1);
    expect((await call(b, 'wedaGetRecords', { where: [{ key: 'n', rel: 'lt', val: 0 }], pageSize: 1 })).total).toBe(i + 1);
  }
  await call(b, 'wedaBatchDeleteV2', { filter: { where: { n: { $lt: -20 } } } });
  expect(await codes(a)).toHaveLength(20);
  const page = await call(a, 'wedaGetRecordsV2', { filter: { where: { n: { $lt: 0 } } }, getCount: true, pageSize: 5 });
  expect(page.records).toHaveLength(5);
  expect(page.total).toBe(20);
});

test('a closed store refuses lists and lookups alike (both connections closed)', async () => {
  const s = open();
  expect((await call(s, 'wedaGetRecordsV2', { pageSize: 1 })).records).toHaveLength(1);
  await s.close();
  await expect(call(s, 'wedaGetRecordsV2', {})).rejects.toThrow(/closed/);
  await expect(call(s, 'wedaGetItemV2', { filter: { where: { code: 'C000' } } })).rejects.toThrow(/closed/);
});
