/**
 * WeChat Pay v2 notifications are XML; the notify functions read APIv3 notifications (signed JSON) and CloudPay
 * events, so XML reaching one is refused unread, with one log line that tells the operator what it was and what to do.
 *
 * Where it comes from: a refund made in the merchant platform (商户平台) is notified in v2 XML to the refund notify
 * URL even for APIv3 merchants (peers.md §3.4): `<xml>` with `return_code, appid, mch_id, nonce_str, req_info`, no
 * signature, `req_info` = AES-256-ECB under MD5(APIv2 key) (wxpay-v2-cloudpay.md §3.2). Its authenticity rests only
 * on that key, and which order and refund it is about is inside `req_info`. The configuration holds no APIv2 key
 * (APIv3 merchants sign with RSA and decrypt with the APIv3 key), so the function cannot read it, let alone trust
 * it: it changes nothing and says so. The operator records such a refund through the refunds model, where reconcile
 * confirms it with queryRefund (see callbacks/README.md "Refunds made in the merchant platform").
 *
 * No XML parser runs here (XXE, peers.md §3.6): a body with a DTD is not looked into at all; otherwise two envelope
 * tags are picked out by a pattern that matches plain ids only, for the log line.
 */
import type { CallbackLog, HttpAnswer } from './answers';
import { httpRefused, logRefusal } from './answers';

/** True when the body is XML (its first character after any BOM and white space is `<`). */
export function isXmlBody(raw: string | Buffer): boolean {
  // A v3 notification starts with `{`, which can be neither a BOM, white space nor `<`: no need to decode it.
  if ((typeof raw === 'string' ? raw.charCodeAt(0) : raw[0]) === 0x7b) return false;
  const text = typeof raw === 'string' ? raw.slice(0, 64) : raw.subarray(0, 64).toString('utf8');
  return /^\uFEFF?\s*</.test(text);
}

/** The envelope ids of a v2 notification, if they are plain ids; nothing else is read. */
function envelopeTag(text: string, tag: 'mch_id' | 'appid'): string | null {
  const m = new RegExp(`<${tag}>\\s*(?:<!\\[CDATA\\[([0-9A-Za-z_]{1,32})\\]\\]>|([0-9A-Za-z_]{1,32}))\\s*</${tag}>`).exec(text);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

/** Refuses an XML body at a notify function (HTTP 400: WeChat Pay counts any non-success reply as "not received", §3.1). */
export function refuseXmlNotification(raw: string | Buffer, kind: 'payment' | 'refund', log: CallbackLog): HttpAnswer {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (/<!(?:DOCTYPE|ENTITY)/i.test(text)) {
    logRefusal(log, 'notification.xml_refused', 'XML with a DTD (<!DOCTYPE / <!ENTITY): never read (XXE, peers.md §3.6); WeChat Pay sends none', null);
    return httpRefused('XML with a DTD is not accepted');
  }
  const ids = { mchId: envelopeTag(text, 'mch_id'), appid: envelopeTag(text, 'appid'), reqInfo: /<req_info>/.test(text) };
  if (kind === 'refund' && ids.reqInfo) {
    logRefusal(log, 'notification.v2_refund_refused',
      'a WeChat Pay v2 refund notification (XML, req_info encrypted with the APIv2 key): a refund made in the merchant platform (商户平台) is notified this way even to APIv3 merchants. This app holds no APIv2 key, so it cannot read (or trust) which order was refunded: nothing was changed',
      null,
      {
        ...ids,
        todo: 'find the refund in 商户平台 (交易中心 → 退款管理); to record it, create a record in the refunds model with refundNo = its 商户退款单号, orderNo = its 商户订单号, amount (fen), status PROCESSING: reconcile confirms it with queryRefund and applies it to the order. Refund through the app (requestRefund) to have results arrive as APIv3 notifications',
      });
    return httpRefused('v2 (XML) refund notifications are not read here: see the function log');
  }
  logRefusal(log, 'notification.xml_refused', `a WeChat Pay v2 (XML) ${kind} notification: this function reads APIv3 notifications (signed JSON) only; nothing was changed`, null, ids);
  return httpRefused('v2 (XML) notifications are not read here: see the function log');
}
