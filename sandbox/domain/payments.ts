import { toRfc3339Cst } from '../../wxpay';
import type { SandboxState } from '../state';
import type { TransactionRow } from '../state/transactions';
import { SandboxClock } from './clock';
import { orderClosed, orderNotExist, orderPaid, SandboxError } from './errors';
import { DomainEvents } from './events';
import { newCodeUrl, newNotificationId, newPrepayId, newTransactionId } from './ids';
import { Merchant } from './merchant';
import { JsapiPrepayRequest, NativePrepayRequest } from './prepay-validation';
import { transactionResource } from './resources';

/** prepay_id is valid for 2 hours (wxpay-v3.md §1.1). */
export const PREPAY_ID_TTL_MS = 2 * 3600_000;
/** time_expire is clamped to ≥ now + 1 min and ≤ now + 90 days; absent, an order is payable for 7 days (§1.1). */
export const MIN_EXPIRE_MS = 60_000;
export const MAX_EXPIRE_MS = 90 * 86_400_000;
export const DEFAULT_EXPIRE_MS = 7 * 86_400_000;
/** The one simulated user who scans Native `code_url`s: the payer.openid of paid Native orders (under the sandbox appid). */
export const NATIVE_PAYER_OPENID = 'oSandboxNativeScanner0000000';
/** WeChat closes an unpaid order by itself after ~7 days (§1.2, skills 订单状态流转.md). */
export const AUTO_CLOSE_MS = 7 * 86_400_000;

/**
 * How the simulated user's payment ends (control `POST /sandbox/transactions/{no}/pay`). The mapping, for JSAPI:
 * - `SUCCESS`: NOTPAY → SUCCESS, TRANSACTION.SUCCESS to notify_url.
 * - `NOT_ENOUGH` (balance too low) and `USER_CANCEL` (sheet closed): the order stays NOTPAY — on WeChat the user can
 *   still pay with another card until time_expire, and WeChat sends no notification for a failed JSAPI attempt.
 * - `PAYERROR`: trade_state PAYERROR (支付失败). WeChat documents PAYERROR for 付款码 orders; the sandbox lets you
 *   drive a JSAPI order there so a connector's handling of that documented state can be tested. It can only be closed.
 * No failure sends a notification.
 */
export type PayResult = 'SUCCESS' | 'NOT_ENOUGH' | 'PAYERROR' | 'USER_CANCEL';
export const PAY_RESULTS: readonly PayResult[] = ['SUCCESS', 'NOT_ENOUGH', 'PAYERROR', 'USER_CANCEL'];

const PAY_FAILURE_MESSAGES: Record<Exclude<PayResult, 'SUCCESS'>, string> = {
  NOT_ENOUGH: '用户余额不足，支付未完成（订单仍为 NOTPAY，用户可换卡重试）',
  PAYERROR: '支付失败（银行返回失败），订单状态 PAYERROR',
  USER_CANCEL: '用户取消支付（关闭了支付弹窗），订单仍为 NOTPAY',
};

export interface PaymentsDeps {
  state: Pick<SandboxState, 'sql' | 'transactions' | 'outbox'>;
  clock: SandboxClock;
  merchant: Merchant;
  events: DomainEvents;
  /** Called once a notification has been queued: the outbox should look now. */
  wake: () => void;
}

/** Effective expiry of an order (§1.1): time_expire clamped to [created + 1 min, created + 90 days]; absent → 7 days. */
export function effectiveExpiry(createdAt: number, timeExpire: string | null | undefined): number {
  if (!timeExpire) return createdAt + DEFAULT_EXPIRE_MS;
  const t = Date.parse(timeExpire);
  return Math.min(Math.max(t, createdAt + MIN_EXPIRE_MS), createdAt + MAX_EXPIRE_MS);
}

export function expiryOf(row: TransactionRow): number {
  return row.expires_at ?? effectiveExpiry(row.created_at, row.time_expire);
}

/**
 * The payment state machine (wxpay-v3.md §8 item 3: NOTPAY→SUCCESS→REFUND, NOTPAY→CLOSED), independent of HTTP so
 * the v3 routes, the control routes and the CloudPay façade drive the same state. Errors are v3 SandboxErrors.
 * An order with `notify_url` '' gets no v3 notification (the CloudPay façade, listening to the events, calls its
 * cloud function instead).
 */
export class Payments {
  private readonly state: PaymentsDeps['state'];

  constructor(private readonly d: PaymentsDeps) {
    this.state = d.state;
  }

  /** JSAPI prepay (§1.1): re-entrant on identical params (a fresh prepay_id), INVALID_REQUEST on changed params. */
  prepay(req: JsapiPrepayRequest, canonicalRequest: string): { prepay_id: string } {
    return { prepay_id: this.placeOrder(req, 'JSAPI', req.payer.openid, canonicalRequest) };
  }

  /**
   * Native prepay: the JSAPI order rules; the answer is the `code_url` the user scans (`{"code_url": …}`, §6 V4). The
   * session behind it is kept as a prepay_id, valid 2 hours like JSAPI's, so the control API pays both alike; the
   * payer is {@link NATIVE_PAYER_OPENID}.
   */
  prepayNative(req: NativePrepayRequest, canonicalRequest: string): { code_url: string } {
    this.placeOrder(req, 'NATIVE', NATIVE_PAYER_OPENID, canonicalRequest);
    return { code_url: newCodeUrl() };
  }

  /** Creates the order (or re-enters it, §1.1) and issues a fresh prepay_id for it. */
  private placeOrder(req: NativePrepayRequest, tradeType: 'JSAPI' | 'NATIVE', payerOpenid: string, canonicalRequest: string): string {
    if (req.appid !== this.d.merchant.appid) {
      throw new SandboxError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配', { field: '/appid', location: 'body', issue: `appid ${req.appid} is not bound to mchid ${req.mchid}; the sandbox merchant's appid is ${this.d.merchant.appid}` });
    }
    const now = this.d.clock.now();
    let created: TransactionRow | undefined;
    const result = this.state.sql.transaction(() => {
      const existing = this.state.transactions.find(req.mchid, req.out_trade_no);
      if (existing) this.checkReentry(existing, tradeType, canonicalRequest, now);
      else {
        const expiresAt = effectiveExpiry(now, req.time_expire);
        const autoCloseAt = Math.max(now + AUTO_CLOSE_MS, expiresAt);
        this.state.transactions.insert({
          mchid: req.mchid,
          out_trade_no: req.out_trade_no,
          appid: req.appid,
          description: req.description,
          notify_url: req.notify_url,
          attach: req.attach ?? null,
          time_expire: req.time_expire ?? null,
          amount_total: req.amount.total,
          currency: req.amount.currency,
          payer_openid: payerOpenid,
          device_id: req.scene_info?.device_id ?? null,
          request_json: canonicalRequest,
          trade_type: tradeType,
          created_at: now,
          expires_at: expiresAt,
          auto_close_at: autoCloseAt,
        });
        created = this.state.transactions.find(req.mchid, req.out_trade_no);
      }
      const prepayId = newPrepayId(now);
      this.state.transactions.addPrepayId({ prepayId, mchid: req.mchid, outTradeNo: req.out_trade_no, createdAt: now, expiresAt: now + PREPAY_ID_TTL_MS });
      return prepayId;
    });
    if (created) this.d.events.emit('transaction.created', created);
    return result;
  }

  private checkReentry(existing: TransactionRow, tradeType: 'JSAPI' | 'NATIVE', canonicalRequest: string, now: number): void {
    if (existing.trade_state === 'SUCCESS' || existing.trade_state === 'REFUND') throw orderPaid();
    if (existing.trade_state === 'CLOSED') throw orderClosed();
    if (existing.trade_type !== tradeType) {
      throw new SandboxError(400, 'INVALID_REQUEST', '201 商户订单号重复', { field: '/out_trade_no', location: 'body', issue: `out_trade_no was used for a ${existing.trade_type} order; place this ${tradeType} order with a new out_trade_no` });
    }
    if (existing.request_json !== canonicalRequest) {
      throw new SandboxError(400, 'INVALID_REQUEST', '请求重入时，参数与首次请求时不一致', { location: 'body', issue: 'out_trade_no was used before with different parameters' }, 268498688);
    }
    if (existing.trade_state === 'PAYERROR') {
      throw new SandboxError(400, 'INVALID_REQUEST', '201 商户订单号重复', { field: '/out_trade_no', location: 'body', issue: 'the payment of this order failed (PAYERROR); place a new order with a new out_trade_no' });
    }
    if (expiryOf(existing) <= now) {
      throw new SandboxError(400, 'INVALID_REQUEST', '201 商户订单号重复', { field: '/out_trade_no', location: 'body', issue: 'the order has expired (time_expire); place a new order with a new out_trade_no' });
    }
  }

  /** Query by out_trade_no: unpaid and paid orders (§1.2). */
  queryByOutTradeNo(mchid: string, outTradeNo: string): Record<string, unknown> {
    const row = this.state.transactions.find(mchid, outTradeNo);
    if (!row) throw orderNotExist();
    return transactionResource(row);
  }

  /** Query by transaction_id: exists only after payment (§1.2). */
  queryByTransactionId(mchid: string, transactionId: string): Record<string, unknown> {
    const row = this.state.transactions.findByTransactionId(mchid, transactionId);
    if (!row) throw orderNotExist();
    return transactionResource(row);
  }

  /**
   * Close (§1.3): re-entrant; a paid order cannot be closed (ORDER_PAID [unconfirmed status]); closing an unknown
   * number answers 204 like the real API is observed to [community].
   */
  close(mchid: string, outTradeNo: string): void {
    const row = this.state.transactions.find(mchid, outTradeNo);
    if (!row || row.trade_state === 'CLOSED') return;
    if (row.trade_state === 'SUCCESS' || row.trade_state === 'REFUND' || !this.state.transactions.markClosed(mchid, outTradeNo, this.d.clock.now())) throw orderPaid();
    this.d.events.emit('transaction.closed', this.state.transactions.find(mchid, outTradeNo)!);
  }

  /**
   * The simulated user pays (or fails to): see {@link PayResult} for the mapping. Refused with 409 when the order
   * cannot be paid any more: paid, closed, PAYERROR, past its time_expire, or its newest prepay_id (or the given
   * one) older than 2 hours — as `wx.requestPayment` would fail. Returns the Transaction object.
   */
  pay(outTradeNo: string, result: PayResult, opts: { prepayId?: string; mchid?: string } = {}): Record<string, unknown> {
    const mchid = opts.mchid ?? this.d.merchant.mchid;
    let paidRow: TransactionRow | undefined;
    const resource = this.state.sql.transaction(() => {
      const row = this.state.transactions.find(mchid, outTradeNo);
      if (!row) throw orderNotExist();
      const now = this.d.clock.now();
      this.checkPayable(row, now, opts.prepayId);
      if (result === 'SUCCESS') {
        this.state.transactions.markPaid(mchid, outTradeNo, {
          transactionId: newTransactionId(now),
          bankType: 'OTHERS',
          payerTotal: row.amount_total, // no coupons in the sandbox: the payer pays the total
          successTime: toRfc3339Cst(now),
          at: now,
        });
        paidRow = this.state.transactions.find(mchid, outTradeNo)!;
        const paid = transactionResource(paidRow);
        if (row.notify_url !== '') {
          this.state.outbox.enqueue({
            id: newNotificationId(),
            channel: 'http',
            eventType: 'TRANSACTION.SUCCESS',
            url: row.notify_url,
            outTradeNo,
            payload: paid,
            createTime: toRfc3339Cst(now),
            createdAt: now,
          });
        }
        this.state.transactions.setLastPayAttempt(mchid, outTradeNo, { result, at: toRfc3339Cst(now), message: '支付成功' });
        return paid;
      }
      if (result === 'PAYERROR') this.state.transactions.markPayError(mchid, outTradeNo, now);
      else if (result !== 'NOT_ENOUGH' && result !== 'USER_CANCEL') throw new SandboxError(400, 'PARAM_ERROR', `unsupported result ${String(result)}`);
      this.state.transactions.setLastPayAttempt(mchid, outTradeNo, { result, at: toRfc3339Cst(now), message: PAY_FAILURE_MESSAGES[result] });
      return transactionResource(this.state.transactions.find(mchid, outTradeNo)!);
    });
    if (paidRow) {
      this.d.wake();
      this.d.events.emit('transaction.paid', paidRow);
    }
    return resource;
  }

  /** The user closed the payment sheet without paying: the order stays NOTPAY (same as pay USER_CANCEL). */
  cancel(outTradeNo: string, opts: { mchid?: string } = {}): Record<string, unknown> {
    return this.pay(outTradeNo, 'USER_CANCEL', opts);
  }

  private checkPayable(row: TransactionRow, now: number, prepayId: string | undefined): void {
    const no = row.out_trade_no;
    if (row.trade_state === 'SUCCESS' || row.trade_state === 'REFUND') throw new SandboxError(409, 'ORDER_PAID', `order ${no} is already paid`);
    if (row.trade_state === 'CLOSED') throw new SandboxError(409, 'ORDER_CLOSED', `order ${no} is closed`);
    if (row.trade_state === 'PAYERROR') throw new SandboxError(409, 'ORDER_PAYERROR', `the payment of order ${no} failed (PAYERROR); the merchant must place a new order`);
    const expiresAt = expiryOf(row);
    if (expiresAt <= now) {
      throw new SandboxError(409, 'ORDER_EXPIRED', `order ${no} expired at ${toRfc3339Cst(expiresAt)} (time_expire); the user can no longer pay it. It stays NOTPAY until closed (close it, or WeChat auto-closes it at ${toRfc3339Cst(row.auto_close_at ?? row.created_at + AUTO_CLOSE_MS)}), then order again with a new out_trade_no`);
    }
    const prepay = prepayId !== undefined ? this.state.transactions.findPrepayId(prepayId) : this.state.transactions.latestPrepayId(row.mchid, no);
    if (!prepay || prepay.out_trade_no !== no || prepay.mchid !== row.mchid) {
      throw new SandboxError(409, 'PREPAY_ID_INVALID', prepayId !== undefined ? `prepay_id ${prepayId} does not belong to order ${no}` : `order ${no} has no prepay_id`);
    }
    if (prepay.expires_at <= now) {
      throw new SandboxError(409, 'PREPAY_ID_EXPIRED', `prepay_id ${prepay.prepay_id} expired at ${toRfc3339Cst(prepay.expires_at)} (valid 2 hours); call prepay again with the same parameters for a fresh prepay_id`);
    }
  }
}
