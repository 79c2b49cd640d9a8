import { toRfc3339Cst } from '../wxpay';
import { SandboxClock } from './clock';
import { orderClosed, orderNotExist, orderPaid, SandboxError } from './errors';
import { newNotificationId, newPrepayId, newTransactionId } from './ids';
import { NotificationStore } from './notifications';
import { JsapiPrepayRequest } from './prepay-validation';
import { Db } from './state';
import { TransactionRow, TransactionStore, transactionResource } from './transactions';

/** prepay_id is valid for 2 hours (wxpay-v3.md §1.1). */
const PREPAY_ID_TTL_MS = 2 * 3600_000;

/** How the simulated user pays. Failure kinds (user cancels, insufficient balance, …) arrive with issue 4. */
export type PayResult = 'SUCCESS';

export interface PaymentsDeps {
  db: Db;
  appid: string;
  mchid: string;
  clock: SandboxClock;
  transactions: TransactionStore;
  notifications: NotificationStore;
  /** Called after a notification has been committed to the outbox, so the notifier can send it at once. */
  onNotificationQueued: () => void;
}

/**
 * The payment state machine (wxpay-v3.md §8 item 3: NOTPAY→SUCCESS, NOTPAY→CLOSED), independent of HTTP so
 * the v3 routes and, later, the CloudPay façade drive the same state. Errors are v3 SandboxErrors.
 */
export class Payments {
  constructor(private readonly d: PaymentsDeps) {}

  /** JSAPI prepay (§1.1): re-entrant on identical params, INVALID_REQUEST on changed params. */
  prepay(req: JsapiPrepayRequest, canonicalRequest: string): { prepay_id: string } {
    if (req.appid !== this.d.appid) {
      throw new SandboxError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配', { field: '/appid', location: 'body', issue: `appid ${req.appid} is not bound to mchid ${req.mchid}; the sandbox merchant's appid is ${this.d.appid}` });
    }
    const now = this.d.clock.now();
    return this.d.db.transaction(() => {
      const existing = this.d.transactions.find(req.mchid, req.out_trade_no);
      if (existing) this.checkReentry(existing, canonicalRequest, now);
      else {
        this.d.transactions.insert({
          mchid: req.mchid,
          out_trade_no: req.out_trade_no,
          appid: req.appid,
          description: req.description,
          notify_url: req.notify_url,
          attach: req.attach ?? null,
          time_expire: req.time_expire ?? null,
          amount_total: req.amount.total,
          currency: req.amount.currency,
          payer_openid: req.payer.openid,
          device_id: req.scene_info?.device_id ?? null,
          request_json: canonicalRequest,
          trade_type: 'JSAPI',
          created_at: now,
        });
      }
      const prepayId = newPrepayId(now);
      this.d.transactions.addPrepayId({ prepayId, mchid: req.mchid, outTradeNo: req.out_trade_no, createdAt: now, expiresAt: now + PREPAY_ID_TTL_MS });
      return { prepay_id: prepayId };
    })();
  }

  private checkReentry(existing: TransactionRow, canonicalRequest: string, now: number): void {
    if (existing.trade_state === 'SUCCESS' || existing.trade_state === 'REFUND') throw orderPaid();
    if (existing.trade_state === 'CLOSED') throw orderClosed();
    if (existing.request_json !== canonicalRequest) {
      throw new SandboxError(400, 'INVALID_REQUEST', '请求重入时，参数与首次请求时不一致', { location: 'body', issue: 'out_trade_no was used before with different parameters' }, 268498688);
    }
    if (existing.time_expire !== null && Date.parse(existing.time_expire) <= now) {
      throw new SandboxError(400, 'INVALID_REQUEST', '201 商户订单号重复', { field: '/out_trade_no', location: 'body', issue: 'the order has expired (time_expire); place a new order with a new out_trade_no' });
    }
  }

  /** Query by out_trade_no: unpaid and paid orders (§1.2). */
  queryByOutTradeNo(mchid: string, outTradeNo: string): Record<string, unknown> {
    const row = this.d.transactions.find(mchid, outTradeNo);
    if (!row) throw orderNotExist();
    return transactionResource(row);
  }

  /** Query by transaction_id: exists only after payment (§1.2). */
  queryByTransactionId(mchid: string, transactionId: string): Record<string, unknown> {
    const row = this.d.transactions.findByTransactionId(mchid, transactionId);
    if (!row) throw orderNotExist();
    return transactionResource(row);
  }

  /**
   * Close (§1.3): re-entrant; a paid order cannot be closed (ORDER_PAID [unconfirmed status]); closing an unknown
   * number answers 204 like the real API is observed to [community].
   */
  close(mchid: string, outTradeNo: string): void {
    const row = this.d.transactions.find(mchid, outTradeNo);
    if (!row || row.trade_state === 'CLOSED') return;
    if (row.trade_state !== 'NOTPAY' || !this.d.transactions.markClosed(mchid, outTradeNo, this.d.clock.now())) throw orderPaid();
  }

  /** The simulated user pays: NOTPAY → SUCCESS, then TRANSACTION.SUCCESS goes into the outbox (§4). */
  pay(outTradeNo: string, result: PayResult): Record<string, unknown> {
    const mchid = this.d.mchid;
    const resource = this.d.db.transaction(() => {
      const row = this.d.transactions.find(mchid, outTradeNo);
      if (!row) throw orderNotExist();
      if (row.trade_state === 'SUCCESS' || row.trade_state === 'REFUND') throw new SandboxError(409, 'ORDER_PAID', `order ${outTradeNo} is already paid`);
      if (row.trade_state === 'CLOSED') throw new SandboxError(409, 'ORDER_CLOSED', `order ${outTradeNo} is closed`);
      if (result !== 'SUCCESS') throw new SandboxError(400, 'PARAM_ERROR', `unsupported result ${String(result)}`);
      const now = this.d.clock.now();
      this.d.transactions.markPaid(mchid, outTradeNo, {
        transactionId: newTransactionId(now),
        bankType: 'OTHERS',
        payerTotal: row.amount_total, // no coupons in the sandbox yet: the payer pays the total
        successTime: toRfc3339Cst(now),
        at: now,
      });
      const paid = transactionResource(this.d.transactions.find(mchid, outTradeNo)!);
      this.d.notifications.enqueue({
        id: newNotificationId(),
        eventType: 'TRANSACTION.SUCCESS',
        url: row.notify_url,
        outTradeNo,
        resource: paid,
        createTime: toRfc3339Cst(now),
        createdAt: now,
      });
      return paid;
    })();
    this.d.onNotificationQueued();
    return resource;
  }
}
