import { HeaderBag, PayError, WechatpayVerifier, parseWechatTime } from '../../wxpay';
import type { CloudPayPaymentEvent, QueryOrderOutput, V3Transaction } from '../../schemas/types.generated';
import { OrdersPort, transition } from './orders';
import { OrderStatus } from '../../datasources/order-status';
import { CallbackLog, CloudPayAnswer, cloudPayAck, cloudPayRefused, cloudPayRetry, errorMessage, HttpAnswer, httpAck, httpRetry, logRefusal } from './answers';
import { asDelivered, Confirmation, ownText, shapeProblem } from './received';
import { openV3Notification } from './v3-notification';
import type { PayerNotifier } from './payer-message';

export type { CallbackLog, HttpAnswer } from './answers';

/** A payment as both backends report it, reduced to what the order needs. */
export interface PaymentFacts {
  outTradeNo: string;
  transactionId: string;
  /** Order amount (amount.total / totalFee), not what the payer paid after coupons (peers.md §3.5). */
  totalFee: number;
  paidAt: number;
  openid?: string;
}

/** Asks WeChat Pay itself before an unpaid order is marked paid (see `confirmByQuery`). */
export type PaymentConfirmation = (claimed: PaymentFacts) => Promise<Confirmation<PaymentFacts>>;

export type PaymentOutcome =
  | { kind: 'paid'; orderNo: string }
  | { kind: 'duplicate'; orderNo: string; status: number }
  | { kind: 'unknown-order'; orderNo: string }
  | { kind: 'amount-mismatch'; orderNo: string; expected: number; got: number }
  | { kind: 'not-payable'; orderNo: string; status: number }
  | { kind: 'unconfirmed'; orderNo: string; reason: string; retry: boolean };

export interface ApplyPaymentOptions {
  confirm?: PaymentConfirmation;
  notifyPayer?: PayerNotifier;
}

/**
 * Marks an order paid, idempotently. Nothing here is retried by WeChat Pay unless it throws: unknown orders
 * and amount mismatches are permanent, so they are logged and acknowledged rather than bounced 15 times.
 * Used by both notification paths and by reconcile (a lost callback found by queryOrder).
 */
export async function applyPaymentSuccess(reported: PaymentFacts, orders: OrdersPort, log: CallbackLog, opts: ApplyPaymentOptions = {}): Promise<PaymentOutcome> {
  const f = orders.fields;
  const order = await orders.find(reported.outTradeNo);
  if (!order) {
    log({ event: 'payment.unknown_order', outTradeNo: reported.outTradeNo, transactionId: reported.transactionId });
    return { kind: 'unknown-order', orderNo: reported.outTradeNo };
  }
  const expected = Number(order[f.amount]);
  if (expected !== reported.totalFee) {
    log({ event: 'payment.amount_mismatch', outTradeNo: reported.outTradeNo, expected, got: reported.totalFee, transactionId: reported.transactionId });
    return { kind: 'amount-mismatch', orderNo: reported.outTradeNo, expected, got: reported.totalFee };
  }
  const status = Number(order[f.status]);
  if (status === OrderStatus.UNPAID) {
    let payment = reported;
    if (opts.confirm) {
      const check = await opts.confirm(reported);
      if (!check.confirmed) {
        logRefusal(log, 'payment.unconfirmed', check.reason, reported.outTradeNo, { retry: check.retry, ...(check.detail ?? {}) });
        return { kind: 'unconfirmed', orderNo: reported.outTradeNo, reason: check.reason, retry: check.retry };
      }
      // From here on, only what WeChat Pay answered: the payer (and so who gets the payer message), the time, the transaction.
      payment = check.facts;
    }
    const openid = payment.openid || (order[f.openid] as string | undefined);
    // Two literals rather than a conditional spread, which V8 builds slowly.
    const moved = await transition(orders, payment.outTradeNo, OrderStatus.UNPAID, OrderStatus.PAID, payment.openid
      ? { [f.transactionId]: payment.transactionId, [f.paidAt]: payment.paidAt, [f.openid]: payment.openid }
      : { [f.transactionId]: payment.transactionId, [f.paidAt]: payment.paidAt });
    if (moved) {
      log({ event: 'payment.applied', outTradeNo: payment.outTradeNo, transactionId: payment.transactionId });
      if (opts.notifyPayer) {
        await opts.notifyPayer({
          orderNo: payment.outTradeNo,
          ...(openid ? { openid } : {}),
          amountFen: payment.totalFee,
          paidAt: payment.paidAt,
          transactionId: payment.transactionId,
          ...(typeof order[f.goodsName] === 'string' ? { goodsName: order[f.goodsName] as string } : {}),
        });
      }
      return { kind: 'paid', orderNo: payment.outTradeNo };
    }
    // Lost a race with a concurrent delivery of the same notification: that one moved it.
    const now = await orders.find(payment.outTradeNo);
    return { kind: 'duplicate', orderNo: payment.outTradeNo, status: Number(now?.[f.status]) };
  }
  if (status === OrderStatus.PAID || status === OrderStatus.REFUNDING || status === OrderStatus.REFUNDED) {
    log({ event: 'payment.duplicate', outTradeNo: reported.outTradeNo, status });
    return { kind: 'duplicate', orderNo: reported.outTradeNo, status };
  }
  log({ event: 'payment.not_payable', outTradeNo: reported.outTradeNo, status });
  return { kind: 'not-payable', orderNo: reported.outTradeNo, status };
}

/**
 * A cloud function can be invoked by anyone who can call functions in the environment (a mini-program
 * client with `wx.cloud.callFunction` included), so a CloudPay "payment event" proves nothing by itself
 * (peers.md §3.5): it only names the order to look at. Before an unpaid order is marked paid, queryOrder must show
 * it paid, and agree with the event on amount, transaction and payer — a genuine event carries WeChat Pay's own
 * values (wxpay-v2-cloudpay.md §5.4), so any difference means the event is not genuine: refused for good. Not paid
 * yet (or not known yet) is different: a genuine event can outrun what queryOrder shows, so that one is asked for
 * again. What is then written is queryOrder's answer. Duplicates of an applied event never get here (the order
 * is no longer unpaid).
 */
export function confirmByQuery(queryOrder: (outTradeNo: string) => Promise<QueryOrderOutput>, now: () => number = Date.now): PaymentConfirmation {
  return async (claimed) => {
    let q: QueryOrderOutput;
    try {
      q = await queryOrder(claimed.outTradeNo);
    } catch (err) {
      if (err instanceof PayError && err.code === 'ORDER_NOT_EXIST') return { confirmed: false, retry: true, reason: 'queryOrder: WeChat Pay has no such order' };
      throw err;
    }
    if (q.tradeState === 'NOTPAY' || q.tradeState === 'USERPAYING' || q.tradeState === 'ACCEPT') {
      return { confirmed: false, retry: true, reason: `queryOrder says ${q.tradeState}` };
    }
    if (q.tradeState !== 'SUCCESS' && q.tradeState !== 'REFUND') return { confirmed: false, retry: false, reason: `queryOrder says ${q.tradeState}` };
    const differs = (field: string, event: unknown, wechat: unknown) => ({
      confirmed: false as const, retry: false, reason: `the event's ${field} is not WeChat Pay's (queryOrder)`, detail: { field, claimed: event, wechat },
    });
    if (q.outTradeNo !== claimed.outTradeNo) return differs('outTradeNo', claimed.outTradeNo, q.outTradeNo);
    if (q.totalFee !== claimed.totalFee) return differs('totalFee', claimed.totalFee, q.totalFee);
    if (!q.transactionId || q.transactionId !== claimed.transactionId) return differs('transactionId', claimed.transactionId, q.transactionId);
    if (claimed.openid && q.openid && q.openid !== claimed.openid) return differs('payer openid', claimed.openid, q.openid);
    const paidAt = parseWechatTime(q.successTime);
    return {
      confirmed: true,
      facts: { outTradeNo: q.outTradeNo, transactionId: q.transactionId, totalFee: q.totalFee, paidAt: paidAt ?? now(), ...(q.openid ? { openid: q.openid } : {}) },
    };
  };
}

export interface V3PayNotifyDeps {
  verifier: WechatpayVerifier;
  apiV3Key: string;
  mchid: string;
  appid: string;
  orders: OrdersPort;
  log: CallbackLog;
  notifyPayer?: PayerNotifier;
  /** The clock for a payment time WeChat Pay did not give (default Date.now). */
  now?: () => number;
}

const isTransactionSuccess = (eventType: string): boolean => eventType === 'TRANSACTION.SUCCESS';

/**
 * The v3 payment notification endpoint. Acknowledge = 204 (WeChat Pay decides by HTTP status, wxpay-v3.md §4);
 * what cannot be opened or is not a documented transaction is refused (`openV3Notification`: 401 for a signature,
 * 400 for the rest); a transient failure of the data store gets 500 so it is retried; everything permanent about
 * the order (unknown, amount mismatch) is acknowledged. The facts written come from the signed resource.
 */
export async function handleV3PayNotification(req: { headers: HeaderBag; rawBody: string | Buffer }, deps: V3PayNotifyDeps): Promise<HttpAnswer> {
  const opened = openV3Notification<V3Transaction>(req, {
    verifier: deps.verifier, apiV3Key: deps.apiV3Key, log: deps.log, kind: 'payment', handles: isTransactionSuccess, schema: 'v3Transaction',
  });
  if ('answer' in opened) return opened.answer;
  const transaction = opened.resource;
  if (transaction.trade_state !== 'SUCCESS') {
    deps.log({ event: 'notification.ignored', eventType: opened.eventType, tradeState: transaction.trade_state, outTradeNo: transaction.out_trade_no });
    return httpAck();
  }
  if (transaction.mchid !== deps.mchid || transaction.appid !== deps.appid) {
    deps.log({ event: 'notification.foreign', mchid: transaction.mchid, appid: transaction.appid, outTradeNo: transaction.out_trade_no });
    return httpAck();
  }
  try {
    const reported: PaymentFacts = {
      outTradeNo: transaction.out_trade_no,
      transactionId: transaction.transaction_id ?? '',
      totalFee: transaction.amount.total,
      paidAt: parseWechatTime(transaction.success_time) ?? (deps.now ?? Date.now)(),
    };
    if (transaction.payer?.openid) reported.openid = transaction.payer.openid;
    await applyPaymentSuccess(reported, deps.orders, deps.log, deps.notifyPayer ? { notifyPayer: deps.notifyPayer } : {});
    return httpAck();
  } catch (err) {
    logRefusal(deps.log, 'notification.transient_failure', errorMessage(err), transaction.out_trade_no, { retry: true });
    return httpRetry('temporarily unable to record the payment');
  }
}

export interface CloudPayPayNotifyDeps {
  orders: OrdersPort;
  log: CallbackLog;
  /** The merchant number; an event for another merchant is acknowledged and ignored. */
  subMchId?: string;
  /** Usually `confirmByQuery(connector queryOrder)`; without it the event is trusted as is. */
  confirm?: PaymentConfirmation;
  notifyPayer?: PayerNotifier;
  /** The clock for a payment time the event does not give (default Date.now). */
  now?: () => number;
}

/**
 * The CloudPay payment callback function's body (wxpay-v2-cloudpay.md §5.4): the event is the v2
 * notification camelCased (`returnCode, resultCode, outTradeNo, transactionId, totalFee, subOpenid, timeEnd…`).
 * Answers `{ errcode: 0, errmsg }` when handled (applied, or nothing to apply: a duplicate, an unknown order, an
 * amount mismatch, an unsuccessful payment, another merchant); a non-zero errcode when not accepted: refused (not
 * a CloudPay payment event, or contradicted by queryOrder — see `cloudPayRefused`) or "deliver again" (queryOrder
 * does not show the payment yet, the data store failed).
 */
export async function handleCloudPayPayment(event: unknown, deps: CloudPayPayNotifyDeps): Promise<CloudPayAnswer> {
  const delivered = asDelivered(event);
  const problem = delivered === undefined ? 'it is not JSON' : shapeProblem('cloudPayPayment', delivered)
    // Only successful payments are delivered, each with WeChat Pay's transaction id (§5.4).
    ?? ((delivered as CloudPayPaymentEvent).resultCode === 'SUCCESS' && !(delivered as CloudPayPaymentEvent).transactionId ? 'transactionId is required for a successful payment' : undefined);
  if (problem) {
    logRefusal(deps.log, 'cloudpay.malformed_event', `not a CloudPay payment event: ${problem}`, ownText(delivered, 'outTradeNo'));
    return cloudPayRefused(`not a CloudPay payment event: ${problem}`);
  }
  const e = delivered as CloudPayPaymentEvent;
  if (e.returnCode !== 'SUCCESS' || e.resultCode !== 'SUCCESS') {
    deps.log({ event: 'cloudpay.payment_not_successful', outTradeNo: e.outTradeNo, returnCode: e.returnCode, resultCode: e.resultCode, errCodeDes: e.errCodeDes });
    return cloudPayAck('ignored: not a successful payment');
  }
  if (deps.subMchId && e.subMchId && e.subMchId !== deps.subMchId) {
    deps.log({ event: 'cloudpay.foreign', subMchId: e.subMchId, outTradeNo: e.outTradeNo });
    return cloudPayAck('ignored: another merchant');
  }
  try {
    const outcome = await applyPaymentSuccess(
      {
        outTradeNo: e.outTradeNo,
        transactionId: e.transactionId!,
        totalFee: e.totalFee,
        paidAt: parseWechatTime(e.timeEnd) ?? (deps.now ?? Date.now)(),
        // The payer under the mini-program's appid is subOpenid; openid is under CloudPay's own appid (§5.4).
        ...(e.subOpenid ? { openid: e.subOpenid } : {}),
      },
      deps.orders,
      deps.log,
      { ...(deps.confirm ? { confirm: deps.confirm } : {}), ...(deps.notifyPayer ? { notifyPayer: deps.notifyPayer } : {}) },
    );
    if (outcome.kind === 'unconfirmed') return outcome.retry ? cloudPayRetry(`not applied: ${outcome.reason}; deliver again`) : cloudPayRefused(outcome.reason);
    return cloudPayAck(outcome.kind === 'paid' ? 'OK' : `OK (${outcome.kind})`);
  } catch (err) {
    logRefusal(deps.log, 'cloudpay.transient_failure', errorMessage(err), e.outTradeNo, { retry: true });
    return cloudPayRetry('temporarily unable to record the payment; deliver again');
  }
}
