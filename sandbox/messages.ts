import { Db } from './state';
import { SandboxError } from './errors';

/**
 * Subscribe messages a payment callback sends to the payer (`cloud.openapi.subscribeMessage.send` in
 * production): recorded, not delivered, so a developer can see what the payer would have received.
 */
export interface RecordedMessage {
  touser: string;
  templateId: string;
  data: Record<string, { value: string }>;
  page?: string;
  miniprogramState?: string;
  lang?: string;
}

export function recordMessage(db: Db, body: Record<string, unknown>, now: number): { errCode: 0; errMsg: string; msgid: number } {
  const need = (field: string, ok: boolean, issue: string) => {
    if (!ok) throw new SandboxError(400, 'PARAM_ERROR', `${field} ${issue}`, { field, issue });
  };
  need('touser', typeof body.touser === 'string' && body.touser.length > 0, 'is required (the payer openid)');
  need('templateId', typeof body.templateId === 'string' && body.templateId.length > 0, 'is required');
  need('data', !!body.data && typeof body.data === 'object' && !Array.isArray(body.data), 'must be an object of {keyword: {value}}');
  const info = db.prepare('INSERT INTO messages (touser, body, at) VALUES (?, ?, ?)').run(body.touser, JSON.stringify(body), now);
  return { errCode: 0, errMsg: 'openapi.subscribeMessage.send:ok', msgid: Number(info.lastInsertRowid) };
}

export function listMessages(db: Db, touser?: string): RecordedMessage[] {
  const rows = (touser
    ? db.prepare('SELECT body FROM messages WHERE touser = ? ORDER BY id').all(touser)
    : db.prepare('SELECT body FROM messages ORDER BY id').all()) as Array<{ body: string }>;
  return rows.map((r) => JSON.parse(r.body) as RecordedMessage);
}
