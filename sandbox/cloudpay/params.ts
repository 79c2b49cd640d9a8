import type { Bills } from '../domain/bills';
import type { SandboxClock } from '../domain/clock';
import type { Merchant } from '../domain/merchant';
import type { Payments } from '../domain/payments';
import type { Refunds } from '../domain/refunds';
import type { SandboxState } from '../state';
import type { CloudPaySettings } from '../state/cloudpay';
import { businessFail, V2Failure } from './v2-errors';

/** What the CloudPay backend answers before the SDK reshapes it: snake_case v2 fields, or a bill body. */
export type RawResult = { kind: 'json'; body: Record<string, unknown> } | { kind: 'bill'; data: string | Buffer };

/** A call's parameters, snake_case as the SDK sends them (case.ts). */
export type Params = Record<string, unknown>;

/** What every CloudPay API handler works with: the shared state and domain, and the v2 answer helpers. */
export interface ApiContext {
  state: Pick<SandboxState, 'transactions' | 'refunds' | 'cloudpay'>;
  clock: SandboxClock;
  merchant: Merchant;
  payments: Payments;
  refunds: Refunds;
  bills: Bills;
  settings: CloudPaySettings;
  /** The v2 answer: the common fields + `fields`, signed with the sandbox v2 key (§2). */
  ok(fields: Record<string, unknown>, subAppid?: string): Record<string, unknown>;
  /** `sub_mch_id` must be the sandbox merchant (service-provider mode, wxpay-v2-cloudpay.md §5.3); returns it. */
  checkSubMch(p: Params): string;
}

export function optString(p: Params, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw paramFail(key, '须为字符串');
}

export function required(p: Params, key: string): string {
  const v = optString(p, key);
  if (v === undefined || v === '') throw businessFail('LACK_PARAMS', `缺少参数${key}`);
  return v;
}

/** An amount in fen: an integer ≥ 1, as a JSON number or a digit string (v2 XML sends strings). */
export function fen(p: Params, key: string): number {
  const v = p[key];
  if (v === undefined || v === null || v === '') throw businessFail('LACK_PARAMS', `缺少参数${key}`);
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw paramFail(key, '须为大于0的整数（单位：分）');
  return n;
}

export function paramFail(key: string, issue: string): V2Failure {
  return businessFail('PARAM_ERROR', `${key}参数错误：${issue}`);
}
