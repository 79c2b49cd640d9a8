import { Sql } from './db';

/** The `meta` table: small named values (the clock offset, CloudPay's v2 key and settings). */
export class MetaStore {
  constructor(private readonly sql: Sql) {}

  get(key: string): string | undefined {
    const row = this.sql.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  set(key: string, value: string): void {
    this.sql.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  delete(key: string): void {
    this.sql.prepare('DELETE FROM meta WHERE key = ?').run(key);
  }
}
