import { Sql } from './db';

/** The `messages` table: subscribe messages as sent (the request body), oldest first. */
export class MessageStore {
  constructor(private readonly sql: Sql) {}

  /** Returns the message id. */
  insert(touser: string, bodyJson: string, at: number): number {
    return Number(this.sql.prepare('INSERT INTO messages (touser, body, at) VALUES (?, ?, ?)').run(touser, bodyJson, at).lastInsertRowid);
  }

  /** The stored bodies (JSON text), oldest first. */
  list(touser?: string): string[] {
    const rows = (touser !== undefined
      ? this.sql.prepare('SELECT body FROM messages WHERE touser = ? ORDER BY id').all(touser)
      : this.sql.prepare('SELECT body FROM messages ORDER BY id').all()) as Array<{ body: string }>;
    return rows.map((r) => r.body);
  }
}
