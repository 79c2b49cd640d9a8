import { HeaderBag, parseNotification, PayError, WechatpayVerifier } from '../../wxpay';
import type { NotificationEnvelope } from '../../wxpay';
import { CallbackLog, errorMessage, HttpAnswer, httpAck, httpRefused, httpRetry, logRefusal } from './answers';
import { ownText, shapeProblem } from './received';
import { isXmlBody, refuseXmlNotification } from './v2-xml';

export interface OpenV3Options {
  verifier: WechatpayVerifier;
  apiV3Key: string;
  log: CallbackLog;
  kind: 'payment' | 'refund';
  /** The event types this function applies; any other is acknowledged and logged (it is WeChat Pay's, just not ours). */
  handles: (eventType: string) => boolean;
  /** The decrypted resource's schema (schemas/events). */
  schema: 'v3Transaction' | 'v3Refund';
}

/**
 * Opens a v3 notification for a notify function, in the order wxpay-v3.md §4 gives: verify, decrypt, check the
 * data; and answers for it when it cannot be applied:
 * - XML: a v2 notification, refused unread (v2-xml.ts);
 * - a signature that does not verify (or a probe, §3): 401, so WeChat Pay resends a properly signed one;
 * - the function's own APIv3 key unusable: 500, "deliver again" — it works once the key is fixed;
 * - anything else unreadable, an envelope or a decrypted resource that is not what §4 documents (not an object,
 *   a field missing or of another type, a value outside its enum — `refund_status` included): 400, refused. Being
 *   signed, it came from WeChat Pay, but no redelivery will make it applicable, and nothing is read from it.
 * Each refusal leaves one log line; no answer carries an exception's text.
 */
export function openV3Notification<T>(req: { headers: HeaderBag; rawBody: string | Buffer }, o: OpenV3Options): { eventType: string; resource: T } | { answer: HttpAnswer } {
  if (isXmlBody(req.rawBody)) return { answer: refuseXmlNotification(req.rawBody, o.kind, o.log) };
  let envelope: NotificationEnvelope;
  let resource: unknown;
  try {
    ({ envelope, resource } = parseNotification<unknown>({ headers: req.headers, rawBody: req.rawBody, verifier: o.verifier, apiV3Key: o.apiV3Key }));
  } catch (err) {
    if (err instanceof PayError && err.code === 'CONFIG_ERROR') {
      logRefusal(o.log, 'config.error', err.message, null, { retry: true });
      return { answer: httpRetry('the function is not configured to read notifications') };
    }
    if (err instanceof PayError) {
      logRefusal(o.log, 'notification.rejected', err.message, null, { code: err.code });
      return { answer: httpRefused(err.message, err.code === 'SIGN_ERROR' ? 401 : 400) };
    }
    logRefusal(o.log, 'notification.rejected', `unreadable: ${errorMessage(err)}`, null);
    return { answer: httpRefused('the notification could not be read') };
  }
  const envelopeProblem = shapeProblem('v3NotificationEnvelope', envelope);
  if (envelopeProblem) {
    logRefusal(o.log, 'notification.malformed', `envelope: ${envelopeProblem}`, ownText(resource, 'out_trade_no'));
    return { answer: httpRefused(`the notification envelope is malformed: ${envelopeProblem}`) };
  }
  const eventType = envelope.event_type;
  if (!o.handles(eventType)) {
    o.log({ event: 'notification.ignored', eventType, outTradeNo: ownText(resource, 'out_trade_no') });
    return { answer: httpAck() };
  }
  const problem = shapeProblem(o.schema, resource);
  if (problem) {
    logRefusal(o.log, 'notification.malformed', `${eventType} resource: ${problem}`, ownText(resource, 'out_trade_no'));
    return { answer: httpRefused(`the ${o.kind} resource is malformed: ${problem}`) };
  }
  return { eventType, resource: resource as T };
}
