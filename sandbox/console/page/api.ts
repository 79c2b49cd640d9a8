/** The control API as the console sees it (sandbox/http/control-routes.ts): same-origin, JSON, `{code, message}` errors. */

export interface Settings {
  provider: 'v3' | 'cloudpay' | null;
  devServerUrl: string | null;
  refundNotifyUrl: string | null;
}

export interface PayAttempt {
  result: string;
  at: string;
  message?: string;
}

export interface Transaction {
  out_trade_no: string;
  transaction_id?: string;
  trade_state: string;
  amount: { total: number; currency: string };
  _sandbox: { description: string; notify_url: string; created_at: string; expires_at: string | null; auto_close_at: string | null; last_pay_attempt: PayAttempt | null };
}

export interface Refund {
  out_refund_no: string;
  refund_id: string;
  out_trade_no: string;
  status: string;
  create_time: string;
  amount: { refund: number; total: number };
  _sandbox: { notify_url: string; settle_at: string | null; source: string; reason: string | null };
}

export interface Attempt {
  attempt: number;
  at: string;
  url: string | null;
  statusCode: number | null;
  acked: boolean;
  latencyMs: number;
  error?: string;
  fault?: string;
  /** Detail only: what was sent and what came back. */
  request?: { headers: Record<string, string>; body: string };
  response?: { statusCode: number | null; headers: Record<string, string> | null; body: string | null };
}

export interface Notification {
  id: string;
  kind: 'v3' | 'cloudpay';
  channel: 'http' | 'cloud-function';
  event_type: string;
  url: string;
  out_trade_no: string | null;
  out_refund_no?: string;
  create_time: string;
  status: 'pending' | 'delivered' | 'failed';
  fault?: string;
  held?: boolean;
  nextRetryAt: string | null;
  attempts: Attempt[];
  /** Detail only: the v3 resource before encryption, or the CloudPay event. */
  plaintext?: unknown;
}

export interface LoggedRequest {
  seq: number;
  requestId: string;
  method: string;
  path: string;
  url: string;
  status: number;
  code?: string;
  fault?: string;
  at: string;
  durationMs: number;
  requestBody: string | null;
  responseBody: string | null;
}

export interface Fault {
  id: number;
  kind: string;
  target: string;
  method?: string;
  path?: string;
  event_type?: string;
  ms?: number;
  seconds?: number;
  remaining: number;
  created_at: string;
}

/** A refused control call: the sandbox's `code: message`. */
export class ControlError extends Error {}

async function failure(res: Response): Promise<ControlError> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  return new ControlError(`${body.code ? `${body.code}: ` : ''}${body.message ?? `HTTP ${res.status}`}`);
}

export async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    cache: 'no-store',
    ...(body !== undefined ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A file as served, bytes untouched (the trade bill keeps its UTF-8 BOM, which spreadsheets rely on). */
export async function fetchFile(url: string): Promise<{ blob: Blob; filename: string }> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw await failure(res);
  const disposition = res.headers.get('Content-Disposition') ?? '';
  return { blob: await res.blob(), filename: /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'download' };
}
