/**
 * A where's SQL is kept by its shape (datasources/where-v2.ts `compileWhereV2`, where-v1.ts `compileWhereV1`):
 * whatever order wheres arrive in, each must compile to exactly what the compiler makes of it alone — the same
 * SQL, the same bound values — and be refused with exactly the compiler's error.
 */
import { compileWhereV1, v1WhereToV2 } from '../datasources/where-v1';
import { compileWhereV2, fieldExpr, type FieldSql, type Sql } from '../datasources/where-v2';
import { random } from './helpers/seeded-random';

const FIELDS = ['orderNo', 'status', 'openid', '_id', 'createdAt', 'amount', 'bad-name', '$x', '', '__proto__', 'a{b}', 'a,b'];
const OPERATORS = ['$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$search', '$search_ci', '$nsearch', '$nsearch_ci', '$empty', '$nempty', '$bogus', 'eq'];
const VALUES: unknown[] = [null, undefined, 'x', '', 'a{b}', 0, 2, -3, 1.5, true, false, Number.NaN, Number.POSITIVE_INFINITY, [], [1, 'a', true], [null], [[1]], {}, new Date(0)];
const RELS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'search', 'toString', 'constructor', '', 'EQ'];

function whereV2(next: (n: number) => number, depth = 0): unknown {
  if (next(25) === 0) return VALUES[next(VALUES.length)];
  const where: Record<string, unknown> = {};
  const keys = 1 + next(3);
  for (let i = 0; i < keys; i++) {
    const kind = next(10);
    if (kind === 0 && depth < 2) {
      const list = next(6) === 0 ? [] : Array.from({ length: 1 + next(3) }, () => (next(8) === 0 ? {} : whereV2(next, depth + 1)));
      where[next(2) === 0 ? '$and' : '$or'] = list;
    } else if (kind < 4) {
      where[FIELDS[next(FIELDS.length)]!] = VALUES[next(VALUES.length)];
    } else {
      const ops: Record<string, unknown> = {};
      const n = next(6) === 0 ? 0 : 1 + next(2);
      for (let j = 0; j < n; j++) ops[OPERATORS[next(OPERATORS.length)]!] = VALUES[next(VALUES.length)];
      where[FIELDS[next(FIELDS.length)]!] = ops;
    }
  }
  return where;
}

function whereV1(next: (n: number) => number): unknown {
  if (next(20) === 0) return VALUES[next(VALUES.length)];
  return Array.from({ length: next(4) }, () => {
    if (next(15) === 0) return VALUES[next(VALUES.length)];
    const item: Record<string, unknown> = { key: FIELDS[next(FIELDS.length)], rel: RELS[next(RELS.length)], val: VALUES[next(VALUES.length)] };
    if (next(10) === 0) delete item[['key', 'rel', 'val'][next(3)]!];
    return item;
  });
}

type Outcome = { sql: string; params: unknown[] } | { error: string };
const outcome = (compile: () => Sql): Outcome => {
  try {
    const { sql, params } = compile();
    return { sql, params };
  } catch (e) {
    return { error: `${(e as { code?: string }).code}: ${(e as Error).message}` };
  }
};

/** A way of reading fields no call has used yet: its cache is empty, so this is the compiler alone. */
const fresh = (): FieldSql => (field, path) => fieldExpr(field, path);
/** How the SQLite store reads fields: indexed ones from their mirror columns. */
const storeFields = (): FieldSql => {
  const columns = new Map([['orderNo', '"f_orderNo"'], ['status', '"f_status"']]);
  return (field, path) => columns.get(field) ?? fieldExpr(field, path);
};

describe('a where compiles to what the compiler makes of it alone, whichever wheres came before', () => {
  test('V2: 30 000 wheres of random shapes and values, valid or not', () => {
    const next = random(20240901);
    const shared = storeFields();
    const mismatches: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const where = whereV2(next);
      const got = outcome(() => compileWhereV2(where, 'params.filter.where', shared));
      const alone = outcome(() => compileWhereV2(where, 'params.filter.where', storeFields()));
      if (JSON.stringify(got) !== JSON.stringify(alone)) mismatches.push(`${i}: ${JSON.stringify(where)} → ${JSON.stringify(got)} vs ${JSON.stringify(alone)}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test('V1: 30 000 condition lists, compiled as their V2 form would be', () => {
    const next = random(20240902);
    const shared = storeFields();
    const mismatches: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const where = whereV1(next);
      const got = outcome(() => compileWhereV1(where, 'params.where', shared));
      const alone = outcome(() => compileWhereV2(v1WhereToV2(where, 'params.where'), 'params.where', fresh()));
      const aloneStore = outcome(() => compileWhereV2(v1WhereToV2(where, 'params.where'), 'params.where', storeFields()));
      // Errors and values are the compiler's whichever fields are mirrored; the SQL is the store's.
      if (JSON.stringify(got) !== JSON.stringify(aloneStore)) mismatches.push(`${i}: ${JSON.stringify(where)} → ${JSON.stringify(got)} vs ${JSON.stringify(aloneStore)}`);
      if ('error' in got !== 'error' in alone) mismatches.push(`${i}: refused by one reading of fields only`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test('the same shape with other values binds the new values; null, a list length and a type are part of the shape', () => {
    const f = storeFields();
    expect(compileWhereV2({ orderNo: { $eq: 'A' } }, 'w', f)).toEqual({ sql: '"f_orderNo" = ?', params: ['A'] });
    expect(compileWhereV2({ orderNo: { $eq: 'B' } }, 'w', f)).toEqual({ sql: '"f_orderNo" = ?', params: ['B'] });
    expect(compileWhereV2({ orderNo: { $eq: null } }, 'w', f)).toEqual({ sql: '"f_orderNo" IS NULL', params: [] });
    expect(compileWhereV2({ status: { $in: [1, 2] } }, 'w', f).sql).toBe('"f_status" IN (?, ?)');
    expect(compileWhereV2({ status: { $in: [1, 2, 3] } }, 'w', f)).toEqual({ sql: '"f_status" IN (?, ?, ?)', params: [1, 2, 3] });
    expect(compileWhereV2({ status: { $gt: 1 } }, 'w', f).sql).toContain("IN ('integer', 'real')");
    expect(compileWhereV2({ status: { $gt: '1' } }, 'w', f).sql).toContain("= 'text'");
    expect(compileWhereV2({ status: { $empty: true } }, 'w', f).sql).not.toBe(compileWhereV2({ status: { $empty: false } }, 'w', f).sql);
    expect(compileWhereV2({ status: true }, 'w', f)).toEqual({ sql: '"f_status" = ?', params: [1] });
    expect(compileWhereV1([{ key: 'orderNo', rel: 'eq', val: 'A' }, { key: 'status', rel: 'eq', val: 1 }], 'params.where', f))
      .toEqual({ sql: '("f_orderNo" = ?) AND ("f_status" = ?)', params: ['A', 1] });
    expect(compileWhereV1([{ key: 'orderNo', rel: 'eq', val: 'B' }, { key: 'status', rel: 'eq', val: null }], 'params.where', f))
      .toEqual({ sql: '("f_orderNo" = ?) AND ("f_status" IS NULL)', params: ['B'] });
  });

  test('a refused where is refused every time, with the compiler\'s words', () => {
    const f = storeFields();
    for (let i = 0; i < 3; i++) {
      expect(() => compileWhereV2({ 'bad-name': { $eq: 1 } }, 'params.filter.where', f)).toThrow('params.filter.where.bad-name: field name "bad-name" must match');
      expect(() => compileWhereV1([{ key: 'orderNo', rel: 'like', val: 1 }], 'params.where', f)).toThrow('params.where[0].rel must be one of eq, neq, lt, lte, gt, gte, search (got "like")');
      expect(() => compileWhereV1([{ key: 'status', rel: 'lt', val: Number.NaN }], 'params.where', f)).toThrow('params.where[0].val must be a string, number, boolean or null (got NaN)');
    }
  });
});
