import type { OutboxRow } from '../state/outbox';
import type { HttpOutcome } from './post';

/** What one attempt sends. `error` set = it cannot be sent (logged as a failed attempt, retried on schedule). */
export interface OutgoingRequest {
  url: string | null;
  headers: Record<string, string>;
  body: string;
  error?: string;
}

/**
 * One delivery channel's rules: how a notification becomes a POST, and which answers acknowledge it. The sender
 * (sender.ts) does the rest — faults, timeouts, the attempt log and the retry schedule — the same for every channel.
 */
export interface Transport {
  /** `probe`: sign with a WeChat Pay signature probe instead (notification fault PROBE). */
  request(n: OutboxRow, opts: { probe: boolean }): OutgoingRequest;
  /** Whether the answer acknowledges the notification; `error` says why not when the answer alone does not. */
  verdict(outcome: HttpOutcome): { acked: boolean; error: string | null };
}
