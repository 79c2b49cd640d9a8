import { header, modelSection, ordersSection, settingsSection, TemplateValues } from './common';

/** pay-notify: CloudPay payment events and v3 TRANSACTION.SUCCESS notifications. */
export function payNotifyTemplate(v: TemplateValues): string {
  return `${header(v, '支付结果回调 (payment result callback)', `
Receives
  - a CloudPay payment event (this is the functionName given to unifiedOrder):
    { returnCode, resultCode, outTradeNo, transactionId, totalFee, subOpenid, timeEnd, ... }
    and returns { errcode: 0, errmsg }; anything else makes CloudPay deliver the event again;
  - a WeChat Pay APIv3 TRANSACTION.SUCCESS notification through the HTTP trigger (the notify_url),
    answered with HTTP 204 once handled (signature verified and resource decrypted first).
Does
  - finds the order by ${v.fields.orderNo} (order number) and checks that the amount paid for equals its
    ${v.fields.amount}; then sets ${v.fields.status} 1 → 2 only if it is still 1 (compare-and-set), so the ~15 repeated
    deliveries of one payment change the order once;
  - CloudPay events are checked with queryOrder before an order is marked paid (anyone able to call
    this function could send one), and what is written (transaction, payer, time) is queryOrder's answer;
    an event that is malformed, not invoked by CloudPay, or contradicted by queryOrder is refused and logged;
  - unknown orders and amount mismatches are logged and acknowledged (they will not get better);
    a data-model failure, or a payment queryOrder does not show yet, is answered "deliver again".${v.callbacks.payerMessage ? `
  - after a payment is recorded, sends the payer the subscribe message ${v.callbacks.payerMessage.templateId}
    (a failure to send is logged and never fails the callback).` : ''}
`)}${modelSection(v)}${ordersSection(v, false)}${settingsSection(v)}
exports.main = async (event, context) => {
  if (wxpay.isHttpTriggerEvent(event)) {
    // WeChat Pay APIv3 notification: verify, decrypt, check, update, answer HTTP 204
    // (401 / 400: refused, nothing read from it; 500 only if the store failed)
    return wxpay.v3PayNotify(event, orders, kit);
  }
  // CloudPay payment event: confirm with queryOrder, update, answer { errcode: 0, errmsg }
  // (non-zero: refused, or "deliver again" while WeChat Pay does not show the payment yet or the store failed)
  return wxpay.cloudPayPayNotify(event, orders, kit, context);
};
`;
}
