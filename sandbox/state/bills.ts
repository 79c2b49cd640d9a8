import type { BillType } from '../../wxpay';
import { Sql } from './db';

export interface StoredBill {
  content: Buffer;
  sha1: string;
}

export interface BillTokenRow {
  token: string;
  mchid: string;
  bill_date: string;
  bill_type: BillType;
  gzip: number;
  expires_at: number;
}

/** Rows of `bills` (each day's bill frozen once generated, as WeChat's are) and `bill_tokens`. */
export class BillStore {
  constructor(private readonly sql: Sql) {}

  get(mchid: string, billDate: string, billType: BillType): StoredBill | undefined {
    const r = this.sql.prepare('SELECT content, sha1 FROM bills WHERE mchid = ? AND bill_date = ? AND bill_type = ?').get(mchid, billDate, billType) as { content: Buffer; sha1: string } | undefined;
    return r ? { content: r.content, sha1: r.sha1 } : undefined;
  }

  put(mchid: string, billDate: string, billType: BillType, bill: StoredBill, at: number): void {
    this.sql.prepare('INSERT OR IGNORE INTO bills (mchid, bill_date, bill_type, content, sha1, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(mchid, billDate, billType, bill.content, bill.sha1, at);
  }

  addToken(t: BillTokenRow): void {
    this.sql.prepare('INSERT INTO bill_tokens (token, mchid, bill_date, bill_type, gzip, expires_at) VALUES (@token, @mchid, @bill_date, @bill_type, @gzip, @expires_at)').run(t);
  }

  token(token: string): BillTokenRow | undefined {
    return this.sql.prepare('SELECT * FROM bill_tokens WHERE token = ?').get(token) as BillTokenRow | undefined;
  }

  pruneTokens(now: number): void {
    this.sql.prepare('DELETE FROM bill_tokens WHERE expires_at < ?').run(now - 86_400_000);
  }
}
