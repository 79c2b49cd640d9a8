/**
 * The WeDa data-model methods (weda.md §2.1 V1, §2.2 V2) over a small set of storage operations.
 * Each method checks its params (errors name the param and the rule), then calls `ModelOps`; every
 * update/delete is a single `UPDATE|DELETE … WHERE <where>` so the where is a compare-and-set
 * (DESIGN.md "Order status (contract)").
 */
import { checkRecord, type JsonRecord, type ModelDefinition } from './definitions';
import { WedaErrorCode, WedaModelError, invalidParam, isPlainObject } from './weda';
import { compileWhereV1, v1WhereToV2 } from './where-v1';
import { assertFieldName, compileWhereV2, describe, fieldExpr, hasConditions, type FieldSql, type Sql, type WhereV2 } from './where-v2';

export interface OrderTerm {
  field: string;
  dir: 'ASC' | 'DESC';
}

export interface StoredRecord {
  _id: string;
  createdAt: number;
  updatedAt: number;
  [field: string]: unknown;
}

export interface FindOptions {
  order?: OrderTerm[];
  limit?: number;
  offset?: number;
}

/** What a backend provides for one model in one envType. */
export interface ModelOps {
  readonly model: string;
  readonly def: ModelDefinition | undefined;
  /** How a where or an order reads a field of this model (the SQLite store reads indexed fields from columns). */
  readonly fieldSql: FieldSql;
  /** Inserts all records or none; returns their ids. */
  insert(records: JsonRecord[]): string[];
  find(where: Sql, opts?: FindOptions): StoredRecord[];
  /** The first record `find` would answer, or undefined: the single-record reads (wedaGetItem, wedaGetItemV2). */
  findOne(where: Sql): StoredRecord | undefined;
  /**
   * As `find`, each record answered as `_id` and the asked fields it has (JSON types kept, absent ones left
   * out): what a V2 `select` answers, without reading the rest of the record.
   */
  select(where: Sql, fields: readonly string[], opts?: FindOptions): JsonRecord[];
  count(where: Sql): number;
  /** One UPDATE statement; bumps updatedAt; returns the number of rows changed. */
  update(where: Sql, patch: JsonRecord): number;
  /** One DELETE statement; returns the number of rows deleted. */
  remove(where: Sql): number;
  /** Runs fn inside a write transaction (no other writer in between). */
  atomic<T>(fn: () => T): T;
  /**
   * Runs a list's reads in one consistent snapshot (writers not blocked). `oneStatement`: fn runs a single statement,
   * which reads one snapshot by itself, so no transaction is opened around it.
   */
  snapshot<T>(fn: () => T, oneStatement?: boolean): T;
}

export type Params = Record<string, unknown>;
export type MethodImpl = (ops: ModelOps, params: Params) => unknown;

/** weda.md §2.2: V2 list pageSize; the same cap is applied to V1. */
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 10;

/*
 * Param checks shared by every store (the CloudBase store runs them before any network call, so both
 * stores refuse the same calls with the same messages). Errors name the param and the rule.
 */

export function intParam(params: Params, name: string, min: number, max: number, dflt: number): number {
  const v = params[name];
  if (v === undefined || v === null) return dflt;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw invalidParam(`params.${name} must be an integer from ${min} to ${max} (got ${describe(v)})`);
  }
  return v as number;
}

export const pageSizeParam = (params: Params): number => intParam(params, 'pageSize', 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);

/** `params._id` as a V2 where `{ _id: { $eq } }`. */
export function idWhere(params: Params, path = 'params._id'): WhereV2 {
  const id = params._id;
  if (typeof id !== 'string' || id === '') throw invalidParam(`${path} must be a non-empty string (got ${describe(id)})`);
  return { _id: { $eq: id } };
}

/** V1 writes refuse an empty where: it would rewrite or delete the whole table. Returns the V2 form. */
export function v1WriteWhere(params: Params): WhereV2 {
  return v1WhereToV2(v1WriteConditions(params), 'params.where');
}

function v1WriteConditions(params: Params): unknown[] {
  const where = params.where;
  if (!Array.isArray(where) || where.length === 0) {
    throw invalidParam(`params.where is required for a batch write and must be a non-empty array of { key, rel, val } (got ${describe(where)})`);
  }
  return where;
}

/** V1 wedaGetItem: `_id`, or a non-empty where. Returns the V2 form. */
export function v1ItemWhere(params: Params): WhereV2 {
  if (params._id !== undefined) return idWhere(params);
  if (Array.isArray(params.where) && params.where.length > 0) return v1WhereToV2(params.where, 'params.where');
  throw invalidParam('params._id or a non-empty params.where is required');
}

/** Checks `params.filter` (and refuses an empty where when `required`); returns the compiled where. */
export function v2Filter(params: Params, required: boolean, field: FieldSql = fieldExpr): Sql {
  const filter = params.filter;
  if (filter === undefined || filter === null) {
    if (required) throw invalidParam('params.filter.where is required and must hold at least one condition');
    return compileWhereV2(undefined);
  }
  if (!isPlainObject(filter)) throw invalidParam(`params.filter must be an object { where } (got ${describe(filter)})`);
  if (filter.relateWhere !== undefined) throw invalidParam('params.filter.relateWhere: relation queries are not supported by this store');
  if (required && !hasConditions(filter.where)) {
    throw invalidParam(`params.filter.where is required and must hold at least one condition (got ${describe(filter.where)})`);
  }
  return compileWhereV2(filter.where, 'params.filter.where', field);
}

export function patchOf(model: string, def: ModelDefinition | undefined, record: unknown, path: string): JsonRecord {
  if (record === undefined || record === null) throw invalidParam(`${path} is required`);
  const patch = checkRecord(model, def, record, 'update', path);
  if (Object.keys(patch).length === 0) throw invalidParam(`${path} must set at least one non-system field`);
  return patch;
}

export function recordsOf(model: string, def: ModelDefinition | undefined, list: unknown, path: string): JsonRecord[] {
  if (!Array.isArray(list)) throw invalidParam(`${path} must be an array of records (got ${describe(list)})`);
  return list.map((r, i) => checkRecord(model, def, r, 'create', `${path}[${i}]`));
}

function atMostOne(ops: ModelOps, where: Sql, method: string): StoredRecord | undefined {
  const found = ops.find(where, { limit: 2 });
  if (found.length > 1) {
    throw new WedaModelError(WedaErrorCode.MultipleRecordsMatched, `${method}: params.filter.where matches more than one record of "${ops.model}"; use the batch method or narrow the where`);
  }
  return found[0];
}

/** Checks `params.select`; returns the selected field names, or undefined for all fields. */
export function selectParam(sel: unknown): string[] | undefined {
  if (sel === undefined || sel === null) return undefined;
  if (!isPlainObject(sel)) throw invalidParam(`params.select must be an object like { $master: true } (got ${describe(sel)})`);
  const fields = Object.keys(sel).filter((k) => k !== '$master' && sel[k]);
  fields.forEach((f) => assertFieldName(f, `params.select.${f}`));
  return sel.$master || fields.length === 0 ? undefined : fields;
}

export function v1OrderParam(params: Params): OrderTerm[] {
  const { orderBy, orderType } = params;
  if (orderBy === undefined || orderBy === null || orderBy === '') return [];
  assertFieldName(orderBy, 'params.orderBy');
  if (orderType !== undefined && orderType !== 'asc' && orderType !== 'desc') {
    throw invalidParam(`params.orderType must be "asc" or "desc" (got ${describe(orderType)})`);
  }
  return [{ field: orderBy, dir: orderType === 'desc' ? 'DESC' : 'ASC' }];
}

export function v2OrderParam(params: Params): OrderTerm[] {
  const { orderBy } = params;
  if (orderBy === undefined || orderBy === null) return [];
  const rule = 'params.orderBy must be an array of at most 3 items like { field: "asc" | "desc" }';
  if (!Array.isArray(orderBy) || orderBy.length > 3) throw invalidParam(`${rule} (got ${describe(orderBy)})`);
  return orderBy.map((item: unknown, i) => {
    const entries = isPlainObject(item) ? Object.entries(item) : [];
    const [field, dir] = entries[0] ?? [];
    if (entries.length !== 1 || (dir !== 'asc' && dir !== 'desc')) throw invalidParam(`${rule} (params.orderBy[${i}] is ${describe(item)})`);
    assertFieldName(field, `params.orderBy[${i}]`);
    return { field: field as string, dir: dir === 'desc' ? 'DESC' : 'ASC' };
  });
}

export function getCountParam(params: Params): boolean {
  if (params.getCount !== undefined && typeof params.getCount !== 'boolean') throw invalidParam(`params.getCount must be a boolean (got ${describe(params.getCount)})`);
  return params.getCount === true;
}

export const METHODS: Record<string, MethodImpl> = {
  // ---- V1 (weda.md §2.1) ----
  wedaCreate(ops, p) {
    const [id] = ops.insert([checkRecord(ops.model, ops.def, p, 'create', 'params')]);
    return { _id: id };
  },
  wedaBatchCreate(ops, p) {
    return { ids: ops.insert(recordsOf(ops.model, ops.def, p.records, 'params.records')) };
  },
  wedaGetItem(ops, p) {
    return ops.findOne(compileWhereV2(v1ItemWhere(p), 'params.where', ops.fieldSql)) ?? {};
  },
  wedaGetRecords(ops, p) {
    const where = compileWhereV1(p.where, 'params.where', ops.fieldSql);
    const pageNo = intParam(p, 'pageNo', 1, Number.MAX_SAFE_INTEGER, 1);
    const pageSize = pageSizeParam(p);
    const order = v1OrderParam(p);
    return ops.snapshot(() => ({
      records: ops.find(where, { order, limit: pageSize, offset: (pageNo - 1) * pageSize }),
      total: ops.count(where),
      pageNo,
      pageSize,
    }));
  },
  wedaUpdate(ops, p) {
    const where = compileWhereV2(idWhere(p), 'params._id', ops.fieldSql);
    const { _id, ...fields } = p;
    const count = ops.update(where, patchOf(ops.model, ops.def, fields, 'params'));
    return { ids: count ? [_id] : [], count };
  },
  wedaBatchUpdate(ops, p) {
    const where = compileWhereV1(v1WriteConditions(p), 'params.where', ops.fieldSql);
    return { updated: ops.update(where, patchOf(ops.model, ops.def, p.record, 'params.record')) };
  },
  wedaDelete(ops, p) {
    return { deleted: ops.remove(compileWhereV2(idWhere(p), 'params._id', ops.fieldSql)) };
  },
  wedaBatchDelete(ops, p) {
    return { deleted: ops.remove(compileWhereV2(v1WriteWhere(p), 'params.where', ops.fieldSql)) };
  },

  // ---- V2 (weda.md §2.2) ----
  wedaCreateV2(ops, p) {
    const [id] = ops.insert([checkRecord(ops.model, ops.def, p.data, 'create', 'params.data')]);
    return { id };
  },
  wedaBatchCreateV2(ops, p) {
    return { idList: ops.insert(recordsOf(ops.model, ops.def, p.data, 'params.data')) };
  },
  wedaUpdateV2(ops, p) {
    const where = v2Filter(p, true, ops.fieldSql);
    const patch = patchOf(ops.model, ops.def, p.data, 'params.data');
    return ops.atomic(() => {
      atMostOne(ops, where, 'wedaUpdateV2');
      return { count: ops.update(where, patch) };
    });
  },
  wedaBatchUpdateV2(ops, p) {
    const where = v2Filter(p, true, ops.fieldSql);
    return { count: ops.update(where, patchOf(ops.model, ops.def, p.data, 'params.data')) };
  },
  wedaUpsertV2(ops, p) {
    const where = v2Filter(p, true, ops.fieldSql);
    const create = checkRecord(ops.model, ops.def, p.create, 'create', 'params.create');
    const patch = patchOf(ops.model, ops.def, p.update, 'params.update');
    // [inferred] returns { count: rows updated, id: the updated or the created record's _id }
    return ops.atomic(() => {
      const found = atMostOne(ops, where, 'wedaUpsertV2');
      if (found) return { count: ops.update(compileWhereV2({ _id: found._id }, 'params.filter.where', ops.fieldSql), patch), id: found._id };
      const [id] = ops.insert([create]);
      return { count: 0, id };
    });
  },
  wedaDeleteV2(ops, p) {
    const where = v2Filter(p, true, ops.fieldSql);
    return ops.atomic(() => {
      atMostOne(ops, where, 'wedaDeleteV2');
      return { count: ops.remove(where) };
    });
  },
  wedaBatchDeleteV2(ops, p) {
    return { count: ops.remove(v2Filter(p, true, ops.fieldSql)) };
  },
  wedaGetItemV2(ops, p) {
    const where = v2Filter(p, false, ops.fieldSql);
    const fields = selectParam(p.select);
    if (fields) return ops.select(where, fields, { limit: 1 })[0] ?? {};
    return ops.findOne(where) ?? {};
  },
  wedaGetRecordsV2(ops, p) {
    const where = v2Filter(p, false, ops.fieldSql);
    const pageSize = pageSizeParam(p);
    const pageNumber = intParam(p, 'pageNumber', 1, Number.MAX_SAFE_INTEGER, 1);
    const order = v2OrderParam(p);
    const getCount = getCountParam(p);
    const fields = selectParam(p.select);
    // Without a count a page is one statement (a BEGIN and a COMMIT less per page: 10,000 statements in a
    // reconciliation of a million orders).
    return ops.snapshot(() => {
      const page = { order, limit: pageSize, offset: (pageNumber - 1) * pageSize };
      const records = fields ? ops.select(where, fields, page) : ops.find(where, page);
      return getCount ? { records, total: ops.count(where) } : { records };
    }, !getCount);
  },
};

export const SUPPORTED_METHODS = Object.keys(METHODS);

export function methodFor(methodName: string): MethodImpl {
  const m = Object.prototype.hasOwnProperty.call(METHODS, methodName) ? METHODS[methodName] : undefined;
  if (!m) {
    throw new WedaModelError(WedaErrorCode.MethodNotFound, `unknown methodName "${methodName}" (supported: ${SUPPORTED_METHODS.join(', ')})`);
  }
  return m;
}
