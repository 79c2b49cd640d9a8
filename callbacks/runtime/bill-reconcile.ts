/**
 * The bill reconciliation (reconcile/) in a function, and the fixes it may make: exactly the callbacks' own
 * updates. A payment the bill shows and the orders model does not goes through `applyPaymentSuccess` (amount check,
 * 1 → 2 compare-and-set) as a payment notification would; a refund the bill shows goes through
 * `applyRefundOutcome` (the refund's record, then its order) as a refund notification would. No other writes.
 */
import { toChinaDate } from '../../wxpay';
import type { WedaSdk } from '../../datasources/weda';
import { modelLedger, openedBill, reconcileBill, type BillFixer, type BillReconcileReport } from '../../reconcile';
import type { CallbackLog } from './answers';
import type { FunctionKit } from './function-kit';
import type { OrdersPort } from './orders';
import { applyPaymentSuccess } from './pay-notify';
import { applyRefundOutcome } from './refund-notify';
import type { RefundsPort } from './refunds';

/** The safe fixes, as the callbacks make them. No payer message: the payment is a day old by the time a bill shows it. */
export function callbackFixer(orders: OrdersPort, refunds: RefundsPort, log: CallbackLog, opts: { now?: () => number } = {}): BillFixer {
  return {
    async payment(p) {
      const outcome = await applyPaymentSuccess({ outTradeNo: p.outTradeNo, transactionId: p.transactionId, totalFee: p.totalFee, paidAt: p.paidAt }, orders, log);
      log({ event: 'bill.payment_fix', outTradeNo: p.outTradeNo, outcome: outcome.kind });
      return outcome.kind;
    },
    async refund(r) {
      const outcome = await applyRefundOutcome(
        { outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, status: r.status, refundFee: r.refundFee, ...(r.refundId ? { refundId: r.refundId } : {}) },
        { orders, refunds }, log, opts.now ? { now: opts.now } : {},
      );
      log({ event: 'bill.refund_fix', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, outcome: outcome.kind });
      return outcome.kind;
    },
  };
}

/** What the reconcile function's report lists per kind: the answer stays far below a function's size limit. */
export const FUNCTION_REPORT_ITEMS = 100;

/**
 * The reconcile function's bill run: `{ bill: { date?: 'yyyy-MM-dd', apply?: boolean } }` (a timer's event, or by
 * hand). Without a date, yesterday in China time (bills for day D exist from about 10:00 on D+1, wxpay-v3.md §1.6);
 * fixes are applied unless `apply` is false. `weda` is the function's own (the same the `orders` object calls).
 */
/** The reconcile function's second timer: the day's bill, after WeChat Pay has made it (about 10:00 the next day, wxpay-v3.md §1.6). */
export const BILL_RECONCILE_TRIGGER = { name: 'reconcile-bill', schedule: '0 30 10 * * * *' } as const;

export async function reconcileDayBill(event: unknown, orders: OrdersPort, refunds: RefundsPort, kit: FunctionKit, weda: Pick<WedaSdk, 'callModel'>): Promise<BillReconcileReport> {
  const asked = ((event ?? {}) as { bill?: { date?: unknown; apply?: unknown } }).bill ?? {};
  const billDate = typeof asked.date === 'string' ? asked.date : toChinaDate(kit.now() - 86_400_000);
  const provider = kit.connector().provider;
  const report = await reconcileBill({
    billDate,
    source: provider.kind,
    read: await openedBill(provider, billDate),
    ledger: modelLedger(weda, kit.settings().orders),
    ...(asked.apply === false ? {} : { fix: callbackFixer(orders, refunds, kit.log, { now: kit.now }) }),
    maxItems: FUNCTION_REPORT_ITEMS,
  });
  kit.log({ event: 'bill.reconciled', billDate, counts: report.counts, fixed: report.fixed, needsHuman: report.needsHuman, problems: report.bill.problems });
  return report;
}
