/**
 * The reconcile timer function: what the callbacks could not settle, settled by asking WeChat Pay.
 * - Lost payment callbacks (掉单, peers.md §3.8): unpaid orders older than `queryAfterMinutes` →
 *   queryOrder → paid (SUCCESS, or REFUND: it was paid, then refunded) → marked paid through the same
 *   `applyPaymentSuccess` as the callbacks (amount check included); still NOTPAY and older than
 *   `closeAfterMinutes` → closeOrder (never before 5 minutes: wxpay-v2-cloudpay.md §7) and `closedAt`
 *   recorded. The status stays 1 (there is no "closed" status in the 1–4 contract); `closedAt` is the
 *   marker, and closed orders are not queried again. A payment that still arrives later is applied as usual.
 * - Refunds whose result never arrived (peers.md §3.9): refunding orders (status 3) not touched for
 *   `queryAfterMinutes` → queryRefund(refundNo) → SUCCESS 3→4, CLOSED/ABNORMAL 3→2, via `applyRefundOutcome`.
 * Each run takes at most `batchSize` orders of each kind and stops starting new ones after `budgetMs`; an
 * error on one order is recorded in the summary and the run goes on with the next.
 */
import { PayError, parseWechatTime } from '../../wxpay';
import type { QueryOrderOutput, QueryRefundOutput } from '../../schemas/types.generated';
import { CallbackLog, errorMessage } from './answers';
import { OrdersPort, OrderRecord, markWhile } from './orders';
import { OrderStatus } from '../../datasources/order-status';
import { applyPaymentSuccess } from './pay-notify';
import type { PayerNotifier } from './payer-message';
import { applyRefundOutcome, refundFactsFromQuery } from './refund-notify';

/** WeChat Pay asks for at least 5 minutes between creating and closing an order. */
export const MIN_CLOSE_AFTER_MINUTES = 5;

export interface ReconcileSettings {
  /** Unpaid orders at least this old are queried (default 5). */
  queryAfterMinutes?: number;
  /** NOTPAY orders at least this old are closed (default 30, never below 5). Keep it ≥ the orders' time_expire. */
  closeAfterMinutes?: number;
  /** Orders of each kind per run (default 50, at most 200). */
  batchSize?: number;
  /** No new order is started after this much time in one run (default 40 s; the function timeout is 60 s). */
  budgetMs?: number;
}

/** The three connector methods reconcile uses (`createConnector(...).call` fits). */
export interface ReconcileConnector {
  call(methodName: 'queryOrder' | 'closeOrder' | 'queryRefund', params: Record<string, unknown>): Promise<unknown>;
}

export interface ReconcileDeps {
  orders: OrdersPort;
  connector: ReconcileConnector;
  log: CallbackLog;
  settings?: ReconcileSettings;
  now?: () => number;
  notifyPayer?: PayerNotifier;
}

export interface ReconcileSummary {
  startedAt: string;
  unpaid: { checked: number; paid: number; closed: number; pending: number; mismatched: number };
  refunding: { checked: number; refunded: number; reverted: number; pending: number; skipped: number };
  errors: Array<{ orderNo: string; step: string; code?: string; message: string }>;
  /** True when the time budget ran out before the batch was done (the rest wait for the next run). */
  truncated: boolean;
}

export function reconcileSettings(s: ReconcileSettings = {}): Required<ReconcileSettings> {
  const closeAfter = s.closeAfterMinutes ?? 30;
  return {
    queryAfterMinutes: s.queryAfterMinutes ?? 5,
    closeAfterMinutes: Math.max(MIN_CLOSE_AFTER_MINUTES, closeAfter),
    batchSize: Math.min(200, Math.max(1, Math.floor(s.batchSize ?? 50))),
    budgetMs: s.budgetMs ?? 40_000,
  };
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const settings = reconcileSettings(deps.settings);
  const now = deps.now ?? Date.now;
  const started = now();
  const clock = Date.now();
  const { orders, log } = deps;
  const f = orders.fields;
  if (!orders.list) throw new Error('reconcile needs an orders model that can list orders');
  const summary: ReconcileSummary = {
    startedAt: new Date(started).toISOString(),
    unpaid: { checked: 0, paid: 0, closed: 0, pending: 0, mismatched: 0 },
    refunding: { checked: 0, refunded: 0, reverted: 0, pending: 0, skipped: 0 },
    errors: [],
    truncated: false,
  };
  const outOfTime = () => {
    if (Date.now() - clock <= settings.budgetMs) return false;
    summary.truncated = true;
    return true;
  };
  const fail = (orderNo: string, step: string, err: unknown) => {
    const code = err instanceof PayError ? err.code : (err as { code?: unknown })?.code;
    summary.errors.push({ orderNo, step, ...(typeof code === 'string' ? { code } : {}), message: errorMessage(err) });
    log({ event: 'reconcile.error', outTradeNo: orderNo, step, code, reason: errorMessage(err) });
  };

  // 1. Unpaid orders: was the callback lost? Is it time to close?
  const unpaid = await orders.list({ status: OrderStatus.UNPAID, timeField: 'createdAt', before: started - settings.queryAfterMinutes * 60_000, notClosed: true, limit: settings.batchSize });
  for (const order of unpaid) {
    if (outOfTime()) break;
    const orderNo = String(order[f.orderNo]);
    summary.unpaid.checked++;
    try {
      const result = await settleUnpaid(order, orderNo);
      summary.unpaid[result]++;
    } catch (err) {
      fail(orderNo, 'unpaid', err);
    }
  }

  // 2. Refunding orders: did the refund result get lost?
  const refunding = await orders.list({ status: OrderStatus.REFUNDING, timeField: 'updatedAt', before: started - settings.queryAfterMinutes * 60_000, limit: settings.batchSize });
  for (const order of refunding) {
    if (outOfTime()) break;
    const orderNo = String(order[f.orderNo]);
    summary.refunding.checked++;
    const refundNo = order[f.refundNo];
    if (typeof refundNo !== 'string' || refundNo === '') {
      // v3 can only look a refund up by its number; without it there is nothing to ask.
      log({ event: 'reconcile.refund_without_number', outTradeNo: orderNo });
      summary.refunding.skipped++;
      continue;
    }
    try {
      const q = (await deps.connector.call('queryRefund', { outRefundNo: refundNo })) as QueryRefundOutput;
      const outcome = await applyRefundOutcome(refundFactsFromQuery(q), orders, log);
      if (outcome.kind === 'refunded') summary.refunding.refunded++;
      else if (outcome.kind === 'reverted') summary.refunding.reverted++;
      else if (outcome.kind === 'pending') summary.refunding.pending++;
      else summary.refunding.skipped++;
    } catch (err) {
      fail(orderNo, 'refunding', err);
    }
  }
  log({ event: 'reconcile.done', ...summary, errors: summary.errors.length });
  return summary;

  async function settleUnpaid(order: OrderRecord, orderNo: string): Promise<'paid' | 'closed' | 'pending' | 'mismatched'> {
    const createdAt = Number(order.createdAt);
    const closable = Number.isFinite(createdAt) && started - createdAt >= settings.closeAfterMinutes * 60_000;
    let q: QueryOrderOutput;
    try {
      q = (await deps.connector.call('queryOrder', { outTradeNo: orderNo })) as QueryOrderOutput;
    } catch (err) {
      // The row exists but no order was ever placed with WeChat Pay (unifiedOrder failed or never ran), or its
      // number is one WeChat Pay refuses, so it never could be: once old enough it is closed like any other,
      // instead of taking a place in every batch forever.
      const neverPlaced = err instanceof PayError && (err.code === 'ORDER_NOT_EXIST' || (err.code === 'PARAM_ERROR' && err.detail?.field === 'outTradeNo'));
      if (neverPlaced) {
        if (!closable) return 'pending';
        await markWhile(orders, orderNo, OrderStatus.UNPAID, { [f.closedAt]: now() });
        log({ event: 'reconcile.closed', outTradeNo: orderNo, reason: err.code === 'ORDER_NOT_EXIST' ? 'never placed with WeChat Pay' : `WeChat Pay refuses this order number: ${err.message}` });
        return 'closed';
      }
      throw err;
    }
    if (q.tradeState === 'SUCCESS' || q.tradeState === 'REFUND') return markPaid(q);
    if (q.tradeState === 'CLOSED' || q.tradeState === 'REVOKED' || q.tradeState === 'PAYERROR') {
      await markWhile(orders, orderNo, OrderStatus.UNPAID, { [f.closedAt]: now() });
      log({ event: 'reconcile.closed', outTradeNo: orderNo, reason: `WeChat Pay says ${q.tradeState}` });
      return 'closed';
    }
    if (q.tradeState !== 'NOTPAY' || !closable) return 'pending';
    try {
      await deps.connector.call('closeOrder', { outTradeNo: orderNo });
    } catch (err) {
      if (err instanceof PayError && err.code === 'ORDER_PAID') {
        // Paid between the query and the close: record the payment now.
        return markPaid((await deps.connector.call('queryOrder', { outTradeNo: orderNo })) as QueryOrderOutput);
      }
      if (!(err instanceof PayError && err.code === 'ORDER_CLOSED')) throw err;
    }
    await markWhile(orders, orderNo, OrderStatus.UNPAID, { [f.closedAt]: now() });
    log({ event: 'reconcile.closed', outTradeNo: orderNo, reason: `NOTPAY for ${Math.round((started - createdAt) / 60_000)} minutes` });
    return 'closed';
  }

  async function markPaid(q: QueryOrderOutput): Promise<'paid' | 'pending' | 'mismatched'> {
    const outcome = await applyPaymentSuccess(
      {
        outTradeNo: q.outTradeNo,
        transactionId: q.transactionId ?? '',
        totalFee: q.totalFee,
        paidAt: parseWechatTime(q.successTime) ?? now(),
        ...(q.openid ? { openid: q.openid } : {}),
      },
      orders,
      log,
      deps.notifyPayer ? { notifyPayer: deps.notifyPayer } : {},
    );
    if (outcome.kind === 'paid' || outcome.kind === 'duplicate') {
      log({ event: 'reconcile.paid', outTradeNo: q.outTradeNo, note: 'payment found by queryOrder (the callback was lost or late)' });
      return 'paid';
    }
    if (outcome.kind === 'amount-mismatch') return 'mismatched';
    return 'pending';
  }
}
