/**
 * The two acknowledgement contracts.
 * - CloudPay calls a cloud function and redelivers unless it returns `{ errcode: 0, errmsg }`
 *   (wxpay-v2-cloudpay.md §5.4–5.5; any other shape, a throw or a timeout means "again").
 * - v3 POSTs to a URL and redelivers unless it gets HTTP 200/204 (wxpay-v3.md §4).
 * Only a failure that will go away (the data store was unreachable, the order is not yet in a state the
 * event applies to) is answered "again"; what is permanent about the order (unknown, amount mismatch) is logged
 * and acknowledged, so WeChat Pay does not resend a hopeless event 15 times; what is wrong with the message
 * itself (malformed, forged, contradicted by WeChat Pay) is refused (`cloudPayRefused`, `httpRefused`) and logged.
 * An answer never carries an exception's text: that goes to the log.
 */
export interface CloudPayAnswer {
  errcode: number;
  errmsg: string;
}

export const cloudPayAck = (errmsg = 'OK'): CloudPayAnswer => ({ errcode: 0, errmsg });
/** Non-zero: CloudPay delivers the event again later. */
export const cloudPayRetry = (errmsg: string): CloudPayAnswer => ({ errcode: 1, errmsg });
/**
 * Refused: not CloudPay's event, or one WeChat Pay's own answer contradicts. Non-zero too, deliberately: CloudPay
 * redelivers only what it delivered itself, for at most two days (wxpay-v2-cloudpay.md §5.4–5.5, weda-import.md §4),
 * so a forged event — a direct invocation — is never redelivered whatever it is answered, and its sender is told
 * it was not accepted; while if a genuine delivery is ever refused (a CloudPay shape this function does not know
 * yet), the redeliveries leave the operator time to see the log line and update the function.
 */
export const cloudPayRefused = (reason: string): CloudPayAnswer => ({ errcode: 1, errmsg: `refused: ${reason}` });

export interface HttpAnswer {
  status: number;
  body?: { code: string; message: string };
}

export const httpAck = (): HttpAnswer => ({ status: 204 });
export const httpRetry = (message: string, status = 500): HttpAnswer => ({ status, body: { code: 'FAIL', message } });
/**
 * Refused for what the notification is, not for the state of this function: 4xx (wxpay-v3.md §4: WeChat Pay reads
 * the status only, and retries any failure on its schedule; a 4xx says the message is at fault, a 5xx that the
 * receiver is). The message names the rule broken, never an exception's text.
 */
export const httpRefused = (message: string, status = 400): HttpAnswer => ({ status, body: { code: 'FAIL', message: clip(message) } });

export type CallbackLog = (event: Record<string, unknown>) => void;

/**
 * The one log line of every answer that is not an acknowledgement — a refusal, or a "deliver again" (`retry: true`
 * in `extra`): what it was (`event`), why (`reason`), and the order number the input names (`outTradeNo`, null when
 * it names none, or none that can be trusted to be one), so the operator can find every refusal of an order.
 */
export function logRefusal(log: CallbackLog, event: string, reason: string, outTradeNo: string | null, extra: Record<string, unknown> = {}): void {
  const core = { event, refused: true, reason: clip(reason), outTradeNo };
  // `extra` adds to the line, never replaces what makes it a refusal line.
  log({ ...core, ...extra, ...core });
}

/** One JSON line per event on stdout (CloudBase keeps function logs; the seed logged the raw event). */
export const jsonLineLog = (source: string): CallbackLog => (event) => {
  console.log(JSON.stringify({ source, time: new Date().toISOString(), ...event }));
};

/** A reason or message that may carry what a sender chose (a header, a field): bounded, so it cannot flood a log line. */
function clip(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
