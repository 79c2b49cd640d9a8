/**
 * Refund results: v3 `REFUND.SUCCESS|CLOSED|ABNORMAL` notifications, the CloudPay refund event, and
 * reconcile's queryRefund answers all end in `applyRefundOutcome`.
 *
 * What the seed tutorial's refund callback got wrong, and what this does instead:
 * - it matched the order by the *refund* number (`ddh = outRefundNo`): the order is found by out_trade_no;
 * - it polled queryRefund with setInterval after returning (a function is frozen once it returns, so the
 *   timer may never fire, or fire in a later invocation): the notification *is* the result; orders left in
 *   "refunding" are settled by the reconcile timer function, never by a timer inside a callback;
 * - it called `updataStatus` before its `const` definition (a TDZ ReferenceError on the failure branch);
 * - its updates had no status in the where: every update here is a compare-and-set on the current status.
 */
import { HeaderBag, parseNotification, PayError, WechatpayVerifier, parseWechatTime } from '../../wxpay';
import type { CloudPayRefundEvent, QueryRefundOutput, V3RefundNotification } from '../../schemas/types.generated';
import { OrdersPort, OrderRecord, transition } from './orders';
import { OrderStatus } from '../../datasources/order-status';
import { CallbackLog, CloudPayAnswer, cloudPayAck, cloudPayRetry, errorMessage, HttpAnswer, httpAck, httpRetry } from './answers';

/** v3 names; CloudPay REFUNDCLOSE → CLOSED, CHANGE → ABNORMAL (wxpay-v3.md §7, peers.md §3.9). */
export type RefundStatus = 'SUCCESS' | 'CLOSED' | 'ABNORMAL' | 'PROCESSING';

export interface RefundFacts {
  outTradeNo: string;
  outRefundNo: string;
  refundId?: string;
  status: RefundStatus;
  /** This refund's amount in fen. */
  refundFee?: number;
  /** The order's amount in fen, as WeChat Pay knows it (checked against the order). */
  totalFee?: number;
  successTime?: number;
}

export type RefundOutcome =
  | { kind: 'refunded'; orderNo: string }
  | { kind: 'reverted'; orderNo: string }
  | { kind: 'duplicate'; orderNo: string; status: number }
  | { kind: 'pending'; orderNo: string }
  | { kind: 'not-yet-paid'; orderNo: string }
  | { kind: 'stale-refund'; orderNo: string; current: string }
  | { kind: 'unknown-order'; orderNo: string }
  | { kind: 'amount-mismatch'; orderNo: string; expected: number; got: number }
  | { kind: 'unconfirmed'; orderNo: string; reason: string };

export type RefundConfirmation = (refund: RefundFacts) => Promise<{ confirmed: true } | { confirmed: false; reason: string }>;

export function cloudPayRefundStatus(s: unknown): RefundStatus | undefined {
  if (s === 'SUCCESS') return 'SUCCESS';
  if (s === 'REFUNDCLOSE') return 'CLOSED';
  if (s === 'CHANGE') return 'ABNORMAL';
  if (s === 'PROCESSING') return 'PROCESSING';
  return undefined;
}

/**
 * Applies a final refund status to the order it belongs to (matched by out_trade_no), with the edges of
 * DESIGN.md: SUCCESS 3→4; CLOSED/ABNORMAL 3→2. Choices where the contract is silent:
 * - SUCCESS while the order is still 2 (a refund made in the merchant console, not through the app): two
 *   compare-and-set steps, 2→3 then 3→4 (2→4 is not an edge). Stopping between them leaves 3, which the
 *   next delivery or reconcile finishes.
 * - Status 1 (the refund result outran the payment notification): not applicable *yet* — answered
 *   "deliver again" (`not-yet-paid`); once the payment is recorded the redelivery applies. Reconcile also
 *   marks such an order paid from queryOrder (trade state REFUND counts as paid).
 * - CLOSED/ABNORMAL for a refund number other than the order's current one: a late result of an earlier
 *   refund; it must not undo the refund in flight, so it is acknowledged without a change (`stale-refund`).
 *   A SUCCESS always applies (the money went back) and records its own refund number.
 * - A partial refund that succeeds still moves the order to 4 ("refunded"); refundAmount tells how much.
 */
export async function applyRefundOutcome(refund: RefundFacts, orders: OrdersPort, log: CallbackLog, opts: { confirm?: RefundConfirmation } = {}): Promise<RefundOutcome> {
  const f = orders.fields;
  const orderNo = refund.outTradeNo;
  let order = await orders.find(orderNo);
  if (!order) {
    log({ event: 'refund.unknown_order', outTradeNo: orderNo, outRefundNo: refund.outRefundNo });
    return { kind: 'unknown-order', orderNo };
  }
  if (refund.totalFee !== undefined && Number(order[f.amount]) !== refund.totalFee) {
    const expected = Number(order[f.amount]);
    log({ event: 'refund.amount_mismatch', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, expected, got: refund.totalFee });
    return { kind: 'amount-mismatch', orderNo, expected, got: refund.totalFee };
  }
  if (refund.status === 'PROCESSING') {
    log({ event: 'refund.pending', outTradeNo: orderNo, outRefundNo: refund.outRefundNo });
    return { kind: 'pending', orderNo };
  }
  let confirmed = !opts.confirm;
  const confirmOnce = async (): Promise<RefundOutcome | undefined> => {
    if (confirmed) return undefined;
    const check = await opts.confirm!(refund);
    if (!check.confirmed) {
      log({ event: 'refund.unconfirmed', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, reason: check.reason });
      return { kind: 'unconfirmed', orderNo, reason: check.reason };
    }
    confirmed = true;
    return undefined;
  };

  // A few rounds at most: each round reads the status and tries one compare-and-set step; losing a race
  // means another delivery moved the order, and the next round sees where it went.
  for (let round = 0; round < 4; round++) {
    const status = Number(order[f.status]);
    const current = typeof order[f.refundNo] === 'string' && order[f.refundNo] !== '' ? (order[f.refundNo] as string) : undefined;
    if (status === OrderStatus.UNPAID) {
      log({ event: 'refund.before_payment', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, status: refund.status });
      return { kind: 'not-yet-paid', orderNo };
    }
    if (refund.status === 'SUCCESS') {
      if (status === OrderStatus.REFUNDED) return duplicate(log, refund, status);
      const stop = await confirmOnce();
      if (stop) return stop;
      if (status === OrderStatus.PAID) {
        log({ event: 'refund.success_while_paid', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, note: 'refund made outside the app: 2→3, then 3→4' });
        await transition(orders, orderNo, OrderStatus.PAID, OrderStatus.REFUNDING, { [f.refundNo]: refund.outRefundNo });
      } else if (status === OrderStatus.REFUNDING) {
        if (current && current !== refund.outRefundNo) log({ event: 'refund.other_refund_number', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, current });
        const moved = await transition(orders, orderNo, OrderStatus.REFUNDING, OrderStatus.REFUNDED, refundRecord(orders, refund));
        if (moved) {
          log({ event: 'refund.applied', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, refundId: refund.refundId, status: 4 });
          return { kind: 'refunded', orderNo };
        }
      } else {
        return notApplicable(log, refund, status);
      }
    } else {
      // CLOSED or ABNORMAL: the money did not go back; the order is paid again.
      if (status !== OrderStatus.REFUNDING) return duplicate(log, refund, status);
      if (current && current !== refund.outRefundNo) {
        log({ event: 'refund.stale', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, current, status: refund.status });
        return { kind: 'stale-refund', orderNo, current };
      }
      const stop = await confirmOnce();
      if (stop) return stop;
      const moved = await transition(orders, orderNo, OrderStatus.REFUNDING, OrderStatus.PAID, {
        [f.refundNo]: refund.outRefundNo,
        ...(refund.refundId ? { [f.refundId]: refund.refundId } : {}),
      });
      if (moved) {
        log({ event: 'refund.reverted', outTradeNo: orderNo, outRefundNo: refund.outRefundNo, refundStatus: refund.status, status: 2 });
        return { kind: 'reverted', orderNo };
      }
    }
    const again = await orders.find(orderNo);
    if (!again) return { kind: 'unknown-order', orderNo };
    order = again;
  }
  throw new Error(`order ${orderNo} kept changing while applying refund ${refund.outRefundNo}; try again`);
}

function refundRecord(orders: OrdersPort, r: RefundFacts): Record<string, unknown> {
  const f = orders.fields;
  return {
    [f.refundNo]: r.outRefundNo,
    ...(r.refundId ? { [f.refundId]: r.refundId } : {}),
    ...(r.refundFee !== undefined ? { [f.refundAmount]: r.refundFee } : {}),
    [f.refundedAt]: r.successTime ?? Date.now(),
  };
}

function duplicate(log: CallbackLog, r: RefundFacts, status: number): RefundOutcome {
  log({ event: 'refund.duplicate', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, refundStatus: r.status, status });
  return { kind: 'duplicate', orderNo: r.outTradeNo, status };
}

function notApplicable(log: CallbackLog, r: RefundFacts, status: number): RefundOutcome {
  log({ event: 'refund.not_applicable', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, refundStatus: r.status, status });
  return { kind: 'duplicate', orderNo: r.outTradeNo, status };
}

/** Before a CloudPay refund event changes an order, queryRefund must report the same final status. */
export function confirmRefundByQuery(queryRefund: (outRefundNo: string) => Promise<QueryRefundOutput>): RefundConfirmation {
  return async (refund) => {
    let q: QueryRefundOutput;
    try {
      q = await queryRefund(refund.outRefundNo);
    } catch (err) {
      if (err instanceof PayError && err.code === 'REFUND_NOT_EXIST') return { confirmed: false, reason: 'queryRefund: WeChat Pay has no such refund' };
      throw err;
    }
    if (q.outTradeNo !== refund.outTradeNo) return { confirmed: false, reason: `queryRefund: refund belongs to order ${q.outTradeNo}` };
    if (q.status !== refund.status) return { confirmed: false, reason: `queryRefund says ${q.status}, the event says ${refund.status}` };
    return { confirmed: true };
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

export interface V3RefundNotifyDeps {
  verifier: WechatpayVerifier;
  apiV3Key: string;
  mchid: string;
  orders: OrdersPort;
  log: CallbackLog;
}

/**
 * The v3 refund notification endpoint (notify_url of the refund request). 204 = acknowledged; 401 for a
 * signature that does not verify; 503 when the order is not paid yet (the refund result outran the payment
 * notification: WeChat Pay delivers again on its schedule, by when it applies); 500 when the store failed.
 */
export async function handleV3RefundNotification(req: { headers: HeaderBag; rawBody: string | Buffer }, deps: V3RefundNotifyDeps): Promise<HttpAnswer> {
  let refund: V3RefundNotification;
  let eventType: string;
  try {
    const parsed = parseNotification<V3RefundNotification>({ headers: req.headers, rawBody: req.rawBody, verifier: deps.verifier, apiV3Key: deps.apiV3Key });
    refund = parsed.resource;
    eventType = parsed.envelope.event_type;
  } catch (err) {
    const e = err instanceof PayError ? err : new PayError({ code: 'INVALID_REQUEST', message: String(err) });
    deps.log({ event: 'notification.rejected', code: e.code, reason: e.message });
    return { status: e.code === 'SIGN_ERROR' ? 401 : 400, body: { code: 'FAIL', message: e.message } };
  }
  if (!eventType.startsWith('REFUND.') || typeof refund.out_trade_no !== 'string' || typeof refund.out_refund_no !== 'string') {
    deps.log({ event: 'notification.ignored', eventType, outTradeNo: refund.out_trade_no });
    return httpAck();
  }
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
        ...(refund.amount ? { refundFee: refund.amount.refund, totalFee: refund.amount.total } : {}),
        ...(parseWechatTime(refund.success_time) !== undefined ? { successTime: parseWechatTime(refund.success_time)! } : {}),
      },
      deps.orders,
      deps.log,
    );
    if (outcome.kind === 'not-yet-paid') return httpRetry('the order is not paid yet; deliver this refund result again later', 503);
    return httpAck();
  } catch (err) {
    deps.log({ event: 'notification.transient_failure', outTradeNo: refund.out_trade_no, reason: errorMessage(err) });
    return httpRetry('temporarily unable to record the refund');
  }
}

export interface CloudPayRefundNotifyDeps {
  orders: OrdersPort;
  log: CallbackLog;
  subMchId?: string;
  /** Usually `confirmRefundByQuery(connector queryRefund)`. */
  confirm?: RefundConfirmation;
}

/**
 * The CloudPay refund callback function's body (wxpay-v2-cloudpay.md §5.5): flat camelCase event with
 * `refundStatus` SUCCESS / CHANGE / REFUNDCLOSE. `{ errcode: 0 }` acknowledges; a non-zero errcode asks
 * for the event again (store failure, order not paid yet, queryRefund disagreeing).
 */
export async function handleCloudPayRefund(event: unknown, deps: CloudPayRefundNotifyDeps): Promise<CloudPayAnswer> {
  const e = (event ?? {}) as Partial<CloudPayRefundEvent> & Record<string, unknown>;
  deps.log({ event: 'cloudpay.refund_event', outTradeNo: e.outTradeNo, outRefundNo: e.outRefundNo, refundStatus: e.refundStatus });
  const status = cloudPayRefundStatus(e.refundStatus);
  if (typeof e.outTradeNo !== 'string' || e.outTradeNo === '' || typeof e.outRefundNo !== 'string' || !status) {
    deps.log({ event: 'cloudpay.malformed_event', keys: Object.keys(e).slice(0, 20) });
    return cloudPayAck('ignored: not a CloudPay refund event (outTradeNo, outRefundNo and refundStatus are required)');
  }
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
        ...(typeof e.refundId === 'string' ? { refundId: e.refundId } : {}),
        status,
        ...(Number.isInteger(e.refundFee) ? { refundFee: e.refundFee as number } : {}),
        ...(Number.isInteger(e.totalFee) ? { totalFee: e.totalFee as number } : {}),
        ...(parseWechatTime(e.successTime) !== undefined ? { successTime: parseWechatTime(e.successTime)! } : {}),
      },
      deps.orders,
      deps.log,
      deps.confirm ? { confirm: deps.confirm } : {},
    );
    if (outcome.kind === 'not-yet-paid') return cloudPayRetry('the order is not paid yet; deliver this refund result again later');
    if (outcome.kind === 'unconfirmed') return cloudPayRetry(`not applied: ${outcome.reason}`);
    return cloudPayAck(outcome.kind === 'refunded' || outcome.kind === 'reverted' ? 'OK' : `OK (${outcome.kind})`);
  } catch (err) {
    deps.log({ event: 'cloudpay.transient_failure', outTradeNo: e.outTradeNo, reason: errorMessage(err) });
    return cloudPayRetry(`temporarily unable to record the refund: ${errorMessage(err)}`);
  }
}

export type { OrderRecord };
