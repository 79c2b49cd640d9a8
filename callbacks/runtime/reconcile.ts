/**
 * The reconcile timer function: what the callbacks could not settle, settled by asking WeChat Pay.
 * - Refunds whose result never arrived (peers.md §3.9): refunds in PROCESSING in the refunds model, whatever
 *   their order's status, → queryRefund(refundNo) → `applyRefundOutcome` (SUCCESS: the order → 4, or back to 2
 *   with the refunded total; CLOSED/ABNORMAL: 3 → 2). A refund WeChat Pay has no record of (the request never
 *   reached it) is closed, with the reason in failReason.
 * - Refunding orders (status 3) with no refund in PROCESSING to ask about (orders from before the refunds model,
 *   or whose own update was lost) → queryRefund(the order's refundNo) → the same.
 * - Lost payment callbacks (掉单, peers.md §3.8): unpaid orders older than `queryAfterMinutes` → queryOrder →
 *   paid (SUCCESS, or REFUND: it was paid, then refunded) → marked paid through the same `applyPaymentSuccess`
 *   as the callbacks (amount check included); still NOTPAY and older than `closeAfterMinutes` → closeOrder
 *   (never before 5 minutes: wxpay-v2-cloudpay.md §7). A closed order keeps status 1 (the 1–4 contract has no
 *   "closed"); `closedAt` and `closeReason` say it is closed, and closed orders are not queried again. A payment
 *   that still arrives later is applied as usual.
 *
 * Every order and refund is reached within a bounded number of runs: each one reconcile asks about gets
 * `reconciledAt` (the time it asked), and each list takes the ones asked longest ago first (never asked first).
 * So an order that stays unsettled (a cart the payer abandoned, a refund still processing, an error) goes to the
 * back instead of taking the same place in every batch: with B per run, N of a kind are all asked within ⌈N/B⌉ runs.
 * Each run takes at most `batchSize` of each kind and starts nothing new after `budgetMs` (real time: the
 * function's timeout is); an error on one is recorded in the summary and the run goes on with the next.
 * Ages are measured on `now` (the sandbox clock locally, the real clock on CloudBase).
 */
import { PayError, parseWechatTime } from '../../wxpay';
import type { QueryOrderOutput, QueryRefundOutput } from '../../schemas/types.generated';
import { CallbackLog, errorMessage } from './answers';
import { OrdersPort, OrderRecord, markWhile } from './orders';
import { OrderStatus, type CloseReason } from '../../datasources/order-status';
import { applyPaymentSuccess } from './pay-notify';
import type { PayerNotifier } from './payer-message';
import { applyRefundOutcome, refundFactsFromQuery, type RefundFacts, type RefundOutcome } from './refund-notify';
import type { RefundsPort } from './refunds';

/** WeChat Pay asks for at least 5 minutes between creating and closing an order. */
export const MIN_CLOSE_AFTER_MINUTES = 5;

/**
 * A refund WeChat Pay has no record of is closed only when asked for longer ago than any refund request can take
 * to reach it (the connector's timeout, at most 60 s, times at most 6 attempts, plus backoff).
 */
export const UNKNOWN_REFUND_CLOSE_AFTER_MINUTES = 10;

export interface ReconcileSettings {
  /** Unpaid orders and refunds at least this old are queried (default 5). */
  queryAfterMinutes?: number;
  /** NOTPAY orders at least this old are closed (default 30, never below 5). Keep it ≥ the orders' time_expire. */
  closeAfterMinutes?: number;
  /** Orders (refunds) of each kind per run (default 50, at most 200). */
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
  refunds: RefundsPort;
  connector: ReconcileConnector;
  log: CallbackLog;
  settings?: ReconcileSettings;
  /** The business clock: order ages and the times written (default Date.now). */
  now?: () => number;
  notifyPayer?: PayerNotifier;
}

export interface ReconcileSummary {
  startedAt: string;
  unpaid: { checked: number; paid: number; closed: number; pending: number; mismatched: number };
  /** Refunds in PROCESSING and refunding orders, asked with queryRefund. */
  refunding: { checked: number; refunded: number; partlyRefunded: number; reverted: number; pending: number; skipped: number };
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
  const queryBefore = started - settings.queryAfterMinutes * 60_000;
  const clock = Date.now();
  const { orders, refunds, log } = deps;
  const f = orders.fields;
  if (!orders.list || !refunds.list) throw new Error('reconcile needs orders and refunds models that can list records');
  const summary: ReconcileSummary = {
    startedAt: new Date(started).toISOString(),
    unpaid: { checked: 0, paid: 0, closed: 0, pending: 0, mismatched: 0 },
    refunding: { checked: 0, refunded: 0, partlyRefunded: 0, reverted: 0, pending: 0, skipped: 0 },
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
  /** The cursor: asked now, so the next runs take the others first. A failure to write it only delays the rotation. */
  const asked = async (write: () => Promise<unknown>) => {
    try {
      await write();
    } catch (err) {
      log({ event: 'reconcile.cursor_not_written', reason: errorMessage(err) });
    }
  };
  const models = { orders, refunds };

  // Refunds first: they are few, and money is owed.
  // 1. Refunds in PROCESSING: did the result get lost?
  const settledRefunds = new Set<string>();
  const processing = await refunds.list({ status: 'PROCESSING', before: queryBefore, limit: settings.batchSize });
  for (const row of processing) {
    if (outOfTime()) break;
    settledRefunds.add(row.refundNo);
    summary.refunding.checked++;
    try {
      countRefund(await settleRefund(row.orderNo, row.refundNo, row.createdAt));
    } catch (err) {
      fail(row.orderNo, 'refund', err);
    }
    await asked(() => refunds.update(row.refundNo, 'PROCESSING', { reconciledAt: now() }));
  }

  // 2. Refunding orders whose refund was not just asked about.
  const refunding = await orders.list({ status: OrderStatus.REFUNDING, timeField: 'updatedAt', before: queryBefore, limit: settings.batchSize });
  for (const order of refunding) {
    if (outOfTime()) break;
    const orderNo = String(order[f.orderNo]);
    const refundNo = order[f.refundNo];
    if (typeof refundNo === 'string' && settledRefunds.has(refundNo)) {
      // Its refund was just asked about; it goes to the back all the same.
      await asked(() => markWhile(orders, orderNo, OrderStatus.REFUNDING, { [f.reconciledAt]: now() }));
      continue;
    }
    summary.refunding.checked++;
    if (typeof refundNo !== 'string' || refundNo === '') {
      // v3 can only look a refund up by its number; without it there is nothing to ask.
      log({ event: 'reconcile.refund_without_number', outTradeNo: orderNo });
      summary.refunding.skipped++;
    } else {
      try {
        countRefund(await settleRefund(orderNo, refundNo, (await refunds.find(refundNo))?.createdAt));
      } catch (err) {
        fail(orderNo, 'refunding', err);
      }
    }
    await asked(() => markWhile(orders, orderNo, OrderStatus.REFUNDING, { [f.reconciledAt]: now() }));
  }

  // 3. Unpaid orders: was the callback lost? Is it time to close?
  const unpaid = await orders.list({ status: OrderStatus.UNPAID, timeField: 'createdAt', before: queryBefore, notClosed: true, limit: settings.batchSize });
  for (const order of unpaid) {
    if (outOfTime()) break;
    const orderNo = String(order[f.orderNo]);
    summary.unpaid.checked++;
    let result: 'paid' | 'closed' | 'pending' | 'mismatched' | undefined;
    try {
      result = await settleUnpaid(order, orderNo);
      summary.unpaid[result]++;
    } catch (err) {
      fail(orderNo, 'unpaid', err);
    }
    if (result !== 'paid' && result !== 'closed') await asked(() => markWhile(orders, orderNo, OrderStatus.UNPAID, { [f.reconciledAt]: now() }));
  }
  log({ event: 'reconcile.done', ...summary, errors: summary.errors.length });
  return summary;

  function countRefund(outcome: RefundOutcome): void {
    if (outcome.kind === 'refunded') summary.refunding.refunded++;
    else if (outcome.kind === 'partly-refunded') summary.refunding.partlyRefunded++;
    else if (outcome.kind === 'reverted') summary.refunding.reverted++;
    else if (outcome.kind === 'pending') summary.refunding.pending++;
    else summary.refunding.skipped++;
  }

  /**
   * queryRefund → the refund's record and its order. A refund WeChat Pay does not know, asked for long enough ago
   * (`requestedAt`, its record's createdAt), never reached it: closed. Without a record to tell when, or sooner,
   * the request may still be on its way: an error for this run.
   */
  async function settleRefund(orderNo: string, refundNo: string, requestedAt: number | undefined): Promise<RefundOutcome> {
    let facts: RefundFacts;
    try {
      facts = refundFactsFromQuery((await deps.connector.call('queryRefund', { outRefundNo: refundNo })) as QueryRefundOutput);
    } catch (err) {
      if (!(err instanceof PayError && err.code === 'REFUND_NOT_EXIST')) throw err;
      if (requestedAt === undefined || started - requestedAt < UNKNOWN_REFUND_CLOSE_AFTER_MINUTES * 60_000) throw err;
      facts = { outTradeNo: orderNo, outRefundNo: refundNo, status: 'CLOSED', failReason: `queryRefund: WeChat Pay has no such refund (${err.message})` };
    }
    return applyRefundOutcome(facts, models, log, { now });
  }

  async function settleUnpaid(order: OrderRecord, orderNo: string): Promise<'paid' | 'closed' | 'pending' | 'mismatched'> {
    const createdAt = Number(order.createdAt);
    const closable = Number.isFinite(createdAt) && started - createdAt >= settings.closeAfterMinutes * 60_000;
    let q: QueryOrderOutput;
    try {
      q = (await deps.connector.call('queryOrder', { outTradeNo: orderNo })) as QueryOrderOutput;
    } catch (err) {
      // The row exists but no order was ever placed with WeChat Pay (unifiedOrder failed or never ran), or its
      // number is one WeChat Pay refuses, so it never could be: once old enough it is closed like any other,
      // instead of coming back in every batch forever.
      const neverPlaced = err instanceof PayError && (err.code === 'ORDER_NOT_EXIST' || (err.code === 'PARAM_ERROR' && err.detail?.field === 'outTradeNo'));
      if (neverPlaced) {
        if (!closable) return 'pending';
        return markClosed(orderNo, 'not_placed', err.code === 'ORDER_NOT_EXIST' ? 'never placed with WeChat Pay' : `WeChat Pay refuses this order number: ${err.message}`);
      }
      throw err;
    }
    if (q.tradeState === 'SUCCESS' || q.tradeState === 'REFUND') return markPaid(q);
    if (q.tradeState === 'CLOSED' || q.tradeState === 'REVOKED' || q.tradeState === 'PAYERROR') return markClosed(orderNo, 'wechat', `WeChat Pay says ${q.tradeState}`);
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
    return markClosed(orderNo, 'timeout', `NOTPAY for ${Math.round((started - createdAt) / 60_000)} minutes`);
  }

  async function markClosed(orderNo: string, reason: CloseReason, note: string): Promise<'closed'> {
    const at = now();
    await markWhile(orders, orderNo, OrderStatus.UNPAID, { [f.closedAt]: at, [f.closeReason]: reason, [f.reconciledAt]: at });
    log({ event: 'reconcile.closed', outTradeNo: orderNo, closeReason: reason, reason: note });
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
