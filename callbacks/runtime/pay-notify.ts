import { HeaderBag, parseNotification, PayError, WechatpayVerifier, parseWechatTime } from '../../wxpay';
import type { CloudPayPaymentEvent, QueryOrderOutput, V3Transaction } from '../../schemas/types.generated';
import { OrdersPort, transition } from './orders';
import { OrderStatus } from '../../datasources/order-status';
import { CallbackLog, CloudPayAnswer, cloudPayAck, cloudPayRetry, errorMessage, HttpAnswer, httpAck, httpRetry } from './answers';
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
export type PaymentConfirmation = (payment: PaymentFacts) => Promise<{ confirmed: true } | { confirmed: false; reason: string }>;

export type PaymentOutcome =
  | { kind: 'paid'; orderNo: string }
  | { kind: 'duplicate'; orderNo: string; status: number }
  | { kind: 'unknown-order'; orderNo: string }
  | { kind: 'amount-mismatch'; orderNo: string; expected: number; got: number }
  | { kind: 'not-payable'; orderNo: string; status: number }
  | { kind: 'unconfirmed'; orderNo: string; reason: string };

export interface ApplyPaymentOptions {
  confirm?: PaymentConfirmation;
  notifyPayer?: PayerNotifier;
}

/**
 * Marks an order paid, idempotently. Nothing here is retried by WeChat Pay unless it throws: unknown orders
 * and amount mismatches are permanent, so they are logged and acknowledged rather than bounced 15 times.
 * Used by both notification paths and by reconcile (a lost callback found by queryOrder).
 */
export async function applyPaymentSuccess(payment: PaymentFacts, orders: OrdersPort, log: CallbackLog, opts: ApplyPaymentOptions = {}): Promise<PaymentOutcome> {
  const f = orders.fields;
  const order = await orders.find(payment.outTradeNo);
  if (!order) {
    log({ event: 'payment.unknown_order', outTradeNo: payment.outTradeNo, transactionId: payment.transactionId });
    return { kind: 'unknown-order', orderNo: payment.outTradeNo };
  }
  const expected = Number(order[f.amount]);
  if (expected !== payment.totalFee) {
    log({ event: 'payment.amount_mismatch', outTradeNo: payment.outTradeNo, expected, got: payment.totalFee, transactionId: payment.transactionId });
    return { kind: 'amount-mismatch', orderNo: payment.outTradeNo, expected, got: payment.totalFee };
  }
  const status = Number(order[f.status]);
  if (status === OrderStatus.UNPAID) {
    if (opts.confirm) {
      const check = await opts.confirm(payment);
      if (!check.confirmed) {
        log({ event: 'payment.unconfirmed', outTradeNo: payment.outTradeNo, reason: check.reason });
        return { kind: 'unconfirmed', orderNo: payment.outTradeNo, reason: check.reason };
      }
    }
    const openid = payment.openid || (order[f.openid] as string | undefined);
    const moved = await transition(orders, payment.outTradeNo, OrderStatus.UNPAID, OrderStatus.PAID, {
      [f.transactionId]: payment.transactionId,
      [f.paidAt]: payment.paidAt,
      ...(payment.openid ? { [f.openid]: payment.openid } : {}),
    });
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
    log({ event: 'payment.duplicate', outTradeNo: payment.outTradeNo, status });
    return { kind: 'duplicate', orderNo: payment.outTradeNo, status };
  }
  log({ event: 'payment.not_payable', outTradeNo: payment.outTradeNo, status });
  return { kind: 'not-payable', orderNo: payment.outTradeNo, status };
}

/**
 * A cloud function can be invoked by anyone who can call functions in the environment (a mini-program
 * client with `wx.cloud.callFunction` included), so a CloudPay "payment event" proves nothing by itself
 * (peers.md §3.5). Before an unpaid order is marked paid, queryOrder must agree: paid, same amount, same
 * transaction. Duplicates of an applied event never get here (the order is no longer unpaid).
 */
export function confirmByQuery(queryOrder: (outTradeNo: string) => Promise<QueryOrderOutput>): PaymentConfirmation {
  return async (payment) => {
    let q: QueryOrderOutput;
    try {
      q = await queryOrder(payment.outTradeNo);
    } catch (err) {
      if (err instanceof PayError && err.code === 'ORDER_NOT_EXIST') return { confirmed: false, reason: 'queryOrder: WeChat Pay has no such order' };
      throw err;
    }
    if (q.tradeState !== 'SUCCESS' && q.tradeState !== 'REFUND') return { confirmed: false, reason: `queryOrder says ${q.tradeState}` };
    if (q.totalFee !== payment.totalFee) return { confirmed: false, reason: `queryOrder total ${q.totalFee} ≠ event total ${payment.totalFee}` };
    if (payment.transactionId && q.transactionId && q.transactionId !== payment.transactionId) {
      return { confirmed: false, reason: `queryOrder transaction ${q.transactionId} ≠ event transaction ${payment.transactionId}` };
    }
    return { confirmed: true };
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

/**
 * The v3 payment notification endpoint. Acknowledge = 204 (WeChat Pay decides by HTTP status, wxpay-v3.md §4);
 * a signature that does not verify gets 401 so WeChat resends properly signed (probes included, §3); a
 * transient failure of the data store gets 500 so it is retried; everything permanent is acknowledged.
 */
export async function handleV3PayNotification(req: { headers: HeaderBag; rawBody: string | Buffer }, deps: V3PayNotifyDeps): Promise<HttpAnswer> {
  let transaction: V3Transaction;
  let eventType: string;
  try {
    const parsed = parseNotification<V3Transaction>({ headers: req.headers, rawBody: req.rawBody, verifier: deps.verifier, apiV3Key: deps.apiV3Key });
    transaction = parsed.resource;
    eventType = parsed.envelope.event_type;
  } catch (err) {
    const e = err instanceof PayError ? err : new PayError({ code: 'INVALID_REQUEST', message: String(err) });
    deps.log({ event: 'notification.rejected', code: e.code, reason: e.message });
    return { status: e.code === 'SIGN_ERROR' ? 401 : 400, body: { code: 'FAIL', message: e.message } };
  }
  if (eventType !== 'TRANSACTION.SUCCESS' || transaction.trade_state !== 'SUCCESS') {
    deps.log({ event: 'notification.ignored', eventType, tradeState: transaction.trade_state, outTradeNo: transaction.out_trade_no });
    return httpAck();
  }
  if (transaction.mchid !== deps.mchid || transaction.appid !== deps.appid) {
    deps.log({ event: 'notification.foreign', mchid: transaction.mchid, appid: transaction.appid, outTradeNo: transaction.out_trade_no });
    return httpAck();
  }
  try {
    await applyPaymentSuccess(
      {
        outTradeNo: transaction.out_trade_no,
        transactionId: transaction.transaction_id ?? '',
        totalFee: transaction.amount.total,
        paidAt: parseWechatTime(transaction.success_time) ?? (deps.now ?? Date.now)(),
        ...(transaction.payer?.openid ? { openid: transaction.payer.openid } : {}),
      },
      deps.orders,
      deps.log,
      deps.notifyPayer ? { notifyPayer: deps.notifyPayer } : {},
    );
    return httpAck();
  } catch (err) {
    deps.log({ event: 'notification.transient_failure', outTradeNo: transaction.out_trade_no, reason: errorMessage(err) });
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
 * Answers `{ errcode: 0, errmsg }` unless something transient failed: the data store, or queryOrder
 * (then a non-zero errcode, and CloudPay delivers again).
 */
export async function handleCloudPayPayment(event: unknown, deps: CloudPayPayNotifyDeps): Promise<CloudPayAnswer> {
  const e = (event ?? {}) as Partial<CloudPayPaymentEvent> & Record<string, unknown>;
  deps.log({ event: 'cloudpay.payment_event', outTradeNo: e.outTradeNo, transactionId: e.transactionId, resultCode: e.resultCode, totalFee: e.totalFee });
  if (typeof e.outTradeNo !== 'string' || e.outTradeNo === '' || !Number.isInteger(e.totalFee)) {
    // Not a payment event (a stray invocation): nothing will make it one, so do not ask for it again.
    deps.log({ event: 'cloudpay.malformed_event', keys: Object.keys(e).slice(0, 20) });
    return cloudPayAck('ignored: not a CloudPay payment event (outTradeNo and integer totalFee are required)');
  }
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
        transactionId: typeof e.transactionId === 'string' ? e.transactionId : '',
        totalFee: e.totalFee as number,
        paidAt: parseWechatTime(e.timeEnd) ?? (deps.now ?? Date.now)(),
        // The payer under the mini-program's appid is subOpenid; openid is under CloudPay's own appid (§5.4).
        ...(e.subOpenid ? { openid: e.subOpenid } : {}),
      },
      deps.orders,
      deps.log,
      { ...(deps.confirm ? { confirm: deps.confirm } : {}), ...(deps.notifyPayer ? { notifyPayer: deps.notifyPayer } : {}) },
    );
    if (outcome.kind === 'unconfirmed') return cloudPayRetry(`not applied: ${outcome.reason}`);
    return cloudPayAck(outcome.kind === 'paid' ? 'OK' : `OK (${outcome.kind})`);
  } catch (err) {
    deps.log({ event: 'cloudpay.transient_failure', outTradeNo: e.outTradeNo, reason: errorMessage(err) });
    return cloudPayRetry(`temporarily unable to record the payment: ${errorMessage(err)}`);
  }
}
