import { SandboxClock } from '../clock';
import { clip } from '../state';
import { DeliveryLoop, nextAfterAttempt, postWithDeadline } from '../delivery-loop';
import { CloudPayStore, DeliveryRow } from './store';

export interface DelivererDeps {
  store: CloudPayStore;
  clock: SandboxClock;
  /** The sandbox's notification retry schedule (seconds on the sandbox clock), shared with v3 notifications. */
  retryScheduleSeconds: readonly number[];
  /** An invocation slower than this is a failure (the sandbox's notify timeout). */
  timeoutMs: number;
  log: (line: string) => void;
  tickMs?: number;
  concurrency?: number;
}

interface Outcome {
  url: string | null;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
}


/**
 * Invokes the callback cloud functions the way CloudPay does (wxpay-v2-cloudpay.md §5.4–5.5): the event JSON is
 * the function's `event`, and only a returned `{errcode: 0}` acknowledges it. Anything else — `{return_code:
 * 'SUCCESS'}` (Tencent's own old demo, peers.md §3.2), `true`, a non-JSON answer, an HTTP error, no answer within
 * the timeout, or a function nobody registered — is a failure, redelivered on the v3 retry schedule measured on
 * the sandbox clock. A "cloud function" is a local HTTP URL registered for (envId, functionName); invoking it
 * is POSTing the event and reading the JSON result.
 */
export class CloudFunctionDeliverer {
  private readonly loop: DeliveryLoop<DeliveryRow>;

  constructor(private readonly d: DelivererDeps) {
    // clock, log, tickMs, concurrency come straight from the deps.
    this.loop = new DeliveryLoop({ ...d, name: 'cloudpay', due: (now, limit) => d.store.due(now, limit), deliver: (n, signal) => this.deliver(n, signal) });
  }

  start(): void { this.loop.start(); }
  kick(): void { this.loop.kick(); }
  /** Aborted invocations are not attempts: they stay due and go out again after a restart. */
  stop(): Promise<void> { return this.loop.stop(); }

  private async deliver(n: DeliveryRow, signal: AbortSignal): Promise<void> {
    const at = this.d.clock.now();
    const fn = this.d.store.findFunction(n.env_id, n.function_name);
    const started = performance.now();
    const outcome: Outcome = fn
      ? { url: fn.url, ...(await invoke(fn.url, n.event_json, this.d.timeoutMs, signal)) }
      : { url: null, statusCode: null, responseBody: null, error: `FUNCTION_NOT_FOUND: no cloud function ${n.function_name} registered in env ${n.env_id} (POST /sandbox/cloudpay/functions)` };
    if (signal.aborted) return;
    const latencyMs = Math.round(performance.now() - started);
    const acked = outcome.error === null && isAck(outcome.statusCode, outcome.responseBody);
    const attemptNo = this.d.store.attemptCount(n.id) + 1;
    const next = nextAfterAttempt(acked, attemptNo, this.d.retryScheduleSeconds, at);
    const error = outcome.error ?? (acked ? null : notAckReason(outcome.statusCode, outcome.responseBody));
    this.d.store.recordAttempt({ delivery_id: n.id, at, url: outcome.url, status_code: outcome.statusCode, latency_ms: latencyMs, error, response_body: clip(outcome.responseBody) }, next);
    this.d.log(`cloudpay ${n.kind} ${n.id} → ${n.env_id}/${n.function_name}: attempt ${attemptNo} ${acked ? 'acked' : error} in ${latencyMs} ms → ${next.status}`);
  }
}

/** The function's result acknowledges the event only if it is a JSON object whose `errcode` is the number 0. */
export function isAck(statusCode: number | null, body: string | null): boolean {
  if (statusCode === null || statusCode < 200 || statusCode > 299 || body === null) return false;
  try {
    const result = JSON.parse(body) as unknown;
    return typeof result === 'object' && result !== null && !Array.isArray(result) && (result as { errcode?: unknown }).errcode === 0;
  } catch {
    return false;
  }
}

function notAckReason(statusCode: number | null, body: string | null): string {
  if (statusCode === null) return 'no answer';
  if (statusCode < 200 || statusCode > 299) return `function failed: HTTP ${statusCode}`;
  return `function returned ${body === null || body === '' ? 'nothing' : clip(body, 200)}, not {errcode: 0}`;
}

/** POSTs the event as the function's input; only plain http:// URLs on this machine are functions here. */
async function invoke(url: string, event: string, timeoutMs: number, signal: AbortSignal): Promise<Omit<Outcome, 'url'>> {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch (err) {
    return { statusCode: null, responseBody: null, error: `bad function URL: ${(err as Error).message}` };
  }
  if (protocol !== 'http:') return { statusCode: null, responseBody: null, error: `bad function URL: only http:// function URLs are supported, got ${protocol}` };
  const { statusCode, responseBody, error } = await postWithDeadline(url, event, { 'Content-Type': 'application/json' }, timeoutMs, signal);
  return { statusCode, responseBody, error };
}
