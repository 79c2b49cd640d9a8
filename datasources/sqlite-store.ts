/**
 * Local data-model store on SQLite (better-sqlite3), behind the weda `callModel` shape (weda.md §3).
 *
 * - One file per envType (`models-pre.sqlite`, `models-prod.sqlite`), so pre and prod never mix.
 * - WAL + busy_timeout: several processes (cloud-function bundles in child processes) share the files.
 * - Schemaless: a table `m_<model>` per model with `_id` TEXT PK, `data` JSON (JSON types kept: status 2
 *   stays the number 2) and the system fields `createdAt`/`updatedAt` in ms (weda.md §2.3).
 * - Every update/delete is one `UPDATE|DELETE … WHERE <where>` statement: the where is a compare-and-set.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkDefinitions, isSystemField, type JsonRecord, type ModelDefinition } from './definitions';
import { methodFor, type FindOptions, type ModelOps, type StoredRecord } from './methods';
import {
  ENV_TYPES, WedaErrorCode, WedaModelError, normaliseCall, toWedaError,
  type CallModelParams, type EnvType, type ModelStore,
} from './weda';
import { fieldExpr, type Sql, type SqlValue } from './where-v2';

export interface SqliteStoreOptions {
  /** Directory holding `models-pre.sqlite` and `models-prod.sqlite` (created if missing). */
  dataDir: string;
  /** When given, only these models exist and their records are checked (see definitions.ts). */
  models?: Record<string, ModelDefinition>;
  /** Clock for createdAt/updatedAt (ms); tests inject one to create "old" orders. */
  now?: () => number;
  /** How long a writer waits for another process's lock, default 5000 ms. */
  busyTimeoutMs?: number;
}

export function modelsFile(dataDir: string, envType: EnvType): string {
  return join(dataDir, `models-${envType}.sqlite`);
}

// Crockford base32, 16 chars = 80 random bits (WeDa ids are short upper-case strings, e.g. "BH4UMKTNM6").
const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function newId(): string {
  let s = '';
  for (const b of randomBytes(16)) s += ID_ALPHABET[b & 31];
  return s;
}

const STATEMENT_CACHE_MAX = 256;

interface Row {
  _id: string;
  data: string;
  createdAt: number;
  updatedAt: number;
}

class Connection {
  private readonly tables = new Set<string>();
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      if (this.stmts.size >= STATEMENT_CACHE_MAX) this.stmts.clear();
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Creates the model's table (and the indexes its definition asks for) on first use. */
  ensureTable(model: string, def: ModelDefinition | undefined): string {
    const table = `m_${model}`;
    if (this.tables.has(table)) return table;
    const ddl = [
      `CREATE TABLE IF NOT EXISTS "${table}" (_id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL CHECK (json_valid(data)), createdAt INTEGER NOT NULL, updatedAt INTEGER NOT NULL)`,
    ];
    for (const [field, fd] of Object.entries(def?.properties ?? {})) {
      if (isSystemField(field) || !(fd['x-unique'] === true || fd['x-index'] === true)) continue;
      const unique = fd['x-unique'] ? 'UNIQUE ' : '';
      ddl.push(`CREATE ${unique}INDEX IF NOT EXISTS "${unique ? 'ux' : 'ix'}_${model}__${field}" ON "${table}" (${fieldExpr(field, field)})`);
    }
    this.db.exec(ddl.join(';\n'));
    this.tables.add(table);
    return table;
  }
}

function toRecord(row: Row): StoredRecord {
  return { _id: row._id, ...(JSON.parse(row.data) as JsonRecord), createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/** Maps a UNIQUE failure back to the field (index names are `ux_<model>__<field>`, or the `_id` PK). */
function duplicateError(e: unknown, model: string): WedaModelError | undefined {
  const err = e as { code?: unknown; message?: unknown };
  if (err?.code !== 'SQLITE_CONSTRAINT_UNIQUE' && err?.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return undefined;
  const msg = String(err.message);
  const field = /index 'ux_[A-Za-z0-9_]+?__([A-Za-z0-9_]+)'/.exec(msg)?.[1] ?? (msg.includes('._id') ? '_id' : 'a unique field');
  return new WedaModelError(WedaErrorCode.DuplicateValue, `${model}.${field} must be unique: a record with this value already exists`, { cause: e });
}

class SqliteModelOps implements ModelOps {
  constructor(
    private readonly conn: Connection,
    private readonly table: string,
    readonly model: string,
    readonly def: ModelDefinition | undefined,
    private readonly now: () => number,
  ) {}

  insert(records: JsonRecord[]): string[] {
    const stmt = this.conn.stmt(`INSERT INTO "${this.table}" (_id, data, createdAt, updatedAt) VALUES (?, ?, ?, ?)`);
    const run = this.conn.db.transaction(() =>
      records.map(({ _id, ...fields }) => {
        const id = typeof _id === 'string' ? _id : newId();
        const t = this.now();
        stmt.run(id, JSON.stringify(fields), t, t);
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
    const order = (opts.order ?? []).map((o) => `${fieldExpr(o.field, 'orderBy')} ${o.dir}`).concat('rowid ASC');
    const sql = `SELECT _id, data, createdAt, updatedAt FROM "${this.table}" WHERE ${where.sql} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`;
    const rows = this.conn.stmt(sql).all(...where.params, opts.limit ?? -1, opts.offset ?? 0) as Row[];
    return rows.map(toRecord);
  }

  count(where: Sql): number {
    const row = this.conn.stmt(`SELECT count(*) AS n FROM "${this.table}" WHERE ${where.sql}`).get(...where.params) as { n: number };
    return row.n;
  }

  update(where: Sql, patch: JsonRecord): number {
    // json_set(data, '$.f', json(?), …): values bound as JSON text, so types survive; paths are
    // NAME_RE-checked field names. One statement = the compare-and-set.
    const fields = Object.keys(patch);
    const sets = fields.map((f) => `'$.${f}', json(?)`).join(', ');
    const values: SqlValue[] = fields.map((f) => JSON.stringify(patch[f]));
    const sql = `UPDATE "${this.table}" SET data = json_set(data, ${sets}), updatedAt = ? WHERE ${where.sql}`;
    try {
      return this.conn.stmt(sql).run(...values, this.now(), ...where.params).changes;
    } catch (e) {
      throw duplicateError(e, this.model) ?? e;
    }
  }

  remove(where: Sql): number {
    return this.conn.stmt(`DELETE FROM "${this.table}" WHERE ${where.sql}`).run(...where.params).changes;
  }

  atomic<T>(fn: () => T): T {
    return this.conn.db.transaction(fn).immediate();
  }

  snapshot<T>(fn: () => T): T {
    return this.conn.db.transaction(fn).deferred();
  }
}

class SqliteModelStore implements ModelStore {
  private readonly conns = new Map<EnvType, Connection>();
  private readonly ops = new Map<string, SqliteModelOps>();
  private closed = false;

  constructor(private readonly opts: SqliteStoreOptions) {
    if (opts.models) checkDefinitions(opts.models);
    mkdirSync(opts.dataDir, { recursive: true });
  }

  private connection(envType: EnvType): Connection {
    let conn = this.conns.get(envType);
    if (!conn) {
      const timeout = this.opts.busyTimeoutMs ?? 5000;
      const db = new Database(modelsFile(this.opts.dataDir, envType), { timeout });
      db.pragma(`busy_timeout = ${Math.trunc(timeout)}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      conn = new Connection(db);
      this.conns.set(envType, conn);
    }
    return conn;
  }

  private opsFor(envType: EnvType, model: string): SqliteModelOps {
    const key = `${envType}/${model}`;
    let ops = this.ops.get(key);
    if (!ops) {
      const models = this.opts.models;
      const def = models && Object.prototype.hasOwnProperty.call(models, model) ? models[model] : undefined;
      if (models && !def) {
        throw new WedaModelError(WedaErrorCode.ModelNotFound, `model "${model}" is not defined (defined: ${Object.keys(models).join(', ') || 'none'})`);
      }
      const conn = this.connection(envType);
      ops = new SqliteModelOps(conn, conn.ensureTable(model, def), model, def, this.opts.now ?? Date.now);
      this.ops.set(key, ops);
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
    for (const env of ENV_TYPES) this.conns.get(env)?.db.close();
    this.conns.clear();
    this.ops.clear();
  }
}

export function openSqliteStore(opts: SqliteStoreOptions): ModelStore {
  return new SqliteModelStore(opts);
}
