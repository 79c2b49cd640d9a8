import { header, modelSection, ordersSection, settingsSection, TemplateValues } from './common';

/** refund-notify: v3 REFUND.* notifications and CloudPay refund events. No timers, no polling. */
export function refundNotifyTemplate(v: TemplateValues): string {
  return `${header(v, '退款结果回调 (refund result callback)', `
Receives
  - a CloudPay refund event (the functionName given to refund):
    { returnCode, outTradeNo, outRefundNo, refundId, refundFee, totalFee, refundStatus, successTime, ... }
    refundStatus SUCCESS | CHANGE (abnormal) | REFUNDCLOSE; returns { errcode: 0, errmsg };
  - a WeChat Pay APIv3 REFUND.SUCCESS / REFUND.CLOSED / REFUND.ABNORMAL notification through the HTTP
    trigger (the refund notify_url), answered with HTTP 204 once handled.
Does
  - finds the order by its ORDER number (out_trade_no → ${v.fields.orderNo}), not by the refund number;
  - SUCCESS: ${v.fields.status} 3 → 4 and records ${v.fields.refundId}, ${v.fields.refundAmount}, ${v.fields.refundedAt}; if the order is still 2
    (a refund made in the merchant console) it goes 2 → 3 → 4, each step a compare-and-set;
  - CLOSED / ABNORMAL: 3 → 2 (the money did not go back);
  - a result for an order that is still unpaid (it outran the payment notification) is answered
    "deliver again": it applies once the payment is recorded;
  - no timers and no polling here: this notification is the result. Refunds whose result never
    arrives are settled by the reconcile function.
`)}${modelSection(v)}${ordersSection(v, false)}${settingsSection(v)}
exports.main = async (event, context) => {
  if (wxpay.isHttpTriggerEvent(event)) {
    // WeChat Pay APIv3 REFUND.* notification: verify, decrypt, update, answer HTTP 204
    return wxpay.v3RefundNotify(event, orders, kit);
  }
  // CloudPay refund event: update, answer { errcode: 0, errmsg }
  return wxpay.cloudPayRefundNotify(event, orders, kit);
};
`;
}
