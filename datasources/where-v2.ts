/**
 * V2 `filter.where` (weda.md §2.2) → a parameterised SQLite condition over a model's table (`_id`, `data`
 * JSON, `createdAt`, `updatedAt`, and the SQLite store's mirror column per indexed field, which its `FieldSql`
 * reads instead of the JSON). Values are always bound; field names are checked against NAME_RE, which is what
 * makes them safe inside the literal JSON path `'$.field'` and in a column name.
 *
 * Semantics (SQLite has no coercion here, so types matter: status 2 ≠ "2"):
 * - `$eq`/`$neq` with null test for a missing/null field; `$neq` also matches missing fields.
 * - `$gt $gte $lt $lte` take a string or number and only match fields of the same JSON type;
 *   `$in`/`$nin` a list of scalars (`$nin` matches missing).
 * - `$search` contains text (case-sensitive), `$search_ci` ASCII case-insensitive, `$nsearch*` the
 *   negation (matching missing fields too).
 * - `$empty: true` = missing, null or "" ; `$nempty: true` = the opposite [inferred: weda.md gives names only].
 * - booleans are bound as 1/0, which is how json_extract returns JSON true/false.
 */
import { NAME_RE, invalidParam, isPlainObject } from './weda';

export type SqlValue = string | number | null;
export interface Sql {
  sql: string;
  params: SqlValue[];
}
export type WhereV2 = Record<string, unknown>;

export const SYSTEM_FIELDS = ['_id', 'createdAt', 'updatedAt'] as const;
const SYSTEM_SET: ReadonlySet<string> = new Set(SYSTEM_FIELDS);

export const V2_OPERATORS = [
  '$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin',
  '$search', '$search_ci', '$nsearch', '$nsearch_ci', '$empty', '$nempty',
] as const;
const OPERATOR_SET: ReadonlySet<string> = new Set(V2_OPERATORS);

export const TRUE_SQL: Sql = { sql: '1', params: [] };

export function assertFieldName(field: unknown, path: string): asserts field is string {
  if (typeof field !== 'string' || !NAME_RE.test(field)) {
    throw invalidParam(`${path}: field name ${JSON.stringify(field)} must match ${NAME_RE.source}`);
  }
}

/** A SQL type every non-null value of a field has, where a store can promise it. */
export type SureSqlType = 'number' | 'text';

/**
 * How a compiled where reads a field (`path` names it in errors); a store may read some fields from columns. A store
 * that checks every write against the model's types may also say, in `types`, which fields hold only numbers or
 * only text: a range on such a field, with an operand of that type, needs no same-type test per row (see `operator`).
 */
export type FieldSql = ((field: string, path: string) => string) & { readonly types?: ReadonlyMap<string, SureSqlType> };

/** SQL expression reading a field: a real column for system fields, json_extract otherwise. */
export function fieldExpr(field: string, path: string): string {
  assertFieldName(field, path);
  return SYSTEM_SET.has(field) ? `"${field}"` : `json_extract(data, '$.${field}')`;
}

export function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function bind(v: string | number | boolean): SqlValue {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

function scalar(v: unknown, path: string, what = 'a string, number or boolean'): SqlValue {
  if (!isScalar(v)) throw invalidParam(`${path} must be ${what} (got ${describe(v)})`);
  return bind(v);
}

export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isPlainObject(v)) return v.constructor?.name ?? 'object';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function list(v: unknown, path: string): SqlValue[] {
  if (!Array.isArray(v)) throw invalidParam(`${path} must be an array of strings, numbers or booleans`);
  return v.map((x, i) => scalar(x, `${path}[${i}]`));
}

function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ');
}

/** `sure`: the SQL type the store promises every non-null value of the field has, if any (`FieldSql.types`). */
function operator(x: string, op: string, v: unknown, path: string, sure?: SureSqlType): Sql {
  switch (op) {
    case '$eq':
      return v === null ? { sql: `${x} IS NULL`, params: [] } : { sql: `${x} = ?`, params: [scalar(v, path)] };
    case '$neq':
      return v === null ? { sql: `${x} IS NOT NULL`, params: [] } : { sql: `${x} IS NOT ?`, params: [scalar(v, path)] };
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const sym = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }[op];
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        throw invalidParam(`${path} must be a string or number (got ${describe(v)})`);
      }
      // Only same-type values compare (SQLite would rank any text above any number, and converts a value for a
      // column of declared type: "5" against createdAt). Where the store promises the field holds only values of
      // the operand's type, the test is true of every non-null value and is left out: it cost ~20 % of a range
      // read of a million orders (bench/README.md, bill-reconcile). A null or missing field then gives NULL
      // rather than false, which a where filters the same way: no operator here negates a comparison.
      const operand: SureSqlType = typeof v === 'number' ? 'number' : 'text';
      if (sure === operand) return { sql: `${x} ${sym} ?`, params: [v] };
      const sameType = operand === 'number' ? `typeof(${x}) IN ('integer', 'real')` : `typeof(${x}) = 'text'`;
      return { sql: `${sameType} AND ${x} ${sym} ?`, params: [v] };
    }
    case '$in': {
      const vals = list(v, path);
      return vals.length === 0 ? { sql: '0', params: [] } : { sql: `${x} IN (${placeholders(vals.length)})`, params: vals };
    }
    case '$nin': {
      const vals = list(v, path);
      return vals.length === 0
        ? { sql: '1', params: [] }
        : { sql: `(${x} IS NULL OR ${x} NOT IN (${placeholders(vals.length)}))`, params: vals };
    }
    case '$search':
    case '$search_ci':
    case '$nsearch':
    case '$nsearch_ci': {
      if (typeof v !== 'string') throw invalidParam(`${path} must be a string (got ${describe(v)})`);
      const ci = op.endsWith('_ci');
      const hit = ci ? `instr(lower(${x}), lower(?)) > 0` : `instr(${x}, ?) > 0`;
      return op.startsWith('$n') ? { sql: `(${x} IS NULL OR NOT (${hit}))`, params: [v] } : { sql: hit, params: [v] };
    }
    case '$empty':
    case '$nempty': {
      if (typeof v !== 'boolean') throw invalidParam(`${path} must be true or false (got ${describe(v)})`);
      const empty = `(${x} IS NULL OR ${x} = '')`;
      return { sql: (op === '$empty') === v ? empty : `NOT ${empty}`, params: [] };
    }
    default:
      throw invalidParam(`${path}: unknown operator "${op}" (supported: ${V2_OPERATORS.join(' ')})`);
  }
}

function join(parts: Sql[], glue: 'AND' | 'OR'): Sql {
  if (parts.length === 1) return parts[0]!;
  let sql = '';
  const params: SqlValue[] = [];
  for (const p of parts) {
    sql += sql === '' ? `(${p.sql})` : ` ${glue} (${p.sql})`;
    for (const v of p.params) params.push(v);
  }
  return { sql, params };
}

/**
 * Compiles a V2 where object; `undefined`/`{}` compile to TRUE. `path` names the param in errors; `field`
 * reads a field (default `fieldExpr`).
 *
 * The SQL depends only on the where's shape (fields, operators, null or not, a list's length, a comparison's
 * type, an `$empty`'s value), never on the values, which are bound; so the SQL is kept by shape, per `field`,
 * and a where of a known shape only has its values checked and collected (`shapeOf`). Anything `shapeOf` does
 * not recognise as valid goes to the compiler, which names what is wrong.
 */
export function compileWhereV2(where: unknown, path = 'filter.where', field: FieldSql = fieldExpr): Sql {
  if (where === undefined || where === null) return TRUE_SQL;
  const params: SqlValue[] = [];
  const shape = shapeOf(where, params);
  if (shape === undefined) return compileWhere(where, path, field);
  if (shape === '') return TRUE_SQL;
  return cachedSql(field, shape, params, () => compileWhere(where, path, field));
}

/** Compiled SQL by shape, per way of reading fields (one per model of a store); bounded. */
const sqlByShape = new WeakMap<FieldSql, Map<string, string>>();
const SHAPES_MAX = 512;

/**
 * The SQL kept for `shape`, or `compile()`'s, kept when its values are the ones `shapeOf` collected (so the shape
 * did describe that where).
 */
export function cachedSql(field: FieldSql, shape: string, params: SqlValue[], compile: () => Sql): Sql {
  let shapes = sqlByShape.get(field);
  const sql = shapes?.get(shape);
  if (sql !== undefined) return { sql, params };
  const compiled = compile();
  if (compiled.params.length === params.length && compiled.params.every((v, i) => v === params[i])) {
    if (!shapes) sqlByShape.set(field, (shapes = new Map()));
    if (shapes.size >= SHAPES_MAX) shapes.clear();
    shapes.set(shape, compiled.sql);
  }
  return compiled;
}

/**
 * A where's shape (a key naming its fields, operators and what of its values the SQL depends on), its bound values
 * pushed onto `params` in the compiler's order; undefined for anything the compiler would refuse or that is not
 * plain (it then compiles it, and names the problem). '' is a where without conditions.
 */
function shapeOf(where: unknown, params: SqlValue[]): string | undefined {
  if (!isPlainObject(where)) return undefined;
  let shape = '';
  for (const key of Object.keys(where)) {
    const value = where[key];
    if (value === undefined) continue;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) return undefined;
      let subs = `${key}[`;
      for (const w of value) {
        const sub = shapeOf(w, params);
        if (!sub) return undefined; // not plain, or no condition: the compiler refuses it
        subs += `${sub}|`;
      }
      shape += `${subs}]`;
      continue;
    }
    if (!NAME_RE.test(key)) return undefined;
    if (isPlainObject(value)) {
      let ops = '';
      for (const op of Object.keys(value)) {
        const v = value[op];
        if (v === undefined) continue;
        const mark = operandShape(op, v, params);
        if (mark === undefined) return undefined;
        ops += `${op}${mark};`;
      }
      if (ops === '') return undefined;
      shape += `${key}{${ops}},`;
    } else {
      const mark = operandShape('$eq', value, params);
      if (mark === undefined) return undefined;
      shape += `${key}=${mark},`;
    }
  }
  return shape;
}

/** What of an operator's value the SQL depends on (its values pushed onto `params`), or undefined if `operator` would refuse it. */
export function operandShape(op: string, v: unknown, params: SqlValue[]): string | undefined {
  switch (op) {
    case '$eq':
    case '$neq':
      if (v === null) return 'n';
      if (!isScalar(v)) return undefined;
      params.push(bind(v));
      return 'v';
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (typeof v === 'string') {
        params.push(v);
        return 's';
      }
      if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
      params.push(v);
      return 'd';
    case '$in':
    case '$nin': {
      if (!Array.isArray(v)) return undefined;
      for (const x of v) {
        if (!isScalar(x)) return undefined;
        params.push(bind(x));
      }
      return String(v.length);
    }
    case '$search':
    case '$search_ci':
    case '$nsearch':
    case '$nsearch_ci':
      if (typeof v !== 'string') return undefined;
      params.push(v);
      return 'v';
    case '$empty':
    case '$nempty':
      return typeof v === 'boolean' ? (v ? 't' : 'f') : undefined;
    default:
      return undefined;
  }
}

/** The compiler itself: every rule checked, every error named (what a shape the cache knows was compiled by). */
function compileWhere(where: unknown, path: string, field: FieldSql): Sql {
  if (where === undefined || where === null) return TRUE_SQL;
  if (!isPlainObject(where)) throw invalidParam(`${path} must be an object (got ${describe(where)})`);
  const parts: Sql[] = [];
  for (const key of Object.keys(where)) {
    const value = where[key];
    if (value === undefined) continue;
    const at = `${path}.${key}`;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw invalidParam(`${at} must be a non-empty array of where objects`);
      const subs = value.map((w, i) => {
        if (!hasConditions(w)) throw invalidParam(`${at}[${i}] must be a where object with at least one condition`);
        return compileWhere(w, `${at}[${i}]`, field);
      });
      parts.push(join(subs, key === '$and' ? 'AND' : 'OR'));
      continue;
    }
    if (key.startsWith('$')) throw invalidParam(`${at}: unknown logical operator (supported: $and $or)`);
    const x = field(key, at);
    const sure = field.types?.get(key);
    if (isPlainObject(value)) {
      const before = parts.length;
      for (const op of Object.keys(value)) {
        const v = value[op];
        if (v === undefined) continue;
        if (!OPERATOR_SET.has(op)) throw invalidParam(`${at}: unknown operator "${op}" (supported: ${V2_OPERATORS.join(' ')})`);
        parts.push(operator(x, op, v, `${at}.${op}`, sure));
      }
      if (parts.length === before) throw invalidParam(`${at} must hold at least one operator (${V2_OPERATORS.join(' ')})`);
    } else {
      parts.push(operator(x, '$eq', value, at)); // a bare value means $eq
    }
  }
  return parts.length === 0 ? TRUE_SQL : join(parts, 'AND');
}

/** True when a where object holds at least one condition (used to refuse whole-table writes). */
export function hasConditions(where: unknown): boolean {
  return isPlainObject(where) && Object.values(where).some((v) => v !== undefined);
}
