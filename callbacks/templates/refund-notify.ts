import { header, modelSection, ordersSection, refundsSection, settingsSection, TemplateValues } from './common';

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
  - finds the order by its ORDER number (out_trade_no → ${v.fields.orderNo}), and the refund by its refund number
    in the ${v.refundsModel} model (one record per refund: an order may have up to 50); the refund's record moves on
    only from the status it had (compare-and-set), so a duplicate never counts twice;
  - SUCCESS: ${v.fields.refundedAmount} = the sum of the order's successful refunds; ${v.fields.status} 3 → 4 when that is the
    whole ${v.fields.amount}, else 3 → 2 (partly refunded, can be refunded again); records ${v.fields.refundId}, ${v.fields.refundAmount},
    ${v.fields.refundedAt}; a refund the order had not counted (made in the merchant console) goes 2 → 3 → on;
  - CLOSED / ABNORMAL: 3 → 2 (the money did not go back);
  - a result for an order that is still unpaid (it outran the payment notification) is answered
    "deliver again": it applies once the payment is recorded;
  - CloudPay events are checked with queryRefund first, and what is written (refund id, amount, time)
    is queryRefund's answer; malformed events, events not invoked by CloudPay or contradicted by
    queryRefund, and v2 XML notifications (refunds made in the merchant platform) are refused and logged;
  - no timers and no polling here: this notification is the result. Refunds whose result never
    arrives are settled by the reconcile function.
`)}${modelSection(v)}${ordersSection(v, false)}${refundsSection(v, false)}${settingsSection(v)}
exports.main = async (event, context) => {
  if (wxpay.isHttpTriggerEvent(event)) {
    // WeChat Pay APIv3 REFUND.* notification: verify, decrypt, update, answer HTTP 204
    return wxpay.v3RefundNotify(event, orders, refunds, kit);
  }
  // CloudPay refund event: confirm with queryRefund, update, answer { errcode: 0, errmsg }
  return wxpay.cloudPayRefundNotify(event, orders, refunds, kit, context);
};
`;
}
