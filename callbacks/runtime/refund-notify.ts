/**
 * Refund results: v3 `REFUND.SUCCESS|CLOSED|ABNORMAL` notifications, the CloudPay refund event, and
 * reconcile's queryRefund answers all end in `applyRefundOutcome`.
 *
 * What the seed tutorial's refund callback got wrong, and what this does instead:
 * - it matched the order by the *refund* number (`ddh = outRefundNo`): the order is found by out_trade_no, the
 *   refund by out_refund_no in the refunds model;
 * - it polled queryRefund with setInterval after returning (a function is frozen once it returns, so the
 *   timer may never fire, or fire in a later invocation): the notification *is* the result; refunds left in
 *   PROCESSING are settled by the reconcile timer function, never by a timer inside a callback;
 * - it called `updataStatus` before its `const` definition (a TDZ ReferenceError on the failure branch);
 * - its updates had no status in the where: every update here is a compare-and-set on the current status;
 * - one refund made the order "refunded": WeChat Pay allows up to 50 refunds per order, together at most its
 *   amount (wxpay-v3.md §1.4), so each refund is a record of its own and the order counts the money that went back.
 */
import { HeaderBag, PayError, WechatpayVerifier, parseWechatTime } from '../../wxpay';
import type { CloudPayRefundEvent, QueryRefundOutput, V3RefundNotification } from '../../schemas/types.generated';
import { OrdersPort, OrderRecord, markWhile, transition } from './orders';
import { canMoveRefund, OrderStatus, refundedTotal } from '../../datasources/order-status';
import type { RefundRow, RefundsPort } from './refunds';
import { CallbackLog, CloudPayAnswer, cloudPayAck, cloudPayRefused, cloudPayRetry, errorMessage, HttpAnswer, httpAck, httpRetry, logRefusal } from './answers';
import { asDelivered, Confirmation, ownText, shapeProblem } from './received';
import { openV3Notification } from './v3-notification';

/** v3 names; CloudPay REFUNDCLOSE → CLOSED, CHANGE → ABNORMAL (wxpay-v3.md §7, peers.md §3.9). */
export type RefundStatus = 'SUCCESS' | 'CLOSED' | 'ABNORMAL' | 'PROCESSING';

export interface RefundFacts {
  outTradeNo: string;
  outRefundNo: string;
  refundId?: string;
  /** The payment refunded (compared with WeChat Pay's answer, not written). */
  transactionId?: string;
  status: RefundStatus;
  /** This refund's amount in fen. */
  refundFee?: number;
  /** The order's amount in fen, as WeChat Pay knows it (checked against the order). */
  totalFee?: number;
  successTime?: number;
  /** Why the money did not go back, when WeChat Pay says the refund does not exist (reconcile). */
  failReason?: string;
}

/** The two models a refund result is written to. */
export interface RefundModels {
  orders: OrdersPort;
  refunds: RefundsPort;
}

export type RefundOutcome =
  /** The order is refunded in full (→ 4). */
  | { kind: 'refunded'; orderNo: string }
  /** Part of the amount went back: the order is paid (2) with `refundedAmount` the total refunded. */
  | { kind: 'partly-refunded'; orderNo: string; refundedAmount: number }
  /** The money did not go back: the order is paid again (3 → 2). */
  | { kind: 'reverted'; orderNo: string }
  /** The refund's record and the order's total changed; the order waits for another refund still in flight. */
  | { kind: 'recorded'; orderNo: string }
  | { kind: 'duplicate'; orderNo: string; status: number }
  | { kind: 'pending'; orderNo: string }
  | { kind: 'not-yet-paid'; orderNo: string }
  | { kind: 'stale-refund'; orderNo: string; current: string }
  | { kind: 'unknown-order'; orderNo: string }
  | { kind: 'amount-mismatch'; orderNo: string; expected: number; got: number }
  | { kind: 'unconfirmed'; orderNo: string; reason: string; retry: boolean };

/** Asks WeChat Pay about a refund an unverified event reports; confirmed, it answers WeChat Pay's own facts. */
export type RefundConfirmation = (claimed: RefundFacts) => Promise<Confirmation<RefundFacts>>;

export interface ApplyRefundOptions {
  /** Checks an unverified event with WeChat Pay first; what is written then comes from WeChat Pay's answer. */
  confirm?: RefundConfirmation;
  /** The clock for times WeChat Pay did not give (default Date.now). */
  now?: () => number;
}

/** CloudPay's refund statuses, all final (a result is notified once reached, §5.5), in v3 names. */
export function cloudPayRefundStatus(s: CloudPayRefundEvent['refundStatus']): RefundStatus {
  if (s === 'REFUNDCLOSE') return 'CLOSED';
  if (s === 'CHANGE') return 'ABNORMAL';
  return 'SUCCESS';
}

/**
 * Applies a refund's status to its record in the refunds model and to the order it belongs to (matched by
 * out_trade_no). Idempotent per refund number: the refund's record moves on by a compare-and-set on its status,
 * and the order's `refundedAmount` is the sum of its SUCCESS refunds, so neither a duplicate nor reconcile and
 * the notification both count the money twice, and a second refund is never taken for a duplicate of the first.
 * The order, each step a compare-and-set on its status (DESIGN.md "Order status (contract)"):
 * - SUCCESS while refunding (3): 3 → 4 when the refunds add up to the amount, else 3 → 2 with the refunded total
 *   (partly refunded; the order can be refunded again). When another refund of the order is still in flight, the
 *   order stays 3 with its total updated: that refund's result moves it.
 * - SUCCESS while paid (2) and not yet counted (a refund made in the merchant console, or an order update that
 *   was lost): 2 → 3, then as above (2 → 4 is not an edge). Stopping between the two leaves 3, which the next
 *   delivery or reconcile finishes.
 * - CLOSED / ABNORMAL: 3 → 2 for the refund in flight; for an earlier refund number it is a late result and must
 *   not undo the refund in flight (`stale-refund`); on 2 or 4 only the refund's record changes.
 * - Status 1 (the result outran the payment notification): not applicable *yet* — answered "deliver again"
 *   (`not-yet-paid`); once the payment is recorded the redelivery applies. Reconcile also marks such an order
 *   paid from queryOrder (trade state REFUND counts as paid).
 */
export async function applyRefundOutcome(reported: RefundFacts, models: RefundModels, log: CallbackLog, opts: ApplyRefundOptions = {}): Promise<RefundOutcome> {
  const { orders } = models;
  const f = orders.fields;
  const now = opts.now ?? Date.now;
  const orderNo = reported.outTradeNo;
  const order = await orders.find(orderNo);
  if (!order) {
    log({ event: 'refund.unknown_order', outTradeNo: orderNo, outRefundNo: reported.outRefundNo });
    return { kind: 'unknown-order', orderNo };
  }
  const mismatch = amountMismatch(order, reported, orders, log);
  if (mismatch) return mismatch;
  const unpaid = Number(order[f.status]) === OrderStatus.UNPAID;
  const beforePayment = (): RefundOutcome => {
    logRefusal(log, 'refund.before_payment', 'the order is not paid yet (the refund result outran the payment): deliver again', orderNo, {
      outRefundNo: reported.outRefundNo, refundStatus: reported.status, retry: true,
    });
    return { kind: 'not-yet-paid', orderNo };
  };
  let refund = reported;
  if (opts.confirm) {
    // An unverified event writes nothing, not even a PROCESSING record, before WeChat Pay confirms it.
    if (unpaid) return beforePayment();
    const check = await opts.confirm(reported);
    if (!check.confirmed) {
      logRefusal(log, 'refund.unconfirmed', check.reason, orderNo, { outRefundNo: reported.outRefundNo, retry: check.retry, ...(check.detail ?? {}) });
      return { kind: 'unconfirmed', orderNo, reason: check.reason, retry: check.retry };
    }
    refund = check.facts;
    const verifiedMismatch = amountMismatch(order, refund, orders, log);
    if (verifiedMismatch) return verifiedMismatch;
  }
  if (refund.status === 'PROCESSING') {
    // Known to WeChat Pay and not final: a record of it counts as in flight, and reconcile asks again.
    await recordRefund(models.refunds, refund, log, now);
    log({ event: 'refund.pending', outTradeNo: orderNo, outRefundNo: refund.outRefundNo });
    return { kind: 'pending', orderNo };
  }
  if (unpaid) return beforePayment();
  await recordRefund(models.refunds, refund, log, now);
  return settleOrder(refund, models, log, now);
}

function amountMismatch(order: OrderRecord, refund: RefundFacts, orders: OrdersPort, log: CallbackLog): RefundOutcome | undefined {
  const expected = Number(order[orders.fields.amount]);
  if (refund.totalFee === undefined || expected === refund.totalFee) return undefined;
  log({ event: 'refund.amount_mismatch', outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo, expected, got: refund.totalFee });
  return { kind: 'amount-mismatch', orderNo: refund.outTradeNo, expected, got: refund.totalFee };
}

/**
 * Brings the refund's record to the status WeChat Pay reports: creates it when the app never saw this refund
 * (made in the merchant console, or before the refunds model existed), or moves it on by a compare-and-set on
 * its current status (a record already final, or moved by a concurrent delivery, is left as it is).
 */
async function recordRefund(refunds: RefundsPort, r: RefundFacts, log: CallbackLog, now: () => number): Promise<void> {
  const facts: Partial<RefundRow> = {
    status: r.status,
    ...(r.refundId ? { refundId: r.refundId } : {}),
    ...(r.refundFee !== undefined && r.refundFee >= 1 ? { amount: r.refundFee } : {}),
    ...(r.status === 'SUCCESS' ? { successTime: r.successTime ?? now() } : {}),
    ...(r.failReason ? { failReason: r.failReason.slice(0, 500) } : {}),
  };
  for (let round = 0; round < 4; round++) {
    const row = await refunds.find(r.outRefundNo);
    if (!row) {
      if (facts.amount === undefined) {
        log({ event: 'refund.not_recorded', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, reason: 'the result names no refund amount' });
        return;
      }
      try {
        await refunds.create({ refundNo: r.outRefundNo, orderNo: r.outTradeNo, amount: facts.amount, ...facts } as RefundRow);
        return;
      } catch (err) {
        // Created meanwhile by a concurrent delivery (refundNo is unique): go on from its record.
        if (!(await refunds.find(r.outRefundNo))) throw err;
        continue;
      }
    }
    if (row.orderNo !== r.outTradeNo) {
      log({ event: 'refund.other_order', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, recordedFor: row.orderNo });
      return;
    }
    const fillsIn = row.status === r.status && r.refundId !== undefined && !row.refundId;
    if (!canMoveRefund(row.status, r.status) && !fillsIn) return;
    if ((await refunds.update(r.outRefundNo, row.status, fillsIn ? { refundId: r.refundId! } : facts)) === 1) return;
  }
  throw new Error(`refund ${r.outRefundNo} kept changing while recording ${r.status}; try again`);
}

/** Moves the order to where its refunds say it is (see `applyRefundOutcome`); a few rounds at most, each one compare-and-set step. */
async function settleOrder(refund: RefundFacts, models: RefundModels, log: CallbackLog, now: () => number): Promise<RefundOutcome> {
  const { orders, refunds } = models;
  const f = orders.fields;
  const orderNo = refund.outTradeNo;
  const ids = { outTradeNo: orderNo, outRefundNo: refund.outRefundNo };
  for (let round = 0; round < 4; round++) {
    const order = await orders.find(orderNo);
    if (!order) return { kind: 'unknown-order', orderNo };
    const status = Number(order[f.status]);
    const amount = Number(order[f.amount]);
    const current = typeof order[f.refundNo] === 'string' && order[f.refundNo] !== '' ? (order[f.refundNo] as string) : undefined;
    const counted = Number.isInteger(order[f.refundedAmount]) ? (order[f.refundedAmount] as number) : 0;
    const rows = await refunds.ofOrder(orderNo);
    const total = refundedTotal(rows);
    if (status === OrderStatus.UNPAID) return { kind: 'not-yet-paid', orderNo };
    if (status === OrderStatus.REFUNDED) return duplicate(log, refund, status);

    if (refund.status === 'SUCCESS') {
      const latest = {
        [f.refundedAmount]: total,
        ...(refund.refundId ? { [f.refundId]: refund.refundId } : {}),
        ...(refund.refundFee !== undefined ? { [f.refundAmount]: refund.refundFee } : {}),
        [f.refundedAt]: refund.successTime ?? now(),
      };
      if (status === OrderStatus.PAID) {
        if (total <= counted) return duplicate(log, refund, status);
        log({ event: 'refund.success_while_paid', ...ids, note: 'a refund the order had not counted (made outside the app?): 2→3, then on' });
        await transition(orders, orderNo, OrderStatus.PAID, OrderStatus.REFUNDING, { [f.refundNo]: refund.outRefundNo });
      } else if (status === OrderStatus.REFUNDING) {
        const currentRow = current === undefined ? undefined : rows.find((r) => r.refundNo === current);
        const otherInFlight = current !== undefined && current !== refund.outRefundNo && currentRow?.status !== 'SUCCESS' && currentRow?.status !== 'CLOSED' && currentRow?.status !== 'ABNORMAL';
        if (total >= amount) {
          if (await transition(orders, orderNo, OrderStatus.REFUNDING, OrderStatus.REFUNDED, { [f.refundNo]: refund.outRefundNo, ...latest })) {
            log({ event: 'refund.applied', ...ids, refundId: refund.refundId, refundedAmount: total, status: 4 });
            return { kind: 'refunded', orderNo };
          }
        } else if (otherInFlight) {
          if (total <= counted) return duplicate(log, refund, status);
          log({ event: 'refund.recorded', ...ids, current, refundedAmount: total, note: 'another refund of the order is in flight; its result moves the order' });
          if (await markWhile(orders, orderNo, OrderStatus.REFUNDING, latest)) return { kind: 'recorded', orderNo };
        } else if (await transition(orders, orderNo, OrderStatus.REFUNDING, OrderStatus.PAID, { [f.refundNo]: refund.outRefundNo, ...latest })) {
          log({ event: 'refund.partly_refunded', ...ids, refundId: refund.refundId, refundedAmount: total, amount, status: 2 });
          return { kind: 'partly-refunded', orderNo, refundedAmount: total };
        }
      } else {
        return notApplicable(log, refund, status);
      }
    } else if (refund.status === 'CLOSED' || refund.status === 'ABNORMAL') {
      // The money did not go back; the order is paid again.
      if (status !== OrderStatus.REFUNDING) return duplicate(log, refund, status);
      if (current && current !== refund.outRefundNo) {
        log({ event: 'refund.stale', ...ids, current, status: refund.status });
        return { kind: 'stale-refund', orderNo, current };
      }
      const moved = await transition(orders, orderNo, OrderStatus.REFUNDING, OrderStatus.PAID, {
        [f.refundNo]: refund.outRefundNo,
        [f.refundedAmount]: total,
      });
      if (moved) {
        log({ event: 'refund.reverted', ...ids, refundStatus: refund.status, ...(refund.failReason ? { reason: refund.failReason } : {}), status: 2 });
        return { kind: 'reverted', orderNo };
      }
    } else {
      // Never moved by a status outside SUCCESS / CLOSED / ABNORMAL (PROCESSING is recorded, not settled).
      return notApplicable(log, refund, status);
    }
    // Lost a compare-and-set to another delivery: the next round sees where the order went.
  }
  throw new Error(`order ${orderNo} kept changing while applying refund ${refund.outRefundNo}; try again`);
}

function duplicate(log: CallbackLog, r: RefundFacts, status: number): RefundOutcome {
  log({ event: 'refund.duplicate', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, refundStatus: r.status, status });
  return { kind: 'duplicate', orderNo: r.outTradeNo, status };
}

function notApplicable(log: CallbackLog, r: RefundFacts, status: number): RefundOutcome {
  log({ event: 'refund.not_applicable', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, refundStatus: r.status, status });
  return { kind: 'duplicate', orderNo: r.outTradeNo, status };
}

/**
 * Before a CloudPay refund event changes anything, queryRefund must show the refund at the event's final status,
 * for the event's order, with the event's refund id and amounts — a genuine event carries WeChat Pay's own values
 * (wxpay-v2-cloudpay.md §5.5), so any difference means it is not genuine: refused for good. Unknown to queryRefund,
 * or still PROCESSING there, is different: a genuine result can outrun what queryRefund shows, so that one is
 * asked for again. What is then written (refund id, amount, success time) is queryRefund's answer, never the event's.
 */
export function confirmRefundByQuery(queryRefund: (outRefundNo: string) => Promise<QueryRefundOutput>): RefundConfirmation {
  return async (claimed) => {
    let q: QueryRefundOutput;
    try {
      q = await queryRefund(claimed.outRefundNo);
    } catch (err) {
      if (err instanceof PayError && err.code === 'REFUND_NOT_EXIST') return { confirmed: false, retry: true, reason: 'queryRefund: WeChat Pay has no such refund' };
      throw err;
    }
    const differs = (field: string, event: unknown, wechat: unknown) => ({
      confirmed: false as const, retry: false, reason: `the event's ${field} is not WeChat Pay's (queryRefund)`, detail: { field, claimed: event, wechat },
    });
    if (q.outTradeNo !== claimed.outTradeNo) return differs('outTradeNo', claimed.outTradeNo, q.outTradeNo);
    if (q.status !== claimed.status) {
      return { confirmed: false, retry: q.status === 'PROCESSING', reason: `queryRefund says ${q.status}, the event says ${claimed.status}` };
    }
    if (!q.refundId || q.refundId !== claimed.refundId) return differs('refundId', claimed.refundId, q.refundId);
    if (claimed.refundFee !== undefined && claimed.refundFee !== q.refundFee) return differs('refundFee', claimed.refundFee, q.refundFee);
    if (claimed.totalFee !== undefined && claimed.totalFee !== q.totalFee) return differs('totalFee', claimed.totalFee, q.totalFee);
    if (claimed.transactionId !== undefined && q.transactionId !== undefined && claimed.transactionId !== q.transactionId) {
      return differs('transactionId', claimed.transactionId, q.transactionId);
    }
    return { confirmed: true, facts: refundFactsFromQuery(q) };
  };
}

/** A refund as queryRefund reports it (reconcile). */
export function refundFactsFromQuery(q: QueryRefundOutput): RefundFacts {
  return {
    outTradeNo: q.outTradeNo,
    outRefundNo: q.outRefundNo,
    refundId: q.refundId,
    status: q.status,
    refundFee: q.refundFee,
    totalFee: q.totalFee,
    ...(parseWechatTime(q.successTime) !== undefined ? { successTime: parseWechatTime(q.successTime)! } : {}),
  };
}

export interface V3RefundNotifyDeps extends RefundModels {
  verifier: WechatpayVerifier;
  apiV3Key: string;
  mchid: string;
  log: CallbackLog;
  now?: () => number;
}

/**
 * The v3 refund notification endpoint (notify_url of the refund request). 204 = acknowledged; what cannot be
 * opened or is not a documented refund resource — `refund_status` outside SUCCESS / CLOSED / PROCESSING / ABNORMAL
 * included — is refused (`openV3Notification`: 401 for a signature, 400 for the rest) and moves nothing; 503 when
 * the order is not paid yet (the refund result outran the payment notification: WeChat Pay delivers again on its
 * schedule, by when it applies); 500 when the store failed.
 */
export async function handleV3RefundNotification(req: { headers: HeaderBag; rawBody: string | Buffer }, deps: V3RefundNotifyDeps): Promise<HttpAnswer> {
  const opened = openV3Notification<V3RefundNotification>(req, {
    verifier: deps.verifier, apiV3Key: deps.apiV3Key, log: deps.log, kind: 'refund', handles: (t) => t.startsWith('REFUND.'), schema: 'v3Refund',
  });
  if ('answer' in opened) return opened.answer;
  const refund = opened.resource;
  if (refund.mchid !== deps.mchid) {
    deps.log({ event: 'notification.foreign', mchid: refund.mchid, outTradeNo: refund.out_trade_no });
    return httpAck();
  }
  try {
    const outcome = await applyRefundOutcome(
      {
        outTradeNo: refund.out_trade_no,
        outRefundNo: refund.out_refund_no,
        ...(refund.refund_id ? { refundId: refund.refund_id } : {}),
        status: refund.refund_status,
        refundFee: refund.amount.refund,
        totalFee: refund.amount.total,
        ...(parseWechatTime(refund.success_time) !== undefined ? { successTime: parseWechatTime(refund.success_time)! } : {}),
      },
      deps,
      deps.log,
      deps.now ? { now: deps.now } : {},
    );
    if (outcome.kind === 'not-yet-paid') return httpRetry('the order is not paid yet; deliver this refund result again later', 503);
    return httpAck();
  } catch (err) {
    logRefusal(deps.log, 'notification.transient_failure', errorMessage(err), refund.out_trade_no, { retry: true });
    return httpRetry('temporarily unable to record the refund');
  }
}

export interface CloudPayRefundNotifyDeps extends RefundModels {
  log: CallbackLog;
  subMchId?: string;
  /** Usually `confirmRefundByQuery(connector queryRefund)`. */
  confirm?: RefundConfirmation;
  now?: () => number;
}

/**
 * The CloudPay refund callback function's body (wxpay-v2-cloudpay.md §5.5): flat camelCase event with
 * `refundStatus` SUCCESS / CHANGE / REFUNDCLOSE. `{ errcode: 0 }` when handled; a non-zero errcode when not
 * accepted: refused (not a CloudPay refund event, or contradicted by queryRefund — see `cloudPayRefused`) or
 * "deliver again" (store failure, order not paid yet, queryRefund not showing the result yet).
 */
export async function handleCloudPayRefund(event: unknown, deps: CloudPayRefundNotifyDeps): Promise<CloudPayAnswer> {
  const delivered = asDelivered(event);
  const problem = delivered === undefined ? 'it is not JSON' : shapeProblem('cloudPayRefund', delivered);
  if (problem) {
    logRefusal(deps.log, 'cloudpay.malformed_event', `not a CloudPay refund event: ${problem}`, ownText(delivered, 'outTradeNo'), { outRefundNo: ownText(delivered, 'outRefundNo') });
    return cloudPayRefused(`not a CloudPay refund event: ${problem}`);
  }
  const e = delivered as CloudPayRefundEvent;
  if (e.returnCode !== undefined && e.returnCode !== 'SUCCESS') {
    deps.log({ event: 'cloudpay.refund_not_successful', outTradeNo: e.outTradeNo, returnCode: e.returnCode });
    return cloudPayAck('ignored: returnCode is not SUCCESS');
  }
  if (deps.subMchId && e.subMchId && e.subMchId !== deps.subMchId) {
    deps.log({ event: 'cloudpay.foreign', subMchId: e.subMchId, outTradeNo: e.outTradeNo });
    return cloudPayAck('ignored: another merchant');
  }
  try {
    const outcome = await applyRefundOutcome(
      {
        outTradeNo: e.outTradeNo,
        outRefundNo: e.outRefundNo,
        refundId: e.refundId,
        ...(e.transactionId !== undefined ? { transactionId: e.transactionId } : {}),
        status: cloudPayRefundStatus(e.refundStatus),
        ...(e.refundFee !== undefined ? { refundFee: e.refundFee } : {}),
        ...(e.totalFee !== undefined ? { totalFee: e.totalFee } : {}),
        ...(parseWechatTime(e.successTime) !== undefined ? { successTime: parseWechatTime(e.successTime)! } : {}),
      },
      deps,
      deps.log,
      { ...(deps.confirm ? { confirm: deps.confirm } : {}), ...(deps.now ? { now: deps.now } : {}) },
    );
    if (outcome.kind === 'not-yet-paid') return cloudPayRetry('the order is not paid yet; deliver this refund result again later');
    if (outcome.kind === 'unconfirmed') return outcome.retry ? cloudPayRetry(`not applied: ${outcome.reason}; deliver again`) : cloudPayRefused(outcome.reason);
    const applied = outcome.kind === 'refunded' || outcome.kind === 'partly-refunded' || outcome.kind === 'reverted' || outcome.kind === 'recorded';
    return cloudPayAck(applied ? 'OK' : `OK (${outcome.kind})`);
  } catch (err) {
    logRefusal(deps.log, 'cloudpay.transient_failure', errorMessage(err), e.outTradeNo, { retry: true });
    return cloudPayRetry('temporarily unable to record the refund; deliver again');
  }
}

export type { OrderRecord };
