import { HeaderBag, parseNotification, PayError, WechatpayVerifier } from '../../wxpay';
import type { V3Transaction } from '../../schemas/types.generated';
import { OrdersRepository } from './orders';
import { OrderStatus } from './order-status';

/** A payment as both backends report it, reduced to what the order needs. */
export interface PaymentFacts {
  outTradeNo: string;
  transactionId: string;
  /** Order amount (amount.total / totalFee), not what the payer paid after coupons (peers.md §3.5). */
  totalFee: number;
  paidAt: number;
  openid?: string;
}

export type PaymentOutcome =
  | { kind: 'paid'; orderNo: string }
  | { kind: 'duplicate'; orderNo: string; status: number }
  | { kind: 'unknown-order'; orderNo: string }
  | { kind: 'amount-mismatch'; orderNo: string; expected: number; got: number }
  | { kind: 'not-payable'; orderNo: string; status: number };

export type CallbackLog = (event: Record<string, unknown>) => void;

/**
 * Marks an order paid, idempotently. Nothing here is retried by WeChat Pay unless it throws: unknown orders
 * and amount mismatches are permanent, so they are logged and acknowledged rather than bounced 15 times.
 */
export async function applyPaymentSuccess(payment: PaymentFacts, orders: OrdersRepository, log: CallbackLog): Promise<PaymentOutcome> {
  const f = orders.fields;
  const order = await orders.findByOrderNo(payment.outTradeNo);
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
    const moved = await orders.transition(payment.outTradeNo, OrderStatus.UNPAID, OrderStatus.PAID, {
      [f.transactionId]: payment.transactionId,
      [f.paidAt]: payment.paidAt,
      ...(payment.openid ? { [f.openid]: payment.openid } : {}),
    });
    if (moved) {
      log({ event: 'payment.applied', outTradeNo: payment.outTradeNo, transactionId: payment.transactionId });
      return { kind: 'paid', orderNo: payment.outTradeNo };
    }
    // Lost a race with a concurrent delivery of the same notification: that one moved it.
    const now = await orders.findByOrderNo(payment.outTradeNo);
    return { kind: 'duplicate', orderNo: payment.outTradeNo, status: Number(now?.[f.status]) };
  }
  if (status === OrderStatus.PAID || status === OrderStatus.REFUNDING || status === OrderStatus.REFUNDED) {
    log({ event: 'payment.duplicate', outTradeNo: payment.outTradeNo, status });
    return { kind: 'duplicate', orderNo: payment.outTradeNo, status };
  }
  log({ event: 'payment.not_payable', outTradeNo: payment.outTradeNo, status });
  return { kind: 'not-payable', orderNo: payment.outTradeNo, status };
}

export interface V3PayNotifyDeps {
  verifier: WechatpayVerifier;
  apiV3Key: string;
  mchid: string;
  appid: string;
  orders: OrdersRepository;
  log: CallbackLog;
}

export interface HttpAnswer {
  status: number;
  body?: { code: string; message: string };
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
    return { status: 204 };
  }
  if (transaction.mchid !== deps.mchid || transaction.appid !== deps.appid) {
    deps.log({ event: 'notification.foreign', mchid: transaction.mchid, appid: transaction.appid, outTradeNo: transaction.out_trade_no });
    return { status: 204 };
  }
  try {
    await applyPaymentSuccess(
      {
        outTradeNo: transaction.out_trade_no,
        transactionId: transaction.transaction_id ?? '',
        totalFee: transaction.amount.total,
        paidAt: transaction.success_time ? Date.parse(transaction.success_time) : Date.now(),
        ...(transaction.payer?.openid ? { openid: transaction.payer.openid } : {}),
      },
      deps.orders,
      deps.log,
    );
    return { status: 204 };
  } catch (err) {
    deps.log({ event: 'notification.transient_failure', outTradeNo: transaction.out_trade_no, reason: (err as Error).message });
    return { status: 500, body: { code: 'FAIL', message: 'temporarily unable to record the payment' } };
  }
}
