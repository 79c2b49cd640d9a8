import { isPayError, PayError } from '../wxpay';

export interface RetryPolicy {
  /** Retries after the first attempt (0 = no retry). */
  maxRetries: number;
  baseDelayMs: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 2, baseDelayMs: 200 };

/**
 * Retries retryable failures (5xx, FREQUENCY_LIMITED, timeouts) with the *same* input, so the same
 * out_trade_no / out_refund_no is reused — the only safe way to retry a payment call (wxpay-v3.md §1.9).
 * Exponential backoff with full jitter, bounded by maxRetries. The last error carries `detail.attempts`.
 */
export async function withRetry<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const retryable = isPayError(err) && err.retryable;
      if (!retryable || n >= policy.maxRetries) {
        if (isPayError(err) && n > 0) {
          throw new PayError({
            code: err.code,
            message: `${err.message} (after ${n + 1} attempts)`,
            detail: { ...(err.detail ?? {}), attempts: n + 1 },
            ...(err.requestId ? { requestId: err.requestId } : {}),
            ...(err.httpStatus ? { httpStatus: err.httpStatus } : {}),
            retryable: err.retryable,
            cause: err,
          });
        }
        throw err;
      }
      // FREQUENCY_LIMITED asks for a longer pause than a transient 5xx.
      const base = isPayError(err, 'FREQUENCY_LIMITED') ? policy.baseDelayMs * 5 : policy.baseDelayMs;
      await sleep(Math.round(Math.random() * base * 2 ** n));
    }
  }
}
