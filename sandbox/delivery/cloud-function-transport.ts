import { clip } from '../state/db';
import type { CloudPayStore } from '../state/cloudpay';
import { OutboxRow, parseCloudFunctionUri } from '../state/outbox';
import type { HttpOutcome } from './post';
import { OutgoingRequest, Transport } from './transport';

/**
 * The `cloud-function` channel, as CloudPay calls back (wxpay-v2-cloudpay.md §5.4–5.5): the event JSON is the
 * function's `event`, and only a returned `{errcode: 0}` acknowledges it. Anything else — `{return_code:
 * 'SUCCESS'}` (Tencent's own old demo, peers.md §3.2), `true`, a non-JSON answer, an HTTP error, no answer within
 * the timeout, or a function nobody registered — is a failure. A "cloud function" is a local http:// URL registered
 * for (envId, functionName) (`POST /sandbox/cloudpay/functions`); invoking it is POSTing the event and reading the
 * JSON result. The registry is read at every attempt, so a function registered late is reached by the next retry.
 */
export class CloudFunctionTransport implements Transport {
  constructor(private readonly functions: Pick<CloudPayStore, 'findFunction'>) {}

  request(n: OutboxRow): OutgoingRequest {
    const headers = { 'Content-Type': 'application/json' };
    const target = parseCloudFunctionUri(n.url);
    const fn = target && this.functions.findFunction(target.envId, target.functionName);
    if (!fn) {
      const name = target ? `${target.functionName} registered in env ${target.envId}` : `at ${n.url}`;
      return { url: null, headers, body: n.payload, error: `FUNCTION_NOT_FOUND: no cloud function ${name} (POST /sandbox/cloudpay/functions)` };
    }
    const bad = functionUrlProblem(fn.url);
    return { url: fn.url, headers, body: n.payload, ...(bad ? { error: `bad function URL: ${bad}` } : {}) };
  }

  verdict(outcome: HttpOutcome): { acked: boolean; error: string | null } {
    if (outcome.error !== null) return { acked: false, error: outcome.error };
    return isAck(outcome.statusCode, outcome.responseBody) ? { acked: true, error: null } : { acked: false, error: notAckReason(outcome.statusCode, outcome.responseBody) };
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

/** Only plain http:// URLs on this machine are functions here. */
function functionUrlProblem(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch (err) {
    return (err as Error).message;
  }
  return protocol === 'http:' ? undefined : `only http:// function URLs are supported, got ${protocol}`;
}
