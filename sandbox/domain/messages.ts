import type { MessageStore } from '../state/messages';
import { SandboxClock } from './clock';
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

export interface MessagesDeps {
  store: MessageStore;
  clock: SandboxClock;
}

export class Messages {
  constructor(private readonly d: MessagesDeps) {}

  /** Records a `subscribeMessage.send` body and answers as the API does. */
  record(body: Record<string, unknown>): { errCode: 0; errMsg: string; msgid: number } {
    const need = (field: string, ok: boolean, issue: string) => {
      if (!ok) throw new SandboxError(400, 'PARAM_ERROR', `${field} ${issue}`, { field, issue });
    };
    need('touser', typeof body.touser === 'string' && body.touser.length > 0, 'is required (the payer openid)');
    need('templateId', typeof body.templateId === 'string' && body.templateId.length > 0, 'is required');
    need('data', !!body.data && typeof body.data === 'object' && !Array.isArray(body.data), 'must be an object of {keyword: {value}}');
    const msgid = this.d.store.insert(body.touser as string, JSON.stringify(body), this.d.clock.now());
    return { errCode: 0, errMsg: 'openapi.subscribeMessage.send:ok', msgid };
  }

  /** Oldest first; an empty `touser` means everyone's. */
  list(touser?: string): RecordedMessage[] {
    return this.d.store.list(touser || undefined).map((body) => JSON.parse(body) as RecordedMessage);
  }
}
