/**
 * The two acknowledgement contracts.
 * - CloudPay calls a cloud function and redelivers unless it returns `{ errcode: 0, errmsg }`
 *   (wxpay-v2-cloudpay.md §5.4–5.5; any other shape, a throw or a timeout means "again").
 * - v3 POSTs to a URL and redelivers unless it gets HTTP 200/204 (wxpay-v3.md §4).
 * Only a failure that will go away (the data store was unreachable, the order is not yet in a state the
 * event applies to) is answered "again"; everything permanent is logged and acknowledged, so WeChat Pay
 * does not resend a hopeless event 15 times.
 */
export interface CloudPayAnswer {
  errcode: number;
  errmsg: string;
}

export const cloudPayAck = (errmsg = 'OK'): CloudPayAnswer => ({ errcode: 0, errmsg });
/** Non-zero: CloudPay delivers the event again later. */
export const cloudPayRetry = (errmsg: string): CloudPayAnswer => ({ errcode: 1, errmsg });

export interface HttpAnswer {
  status: number;
  body?: { code: string; message: string };
}

export const httpAck = (): HttpAnswer => ({ status: 204 });
export const httpRetry = (message: string, status = 500): HttpAnswer => ({ status, body: { code: 'FAIL', message } });

export type CallbackLog = (event: Record<string, unknown>) => void;

/** One JSON line per event on stdout (CloudBase keeps function logs; the seed logged the raw event). */
export const jsonLineLog = (source: string): CallbackLog => (event) => {
  console.log(JSON.stringify({ source, time: new Date().toISOString(), ...event }));
};

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
