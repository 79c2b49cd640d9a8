/**
 * V1 `where` (weda.md §2.1): an array of `{ key, rel, val }`, AND-ed, rel ∈ eq neq lt lte gt gte search
 * (search = contains text). Each item is checked here (errors name `where[i].key|rel|val`) and then
 * mapped onto the V2 form, so V1 and V2 share one SQL compiler — and a V2-only backend (CloudBase
 * `app.models`, weda.md §2.2) can reuse `v1WhereToV2`.
 */
import { NAME_RE, invalidParam, isPlainObject } from './weda';
import { assertFieldName, cachedSql, compileWhereV2, describe, fieldExpr, isScalar, operandShape, TRUE_SQL, type FieldSql, type Sql, type SqlValue, type WhereV2 } from './where-v2';

export type V1Rel = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'search';
export interface V1Condition {
  key: string;
  rel: V1Rel;
  val: unknown;
}

const REL_TO_V2: Record<V1Rel, string> = {
  eq: '$eq', neq: '$neq', lt: '$lt', lte: '$lte', gt: '$gt', gte: '$gte', search: '$search',
};
export const V1_RELS = Object.keys(REL_TO_V2) as V1Rel[];

/** Validates a V1 where array and returns the equivalent V2 where (`{}` for an empty array). */
export function v1WhereToV2(where: unknown, path = 'where'): WhereV2 {
  if (where === undefined || where === null) return {};
  if (!Array.isArray(where)) throw invalidParam(`${path} must be an array of { key, rel, val } (got ${describe(where)})`);
  const and = where.map((item: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isPlainObject(item)) throw invalidParam(`${at} must be an object { key, rel, val }`);
    const { key, rel, val } = item;
    assertFieldName(key, `${at}.key`);
    if (typeof rel !== 'string' || !(rel in REL_TO_V2)) {
      throw invalidParam(`${at}.rel must be one of ${V1_RELS.join(', ')} (got ${describe(rel)})`);
    }
    if (rel === 'search' && typeof val !== 'string') {
      throw invalidParam(`${at}.val must be a string for rel "search" (got ${describe(val)})`);
    }
    if (['lt', 'lte', 'gt', 'gte'].includes(rel) && typeof val !== 'string' && typeof val !== 'number') {
      throw invalidParam(`${at}.val must be a string or number for rel "${rel}" (got ${describe(val)})`);
    }
    if (val !== null && !isScalar(val)) {
      throw invalidParam(`${at}.val must be a string, number, boolean or null (got ${describe(val)})`);
    }
    return { [key]: { [REL_TO_V2[rel as V1Rel]]: val } };
  });
  return and.length === 0 ? {} : { $and: and };
}

/**
 * Compiles a V1 where: the SQL of its V2 form (`v1WhereToV2`). A where of conditions every rule allows is not
 * turned into V2 objects: its shape (the V2 form's, see `compileWhereV2`) finds the SQL already compiled, and only
 * its values are collected; anything else takes the whole way, which names what is wrong.
 */
export function compileWhereV1(where: unknown, path = 'where', field: FieldSql = fieldExpr): Sql {
  const compile = (): Sql => compileWhereV2(v1WhereToV2(where, path), path, field);
  if (!Array.isArray(where)) return compile();
  if (where.length === 0) return TRUE_SQL;
  const params: SqlValue[] = [];
  let shape = '$and[';
  for (const item of where as unknown[]) {
    if (!isPlainObject(item)) return compile();
    const { key, rel, val } = item;
    if (typeof key !== 'string' || !NAME_RE.test(key) || typeof rel !== 'string' || !Object.prototype.hasOwnProperty.call(REL_TO_V2, rel)) return compile();
    const op = REL_TO_V2[rel as V1Rel];
    const mark = operandShape(op, val, params);
    if (mark === undefined) return compile();
    shape += `${key}{${op}${mark};},|`;
  }
  return cachedSql(field, `${shape}]`, params, compile);
}
