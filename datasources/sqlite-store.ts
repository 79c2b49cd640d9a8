/**
 * Local data-model store on SQLite (better-sqlite3), behind the weda `callModel` shape (weda.md §3).
 *
 * - The models are defined in the environment, as on WeDa: `callModel` refuses an unknown model, a field the
 *   model does not have, a value of the wrong type or outside the field's enum, a missing required field and a
 *   second record with a unique (`x-unique`) field's value, naming the model and the field, and writes nothing
 *   (a batch is all or none). See `SqliteStoreOptions.models` for where the definitions come from.
 * - One file per envType (`models-pre.sqlite`, `models-prod.sqlite`), so pre and prod never mix.
 * - WAL + busy_timeout: several processes (cloud-function bundles in child processes) share the files.
 * - A table `m_<model>` per model: `_id` TEXT PK, `data` JSON (JSON types kept: status 2 stays the number 2),
 *   the system fields `createdAt`/`updatedAt` in ms (weda.md §2.3), and one column `f_<field>` per unique,
 *   indexed or required number field holding `json_extract(data, '$.<field>')`, written in the same statement as
 *   `data`. Indexes sit on the unique and indexed fields' columns (`ux_<model>__<field>` UNIQUE, `ix_<model>__<field>` on (field, createdAt)), so an
 *   update rewrites only the index entries of the fields it sets: an expression index on `data` would be
 *   rewritten by every update, whatever it changed. The unique index is what makes uniqueness hold across
 *   processes: of two concurrent inserts of one order number, the second fails.
 * - Every update/delete is one `UPDATE|DELETE … WHERE <where>` statement: the where is a compare-and-set.
 * - A V2 `select` is answered in SQL: only the asked fields are read (`SqliteModelOps.readField`), never the
 *   whole record parsed and picked.
 * - Lists read through a second, read-only connection with a small page cache (`Connection.lister`), so a walk over
 *   many records leaves the lookups' cache (and memory) alone.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDefinitions, isSystemField, type JsonRecord, type ModelDefinition } from './definitions';
import { methodFor, type FindOptions, type ModelOps, type StoredRecord } from './methods';
import { buildModelDefinitions } from './models';
import {
  ENV_TYPES, WedaErrorCode, WedaModelError, invalidParam, isPlainObject, normaliseCall, toWedaError,
  type CallModelParams, type EnvType, type ModelStore,
} from './weda';
import { fieldExpr, type FieldSql, type Sql, type SqlValue, type SureSqlType } from './where-v2';

export interface SqliteStoreOptions {
  /** Directory holding `models-pre.sqlite`, `models-prod.sqlite` and `model-definitions.json` (created if missing). */
  dataDir: string;
  /**
   * The models of this local environment, as WeDa holds them for its environment. Given, they become the
   * environment's definitions: saved to `<dataDir>/model-definitions.json`, so every store opened on the same
   * directory without `models` (a function bundle in another process, a test helper) enforces the same ones.
   * Omitted: the definitions saved there, else the generated models (`buildModelDefinitions()`, what
   * datasources/models/*.json hold). The dev server passes the configuration's (model names, field mapping).
   */
  models?: Record<string, ModelDefinition>;
  /** Clock for createdAt/updatedAt (ms); tests inject one to create "old" orders. */
  now?: () => number;
  /** How long a writer waits for another process's lock, default 5000 ms. */
  busyTimeoutMs?: number;
  /** Called with every SQL statement run, bound values written in (to see which index a lookup uses). */
  trace?: (sql: string) => void;
}

export function modelsFile(dataDir: string, envType: EnvType): string {
  return join(dataDir, `models-${envType}.sqlite`);
}

export function definitionsFile(dataDir: string): string {
  return join(dataDir, 'model-definitions.json');
}

/** The environment's model definitions: saved when given, else read back, else the generated ones. */
function environmentModels(dataDir: string, given: Record<string, ModelDefinition> | undefined): Record<string, ModelDefinition> {
  const file = definitionsFile(dataDir);
  if (given) {
    checkDefinitions(given);
    // Written whole and renamed into place, so a reader never sees half a file.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(given, null, 2)}\n`);
    renameSync(tmp, file);
    return given;
  }
  if (!existsSync(file)) return buildModelDefinitions();
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalidParam(`${file}: not valid JSON (${(e as Error).message}); delete it to use the generated models`);
  }
  if (!isPlainObject(saved)) throw invalidParam(`${file} must hold an object of model definitions`);
  const models = saved as Record<string, ModelDefinition>;
  checkDefinitions(models);
  return models;
}

// Crockford base32, 16 chars = 80 random bits (WeDa ids are short upper-case strings, e.g. "BH4UMKTNM6").
const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function newId(): string {
  let s = '';
  for (const b of randomBytes(16)) s += ID_ALPHABET[b & 31];
  return s;
}

const STATEMENT_CACHE_MAX = 256;

/**
 * Every connection's settings: WAL (readers never block the writer; other processes share the file),
 * synchronous NORMAL (WAL is synced at checkpoints; a commit survives a process crash), and a page cache of up to
 * 64 MiB, so the index pages of a large orders table stay in memory (SQLite's default is 2 MiB).
 */
export const CONNECTION_PRAGMAS: readonly string[] = ['journal_mode = WAL', 'synchronous = NORMAL', 'cache_size = -65536'];

/**
 * The settings of the connection lists read through (see `Connection.lister`): read-only, and SQLite's default
 * page cache of 2 MiB. A list reads pages once, in order, so a cache does not speed it up — but a day's orders read
 * through the lookup connection filled its 64 MiB with table pages, evicting the index pages lookups want, and kept
 * 64 MiB of RSS in a process that reconciles a million orders (bench/README.md, bill-reconcile).
 */
export const LIST_CONNECTION_PRAGMAS: readonly string[] = ['query_only = ON', 'cache_size = -2048'];

interface Row {
  _id: string;
  data: string;
  createdAt: number;
  updatedAt: number;
}

/** Where a model lives in SQLite: its table, the columns mirroring its unique, indexed and required number fields, its indexes. */
export interface TableLayout {
  table: string;
  /** field → its mirror column name (unquoted). */
  columns: ReadonlyMap<string, string>;
  /** index name → the exact `CREATE INDEX` statement (as sqlite_master keeps it). */
  indexes: ReadonlyMap<string, string>;
  /** unique index name → the field it makes unique. */
  uniqueFields: ReadonlyMap<string, string>;
  /** The fields the definition types as numbers only or text only (see `sureSqlTypes`). */
  types: ReadonlyMap<string, SureSqlType>;
}

/**
 * The layout a definition asks for: `x-unique` → a UNIQUE index on the field; `x-index: true` → an index on
 * (field, createdAt), which finds by the field and lists in creation order (reconcile: status = 1 AND
 * createdAt < t ORDER BY createdAt) and costs updates nothing extra (createdAt never changes); with
 * `x-index-ties: '_id'`, on (field, _id), which lists by the field then `_id` without sorting: the keyset the bill
 * reconciliation pages a day's payments by (paidAt, _id) — sorting each page cost ~0.2 s a million orders.
 * A required field whose values are numbers only (an amount) gets a mirror column without an index: every record
 * holds it in a few bytes, so a list selecting it (the bill reconciliation reads a million amounts) reads the column
 * instead of taking the field out of each record's JSON, ~0.4 s less per million (bench/README.md, bill-reconcile);
 * an update writes the column only when it sets the field.
 */
export function tableLayout(model: string, def: ModelDefinition): TableLayout {
  const table = `m_${model}`;
  const columns = new Map<string, string>();
  const indexes = new Map<string, string>();
  const uniqueFields = new Map<string, string>();
  const byLowerCase = new Map<string, string>();
  const required = new Set(def.required ?? []);
  for (const [field, fd] of Object.entries(def.properties)) {
    const unique = fd['x-unique'] === true;
    const indexed = unique || fd['x-index'] === true;
    if (isSystemField(field) || !(indexed || (required.has(field) && isNumbersOnly(fd)))) continue;
    // SQLite names are case-insensitive, JSON keys are not.
    const clash = byLowerCase.get(field.toLowerCase());
    if (clash) throw invalidParam(`models.${model}: the indexed fields "${clash}" and "${field}" differ only in case, which SQLite column names cannot tell apart`);
    byLowerCase.set(field.toLowerCase(), field);
    const column = `f_${field}`;
    columns.set(field, column);
    if (!indexed) continue;
    const name = `${unique ? 'ux' : 'ix'}_${model}__${field}`;
    indexes.set(name, unique
      ? `CREATE UNIQUE INDEX "${name}" ON "${table}" ("${column}")`
      : `CREATE INDEX "${name}" ON "${table}" ("${column}", "${fd['x-index-ties'] === '_id' ? '_id' : 'createdAt'}")`);
    if (unique) uniqueFields.set(name, field);
  }
  return { table, columns, indexes, uniqueFields, types: sureSqlTypes(def) };
}

/** A field whose every value is a number (`integer` / `number`): its mirror column holds exactly that number. */
function isNumbersOnly(fd: ModelDefinition['properties'][string]): boolean {
  const types = [fd.type].flat();
  return types.length > 0 && types.every((t) => t === 'integer' || t === 'number');
}

/**
 * The fields the model types `integer`/`number` only or `string` only: every write is checked against the
 * definition (`checkRecord`), so from the moment the rows already there are found to hold to it (`ensureTable`)
 * nothing else gets into them, and a where's range on them can skip its same-type test (where-v2.ts `operator`).
 */
function sureSqlTypes(def: ModelDefinition): ReadonlyMap<string, SureSqlType> {
  const types = new Map<string, SureSqlType>();
  for (const [field, fd] of Object.entries(def.properties)) {
    if (isSystemField(field)) continue;
    const declared = [fd.type].flat();
    if (isNumbersOnly(fd)) types.set(field, 'number');
    else if (declared.length > 0 && declared.every((t) => t === 'string')) types.set(field, 'text');
  }
  return types;
}

class Connection {
  private readonly stmts = new Map<string, Database.Statement>();
  private listConnection: Connection | undefined;

  /** `openLister` opens this file's list connection on first use (none given: lists read through this one). */
  constructor(readonly db: Database.Database, readonly file: string, private readonly openLister?: () => Database.Database) {}

  /**
   * The connection a list (a paged read in one snapshot) reads through: a second, read-only one with a small page
   * cache, so that walking many records neither evicts the lookups' cached index pages nor holds their memory. In
   * WAL it sees every write committed before its snapshot began, as this one would.
   */
  lister(): Connection {
    if (!this.openLister) return this;
    return (this.listConnection ??= new Connection(this.openLister(), this.file));
  }

  close(): void {
    this.listConnection?.db.close();
    this.db.close();
  }

  stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      if (this.stmts.size >= STATEMENT_CACHE_MAX) this.stmts.clear();
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /**
   * Brings the model's table to its layout, in one write transaction (another process doing the same waits,
   * then finds nothing to do): creates the table, drops indexes and mirror columns the definition no longer
   * asks for (a mirror nobody writes would go stale), adds and fills the missing columns, creates the indexes.
   */
  ensureTable(model: string, layout: TableLayout): ReadonlyMap<string, SureSqlType> {
    const { db } = this;
    const { table } = layout;
    return db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS "${table}" (_id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL CHECK (json_valid(data)), createdAt INTEGER NOT NULL, updatedAt INTEGER NOT NULL)`);
      const indexes = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`).all(table) as { name: string; sql: string }[];
      for (const { name, sql } of indexes) if (layout.indexes.get(name) !== sql) db.exec(`DROP INDEX "${name}"`);
      const have = new Set((db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]).map((c) => c.toLowerCase()));
      const wanted = new Set([...layout.columns.values()].map((c) => c.toLowerCase()));
      for (const column of have) if (column.startsWith('f_') && !wanted.has(column)) db.exec(`ALTER TABLE "${table}" DROP COLUMN "${column}"`);
      for (const [field, column] of layout.columns) {
        if (have.has(column.toLowerCase())) continue;
        db.exec(`ALTER TABLE "${table}" ADD COLUMN "${column}"`);
        db.exec(`UPDATE "${table}" SET "${column}" = json_extract(data, '$.${field}')`);
      }
      const present = new Set(indexes.filter((i) => layout.indexes.get(i.name) === i.sql).map((i) => i.name));
      for (const [name, sql] of layout.indexes) {
        if (present.has(name)) continue;
        try {
          db.exec(sql);
        } catch (e) {
          const field = layout.uniqueFields.get(name);
          if (!field) throw e;
          throw existingDuplicates(db, model, layout, field, this.file, e);
        }
      }
      return heldTypes(db, layout);
    }).immediate();
  }
}

/** SQLite's names for the values of a field typed as numbers only or text only, null aside (where-v2.ts `operator`). */
const SQL_TYPES_OF: Readonly<Record<SureSqlType, string>> = { number: "'integer', 'real'", text: "'text'" };

/**
 * The types the model's table promises a where (`FieldSql.types`): its system columns, and each field the definition
 * types as numbers only or text only once no row holds anything else — rows written under an earlier definition,
 * or before definitions were enforced, may. A field is checked once per type it is given (one pass over the table;
 * the answer, either way, recorded in `weda_field_types`), so opening a store costs one small read; a field whose
 * rows do not hold to its type is not promised, and its ranges keep their per-row test, until its type changes.
 */
function heldTypes(db: Database.Database, layout: TableLayout): ReadonlyMap<string, SureSqlType> {
  const { table } = layout;
  db.exec('CREATE TABLE IF NOT EXISTS weda_field_types (tbl TEXT NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY (tbl, field))');
  const recorded = new Map((db.prepare('SELECT field, type FROM weda_field_types WHERE tbl = ?').all(table) as { field: string; type: string }[]).map((r) => [r.field, r.type]));
  const held = new Map<string, SureSqlType>([['_id', 'text'], ['createdAt', 'number'], ['updatedAt', 'number']]);
  const unchecked = [...layout.types].filter(([field, type]) => recorded.get(field) !== type && recorded.get(field) !== `not ${type}`);
  if (unchecked.length) {
    // One pass over the table for every field still to check: each column of the answer is 1 when some row holds
    // another type there.
    const others = unchecked.map(([field, type]) => {
      const column = layout.columns.get(field);
      const value = column ? `"${column}"` : `json_extract(data, '$.${field}')`;
      return `ifnull(max(typeof(${value}) NOT IN (${SQL_TYPES_OF[type]}, 'null')), 0)`;
    });
    const found = db.prepare(`SELECT ${others.join(', ')} FROM "${table}"`).raw(true).get() as number[];
    const record = db.prepare('INSERT OR REPLACE INTO weda_field_types (tbl, field, type) VALUES (?, ?, ?)');
    // "not number": rows hold other values; not scanned again at every opening, only once the type changes.
    unchecked.forEach(([field, type], i) => {
      const answer = found[i] ? `not ${type}` : type;
      record.run(table, field, answer);
      recorded.set(field, answer);
    });
  }
  for (const [field, type] of layout.types) if (recorded.get(field) === type) held.set(field, type);
  // A field no longer typed so is checked again if it ever is.
  for (const field of recorded.keys()) if (!layout.types.has(field)) db.prepare('DELETE FROM weda_field_types WHERE tbl = ? AND field = ?').run(table, field);
  return held;
}

/** A unique index cannot be created over records that already share a value: say which, and where. */
function existingDuplicates(db: Database.Database, model: string, layout: TableLayout, field: string, file: string, cause: unknown): WedaModelError {
  const column = layout.columns.get(field)!;
  const dups = db.prepare(`SELECT "${column}" AS v, count(*) AS n FROM "${layout.table}" WHERE "${column}" IS NOT NULL GROUP BY 1 HAVING n > 1 LIMIT 3`).all() as { v: unknown; n: number }[];
  const list = dups.map((d) => `${JSON.stringify(d.v)} (${d.n} records)`).join(', ');
  return new WedaModelError(
    WedaErrorCode.DuplicateValue,
    `${model}.${field} must be unique, but records in ${file} already share a value: ${list}; delete or renumber the extra records (sqlite3 "${file}") before using the model`,
    { cause, model, field },
  );
}

/**
 * A stored record: `{ _id, ...data, createdAt, updatedAt }`, which V8 builds slowly (a spread between other
 * properties), copied instead into a fresh object in the same key order; a `__proto__` key in the data (JSON.parse
 * makes it an own property; assignment would set the prototype instead) still goes through the spread.
 */
function storedRecord(_id: string, data: JsonRecord, createdAt: number, updatedAt: number): StoredRecord {
  if (Object.prototype.hasOwnProperty.call(data, '__proto__')) return { _id, ...data, createdAt, updatedAt };
  const record = Object.assign({ _id } as StoredRecord, data);
  record.createdAt = createdAt;
  record.updatedAt = updatedAt;
  return record;
}

/**
 * A value from its JSON text, as `JSON.parse` reads it: a string without escapes and a number are read directly
 * (the common case, several times cheaper), anything else by `JSON.parse`.
 */
function fromJsonText(text: string): unknown {
  const c = text.charCodeAt(0);
  if (c === 0x22 /* " */ && text.indexOf('\\') < 0) return text.slice(1, -1);
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d /* - */) return Number(text);
  return JSON.parse(text);
}

/** Field types whose values json_extract (and so a mirror column) gives as they are: text, integer or real. */
const VALUED_EXACTLY: ReadonlySet<string> = new Set(['string', 'integer', 'number', 'null']);

function pageBound(v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v)) throw new TypeError(`a page bound must be an integer (got ${v})`);
  return v;
}

const UNIQUE_FAILURE = /UNIQUE constraint failed: [A-Za-z0-9_]+\.([A-Za-z0-9_]+)/;

/** Maps a UNIQUE failure back to the field (a mirror column `f_<field>`, or the `_id` primary key). */
function duplicateError(e: unknown, model: string): WedaModelError | undefined {
  const err = e as { code?: unknown; message?: unknown };
  if (err?.code !== 'SQLITE_CONSTRAINT_UNIQUE' && err?.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return undefined;
  const column = UNIQUE_FAILURE.exec(String(err.message))?.[1] ?? '';
  const field = column.startsWith('f_') ? column.slice(2) : column === '_id' ? '_id' : 'a unique field';
  return new WedaModelError(WedaErrorCode.DuplicateValue, `${model}.${field} must be unique: a record with this value already exists`, { cause: e, model, field });
}

/**
 * A string SQLite would not give back exactly when bound as TEXT: one holding a UTF-16 surrogate (a lone one does
 * not survive the conversion to UTF-8; JSON.stringify escapes it). Such a string is bound as its JSON text instead.
 * (For the rest, json_set writes the JSON string JSON.stringify writes, escapes included: test/store-update-binding.)
 */
const NEEDS_JSON_TEXT = /[\ud800-\udfff]/;

/** An UPDATE prepared for one where and one list of fields; `mirrored`: the fields (by position) with a mirror column. */
interface UpdatePlan {
  stmt: Database.Statement;
  mirrored: number[];
}

class SqliteModelOps implements ModelOps {
  readonly fieldSql: FieldSql;
  /** Where find/select/count read: the lookup connection, or the list connection inside `snapshot`. */
  private reader: Connection;
  private readonly table: string;
  private readonly insertSql: string;
  /** where SQL → findOne's statement. */
  private readonly findOneStmts = new Map<string, Database.Statement>();
  /** where SQL → the patch's fields (joined by commas) → plan. */
  private readonly updatePlans = new Map<string, Map<string, UpdatePlan>>();

  constructor(
    private readonly conn: Connection,
    private readonly layout: TableLayout,
    readonly model: string,
    readonly def: ModelDefinition,
    private readonly now: () => number,
    /** The types the table's rows hold to (`heldTypes`). */
    types: ReadonlyMap<string, SureSqlType>,
  ) {
    this.table = layout.table;
    this.reader = conn;
    const { columns } = layout;
    const quoted = new Map([...columns].map(([field, column]) => [field, `"${column}"`]));
    this.fieldSql = Object.assign((field: string, path: string) => quoted.get(field) ?? fieldExpr(field, path), { types });
    const names = ['_id', 'data', 'createdAt', 'updatedAt', ...[...columns.values()].map((c) => `"${c}"`)];
    const values = ['@id', '@data', '@t', '@t', ...[...columns.keys()].map((f) => `json_extract(@data, '$.${f}')`)];
    this.insertSql = `INSERT INTO "${this.table}" (${names.join(', ')}) VALUES (${values.join(', ')})`;
  }

  insert(records: JsonRecord[]): string[] {
    const stmt = this.conn.stmt(this.insertSql);
    const run = this.conn.db.transaction(() =>
      records.map(({ _id, ...fields }) => {
        const id = typeof _id === 'string' ? _id : newId();
        stmt.run({ id, data: JSON.stringify(fields), t: this.now() });
        return id;
      }),
    );
    try {
      return run.immediate();
    } catch (e) {
      throw duplicateError(e, this.model) ?? e;
    }
  }

  find(where: Sql, opts: FindOptions = {}): StoredRecord[] {
    const rows = this.reader.stmt(this.selectSql('_id, data, createdAt, updatedAt', where, opts)).all(...where.params) as Row[];
    return rows.map((row) => storedRecord(row._id, JSON.parse(row.data) as JsonRecord, row.createdAt, row.updatedAt));
  }

  select(where: Sql, fields: readonly string[], opts: FindOptions = {}): JsonRecord[] {
    const asked = fields.filter((f) => f !== '_id');
    const reads = asked.map((f) => this.readField(f));
    const stmt = this.reader.stmt(this.selectSql(['_id', ...reads.map((r) => r.sql)].join(', '), where, opts));
    const rows = stmt.raw(true).all(...where.params) as unknown[][];
    const out = new Array<JsonRecord>(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const record: JsonRecord = { _id: row[0] };
      for (let i = 0; i < asked.length; i++) {
        const v = row[i + 1];
        if (v !== null) record[asked[i]!] = reads[i]!.value(v);
      }
      out[r] = record;
    }
    return out;
  }

  /**
   * How `select` reads a field, so that only the asked fields are decoded, with their JSON types: a system field
   * from its column; a field whose values can only be strings or numbers (its definition: every write is checked
   * against it) as its SQL value — its mirror column if it has one, else json_extract — which is exactly the value
   * (a boolean would be 1, an object its text: those are not read so), with a zero-length blob for a null the record
   * holds; any other field as its JSON text (`->`). Either way SQL NULL is a field the record lacks.
   */
  private readField(field: string): { sql: string; value: (v: unknown) => unknown } {
    if (isSystemField(field)) return { sql: `"${field}"`, value: (v) => v };
    const types = [this.def.properties[field]?.type ?? []].flat();
    if (types.length && types.every((t) => VALUED_EXACTLY.has(t))) {
      const column = this.layout.columns.get(field);
      const value = column ? `"${column}"` : `json_extract(data, '$.${field}')`;
      return {
        sql: `ifnull(${value}, CASE WHEN json_type(data, '$.${field}') = 'null' THEN x'' END)`,
        value: (v) => (typeof v === 'object' ? null : v),
      };
    }
    return { sql: `data -> '$.${field}'`, value: (v) => fromJsonText(v as string) };
  }

  private selectSql(columns: string, where: Sql, opts: FindOptions): string {
    const order = opts.order?.length ? opts.order.map((o) => `${this.fieldSql(o.field, 'orderBy')} ${o.dir}`).concat('rowid ASC') : ['rowid ASC'];
    // LIMIT/OFFSET written in (checked integers): bound, they cost a lookup by order number about twice its time.
    const limit = pageBound(opts.limit, -1);
    const offset = pageBound(opts.offset, 0);
    return `SELECT ${columns} FROM "${this.table}" WHERE ${where.sql} ORDER BY ${order.join(', ')} LIMIT ${limit} OFFSET ${offset}`;
  }

  count(where: Sql): number {
    const row = this.reader.stmt(`SELECT count(*) AS n FROM "${this.table}" WHERE ${where.sql}`).get(...where.params) as { n: number };
    return row.n;
  }

  update(where: Sql, patch: JsonRecord): number {
    // json_set(data, '$.f', <value>, …) and each mirror column = the value as json_extract reads it back from the
    // new data; paths are NAME_RE-checked field names. A value is bound as itself where SQLite gives it exactly:
    // a string (TEXT, which json_set writes as a JSON string; see NEEDS_JSON_TEXT) and a safe integer (as a 64-bit
    // integer: a JS number would bind as a REAL, written 2.0); anything else as its JSON text through json(?) and
    // json_extract(?, '$'), so types survive. Bound as themselves they spare SQLite a JSON parse each (about 5 µs of
    // a payment's 60 µs compare-and-set). One statement = the compare-and-set.
    const fields = Object.keys(patch);
    let kinds = '';
    // The bound values in the statement's order: the patch's, then the mirrored ones again, updatedAt, the where's.
    const args: Array<SqlValue | bigint> = [];
    for (const field of fields) {
      const v = patch[field];
      if (typeof v === 'string' && !NEEDS_JSON_TEXT.test(v)) {
        kinds += 's';
        args.push(v);
      } else if (Number.isSafeInteger(v)) {
        kinds += 'i';
        args.push(BigInt(v as number));
      } else {
        kinds += 'j';
        args.push(JSON.stringify(v));
      }
    }
    const plan = this.updatePlan(where.sql, fields, kinds);
    for (const i of plan.mirrored) args.push(args[i]!);
    args.push(this.now());
    for (const v of where.params) args.push(v);
    try {
      return plan.stmt.run(args).changes;
    } catch (e) {
      throw duplicateError(e, this.model) ?? e;
    }
  }

  /**
   * The UPDATE for a where, the fields a patch sets and how each value is bound (`kinds`: s string, i integer,
   * j JSON text), prepared once (a callback writes the same fields every time).
   */
  private updatePlan(whereSql: string, fields: string[], kinds: string): UpdatePlan {
    let byFields = this.updatePlans.get(whereSql);
    if (!byFields) {
      if (this.updatePlans.size >= STATEMENT_CACHE_MAX) this.updatePlans.clear();
      this.updatePlans.set(whereSql, (byFields = new Map()));
    }
    const key = `${kinds}:${fields.join(',')}`;
    let plan = byFields.get(key);
    if (!plan) {
      const sets: string[] = [];
      const mirrors: string[] = [];
      const mirrored: number[] = [];
      fields.forEach((field, i) => {
        const asJson = kinds[i] === 'j';
        sets.push(`'$.${field}', ${asJson ? 'json(?)' : '?'}`);
        const column = this.layout.columns.get(field);
        if (column) {
          mirrors.push(`, "${column}" = ${asJson ? "json_extract(?, '$')" : '?'}`);
          mirrored.push(i);
        }
      });
      const sql = `UPDATE "${this.table}" SET data = json_set(data, ${sets.join(', ')})${mirrors.join('')}, updatedAt = ? WHERE ${whereSql}`;
      plan = { stmt: this.conn.stmt(sql), mirrored };
      byFields.set(key, plan);
    }
    return plan;
  }

  remove(where: Sql): number {
    return this.conn.stmt(`DELETE FROM "${this.table}" WHERE ${where.sql}`).run(...where.params).changes;
  }

  findOne(where: Sql): StoredRecord | undefined {
    let stmt = this.findOneStmts.get(where.sql);
    if (!stmt) {
      if (this.findOneStmts.size >= STATEMENT_CACHE_MAX) this.findOneStmts.clear();
      // The first in rowid order, as find's; its four columns as a list (no row object to build and take apart).
      stmt = this.conn.db.prepare(`SELECT _id, data, createdAt, updatedAt FROM "${this.table}" WHERE ${where.sql} ORDER BY rowid ASC LIMIT 1`).raw(true);
      this.findOneStmts.set(where.sql, stmt);
    }
    const row = stmt.get(where.params) as [string, string, number, number] | undefined;
    return row && storedRecord(row[0], JSON.parse(row[1]) as JsonRecord, row[2], row[3]);
  }

  atomic<T>(fn: () => T): T {
    return this.conn.db.transaction(fn).immediate();
  }

  /**
   * A list's read transaction, on the list connection (inside a write transaction: on this one, to see its writes);
   * a single statement is run without one (SQLite reads it in one snapshot anyway).
   */
  snapshot<T>(fn: () => T, oneStatement = false): T {
    const lister = this.conn.db.inTransaction ? this.conn : this.conn.lister();
    const outer = this.reader;
    this.reader = lister;
    try {
      return oneStatement ? fn() : lister.db.transaction(fn).deferred();
    } finally {
      this.reader = outer;
    }
  }
}

class SqliteModelStore implements ModelStore {
  /** `callModel` is async and turns every failure into a WedaModelError. */
  readonly rejectsWithWedaErrors = true;
  private readonly models: Record<string, ModelDefinition>;
  private readonly conns = new Map<EnvType, Connection>();
  private readonly ops = new Map<EnvType, Map<string, SqliteModelOps>>();
  private closed = false;

  constructor(private readonly opts: SqliteStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.models = environmentModels(opts.dataDir, opts.models);
  }

  private connection(envType: EnvType): Connection {
    let conn = this.conns.get(envType);
    if (!conn) {
      const file = modelsFile(this.opts.dataDir, envType);
      conn = new Connection(this.openDatabase(file, CONNECTION_PRAGMAS), file, () => this.openDatabase(file, LIST_CONNECTION_PRAGMAS));
      this.conns.set(envType, conn);
    }
    return conn;
  }

  private openDatabase(file: string, pragmas: readonly string[]): Database.Database {
    const timeout = this.opts.busyTimeoutMs ?? 5000;
    const db = new Database(file, { timeout, ...(this.opts.trace ? { verbose: (sql: unknown) => this.opts.trace!(String(sql)) } : {}) });
    db.pragma(`busy_timeout = ${Math.trunc(timeout)}`);
    for (const pragma of pragmas) db.pragma(pragma);
    return db;
  }

  private opsFor(envType: EnvType, model: string): SqliteModelOps {
    let inEnv = this.ops.get(envType);
    if (!inEnv) this.ops.set(envType, (inEnv = new Map()));
    let ops = inEnv.get(model);
    if (!ops) {
      const def = Object.prototype.hasOwnProperty.call(this.models, model) ? this.models[model] : undefined;
      if (!def) {
        throw new WedaModelError(WedaErrorCode.ModelNotFound, `model "${model}" is not defined (defined: ${Object.keys(this.models).join(', ') || 'none'})`, { model });
      }
      const conn = this.connection(envType);
      const layout = tableLayout(model, def);
      const types = conn.ensureTable(model, layout);
      ops = new SqliteModelOps(conn, layout, model, def, this.opts.now ?? Date.now, types);
      inEnv.set(model, ops);
    }
    return ops;
  }

  async callModel(p: CallModelParams): Promise<any> {
    try {
      if (this.closed) throw new WedaModelError(WedaErrorCode.StoreClosed, 'the model store is closed');
      const call = normaliseCall(p);
      const method = methodFor(call.methodName);
      return method(this.opsFor(call.envType, call.name), call.params);
    } catch (e) {
      throw toWedaError(e);
    }
  }

  close(): void {
    this.closed = true;
    for (const env of ENV_TYPES) this.conns.get(env)?.close();
    this.conns.clear();
    this.ops.clear();
  }
}

/** Opens the local store; it enforces the environment's model definitions (see `SqliteStoreOptions.models`). */
export function openSqliteStore(opts: SqliteStoreOptions): ModelStore {
  return new SqliteModelStore(opts);
}
