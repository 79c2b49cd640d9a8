import Database from 'better-sqlite3';

export type Db = Database.Database;
export type Statement = Database.Statement;

/**
 * The database handle the stores share: SQL compiled once per text, and transactions.
 *
 * `prepare(sql)` returns the same Statement for the same text: compiling costs about as much as running a lookup
 * (~14 µs), and the request hot path runs several per request (bench/sandbox-roundtrip.ts). Safe because no caller
 * changes a statement's mode (`pluck`/`raw`/`expand`) or keeps one iterating.
 */
export class Sql {
  private readonly compiled = new Map<string, Statement>();

  constructor(readonly db: Db) {}

  prepare(source: string): Statement {
    let statement = this.compiled.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.compiled.set(source, statement);
    }
    return statement;
  }

  /** Runs `fn` in one transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  get open(): boolean {
    return this.db.open;
  }
}

/**
 * Applies the migrations the database has not seen yet, in order, each in its own transaction; `PRAGMA user_version`
 * counts the applied ones. A database from a newer sandbox is refused rather than misread.
 */
export function migrate(db: Db, migrations: readonly string[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) throw new Error(`sandbox.sqlite has schema version ${current}, newer than this sandbox (${migrations.length})`);
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Clips stored request/response text so the logs stay small. */
export function clip(text: string | undefined | null, max = 4096): string | null {
  if (text === undefined || text === null) return null;
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more chars]` : text;
}
