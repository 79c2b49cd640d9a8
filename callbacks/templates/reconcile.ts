import { DEFAULT_RECONCILE_SCHEDULE } from '../runtime/options';
import { reconcileSettings } from '../runtime/reconcile';
import { BILL_RECONCILE_TRIGGER } from '../runtime/bill-reconcile';
import { header, modelSection, ordersSection, refundsSection, settingsSection, TemplateValues } from './common';

/** reconcile: the timer function that settles what callbacks could not. */
export function reconcileTemplate(v: TemplateValues): string {
  const s = reconcileSettings(v.callbacks.reconcile);
  const schedule = v.callbacks.reconcile?.schedule ?? DEFAULT_RECONCILE_SCHEDULE;
  return `${header(v, '定时对账 (reconcile, timer trigger)', `
Runs on the timer "${schedule}" (cloudbaserc.json; sec min hour day month weekday year), and on the timer
"${BILL_RECONCILE_TRIGGER.schedule}" to check yesterday's trade bill against the orders and refunds (fixing what is safe).
Does, for at most ${s.batchSize} of each kind per run, those asked about longest ago first (${v.fields.reconciledAt}; never
asked first), so every order is reached within a bounded number of runs:
  - refunds in PROCESSING (${v.refundsModel}) older than ${s.queryAfterMinutes} minutes → queryRefund: applied exactly as
    refund-notify would (SUCCESS: ${v.fields.status} → 4, or 2 with ${v.fields.refundedAmount}; CLOSED/ABNORMAL: 3 → 2);
  - refunding orders (${v.fields.status} = 3) → queryRefund(${v.fields.refundNo}), the same;
  - unpaid orders (${v.fields.status} = 1) older than ${s.queryAfterMinutes} minutes → queryOrder:
      paid → marked paid exactly as pay-notify would (amount checked, 1 → 2 compare-and-set);
      still NOTPAY after ${s.closeAfterMinutes} minutes → closeOrder, and ${v.fields.closedAt}, ${v.fields.closeReason} are recorded
      (${v.fields.status} stays 1; closed orders are not queried again).
No new order is started after ${s.budgetMs} ms. An error on one is logged and the run goes on; the summary is the
function's return value.
`)}${modelSection(v)}${ordersSection(v, true)}${refundsSection(v, true)}${settingsSection(v)}
exports.main = async (event, context) => {
  // event: { Type: 'Timer', TriggerName, Time } from the timer, or anything when invoked by hand.
  // The '${BILL_RECONCILE_TRIGGER.name}' timer (or { bill: { date: 'yyyy-MM-dd', apply } } by hand) checks a day's trade
  // bill against the orders and refunds instead (yesterday by default).
  if (event && (event.bill || event.TriggerName === '${BILL_RECONCILE_TRIGGER.name}')) {
    return wxpay.reconcileDayBill(event, orders, refunds, kit, weda);
  }
  return wxpay.reconcileOrders(event, orders, refunds, kit);
};
`;
}
