import { toRfc3339Cst } from '../../wxpay';
import type { SandboxState } from '../state';
import type { RefundOutcome, RefundRow } from '../state/refunds';
import type { TransactionRow } from '../state/transactions';
import { SandboxClock } from './clock';
import { paramError, SandboxError } from './errors';
import { DomainEvents } from './events';
import { newNotificationId, newRefundId } from './ids';
import { Merchant } from './merchant';
import { canonicalJson, checkNotifyUrl } from './prepay-validation';
import { refundNotificationResource } from './resources';

/** Final outcomes a PROCESSING refund can settle to (control `POST /sandbox/refunds/{no}/settle`). */
export const REFUND_OUTCOMES: readonly RefundOutcome[] = ['SUCCESS', 'CLOSED', 'ABNORMAL'];

/** ≤ 50 refunds per order (§1.4). */
export const MAX_REFUNDS_PER_ORDER = 50;
/** Only orders paid within the last year can be refunded (§1.2). */
export const REFUND_WINDOW_MS = 365 * 86_400_000;
/** `out_refund_no`: 1–64 chars of [0-9A-Za-z_\-|*@] (§1.4). */
export const OUT_REFUND_NO_PATTERN = /^[0-9A-Za-z_\-|*@]{1,64}$/;
/** Sandbox seconds after which a PROCESSING refund settles as SUCCESS by itself, unless configured otherwise. */
export const DEFAULT_REFUND_SETTLE_SECONDS = 5;

/** A refund request in the sandbox's own terms; the v3 route and the CloudPay façade both build one. */
export interface RefundInput {
  /** Defaults to the sandbox merchant. */
  mchid?: string;
  /** One of outTradeNo / transactionId is required; when both are given they must name the same order. */
  outTradeNo?: string;
  transactionId?: string;
  outRefundNo: string;
  reason?: string;
  /**
   * Where REFUND.* goes: a URL; undefined = the `refundNotifyUrl` setting, else the order's notify_url (the sandbox's
   * stand-in for the refund URL configured on the merchant platform); '' = no v3 notification at all.
   */
  notifyUrl?: string;
  fundsAccount?: string;
  amount: { refund: number; total: number; currency: string };
  /** Who created it: 'v3' (default) or e.g. 'cloudpay'. */
  source?: string;
}

type Json = Record<string, unknown>;

/** Validates a `POST /v3/refund/domestic/refunds` body (§1.4) into a RefundInput; 400 PARAM_ERROR naming the field. */
export function validateRefundRequest(body: unknown): RefundInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw paramError('/', 'must be a JSON object');
  const root = body as Json;
  const outTradeNo = optString(root, 'out_trade_no', 32);
  const transactionId = optString(root, 'transaction_id', 32);
  if (outTradeNo === undefined && transactionId === undefined) throw paramError('/out_trade_no', 'one of out_trade_no or transaction_id is required');
  const outRefundNo = optString(root, 'out_refund_no', 64);
  if (outRefundNo === undefined || outRefundNo === '') throw paramError('/out_refund_no', 'is required');
  if (!OUT_REFUND_NO_PATTERN.test(outRefundNo)) throw paramError('/out_refund_no', 'must match ^[0-9A-Za-z_\\-|*@]{1,64}$', 'body', outRefundNo);
  const reason = optString(root, 'reason', 80);
  const notifyUrl = optString(root, 'notify_url', 256);
  if (notifyUrl !== undefined) checkNotifyUrl(notifyUrl);
  const fundsAccount = optString(root, 'funds_account', 32);
  if (fundsAccount !== undefined && fundsAccount !== 'AVAILABLE' && fundsAccount !== 'UNAVAILABLE') throw paramError('/funds_account', 'must be AVAILABLE or UNAVAILABLE', 'body', fundsAccount);
  if (root.amount === undefined) throw paramError('/amount', 'is required');
  if (typeof root.amount !== 'object' || root.amount === null || Array.isArray(root.amount)) throw paramError('/amount', 'must be a JSON object');
  const amount = root.amount as Json;
  const refund = fen(amount, 'refund');
  const total = fen(amount, 'total');
  if (amount.currency === undefined) throw paramError('/amount/currency', 'is required');
  if (amount.currency !== 'CNY') throw paramError('/amount/currency', 'must be CNY', 'body', amount.currency);
  if (amount.from !== undefined && !Array.isArray(amount.from)) throw paramError('/amount/from', 'must be an array');
  if (root.goods_detail !== undefined && !Array.isArray(root.goods_detail)) throw paramError('/goods_detail', 'must be an array');
  return {
    ...(outTradeNo !== undefined ? { outTradeNo } : {}),
    ...(transactionId !== undefined ? { transactionId } : {}),
    outRefundNo,
    ...(reason !== undefined ? { reason } : {}),
    ...(notifyUrl !== undefined ? { notifyUrl } : {}),
    ...(fundsAccount !== undefined ? { fundsAccount } : {}),
    amount: { refund, total, currency: 'CNY' },
    source: 'v3',
  };
}

function optString(o: Json, key: string, max: number): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw paramError(`/${key}`, 'must be a string', 'body', v);
  if ([...v].length > max) throw paramError(`/${key}`, `must be at most ${max} characters`, 'body', v);
  if (/[\u{10000}-\u{10FFFF}]/u.test(v)) throw paramError(`/${key}`, 'contains a character outside the Basic Multilingual Plane (4-byte UTF-8, e.g. an emoji)');
  return v;
}

function fen(o: Json, key: string): number {
  const v = o[key];
  if (v === undefined) throw paramError(`/amount/${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw paramError(`/amount/${key}`, 'must be an integer ≥ 1 (fen)', 'body', v);
  return v;
}

const resourceNotExists = (issue: string): SandboxError => new SandboxError(404, 'RESOURCE_NOT_EXISTS', '订单不存在', { issue });

export interface RefundsDeps {
  state: Pick<SandboxState, 'sql' | 'transactions' | 'refunds' | 'outbox'>;
  clock: SandboxClock;
  merchant: Merchant;
  events: DomainEvents;
  /** Called once a notification has been queued: the outbox should look now. */
  wake: () => void;
  /** PROCESSING refunds settle as SUCCESS this many sandbox seconds after creation; null = only by control. */
  settleSeconds: number | null;
  /**
   * Stand-in for the refund notify URL configured on the merchant platform: used when a refund request carries no
   * `notify_url`. null = fall back to the order's `notify_url`.
   */
  notifyUrl: string | null;
}

/**
 * The refund rules (wxpay-v3.md §1.4–1.5, §4): create (idempotent per out_refund_no), query, settle by hand or on the
 * sandbox clock. For the v3 routes, the control routes and the CloudPay façade alike; errors are v3 SandboxErrors.
 */
export class Refunds {
  private readonly state: RefundsDeps['state'];

  constructor(private readonly d: RefundsDeps) {
    this.state = d.state;
  }

  /**
   * Refund create (§1.4). Idempotent per out_refund_no: the same order and amounts return the existing refund (in
   * whatever state it is now, `replayed: true`); anything else → 400 INVALID_REQUEST. Only SUCCESS/REFUND orders
   * paid within a year; `amount.total` must equal the order's; ≤ 50 refunds; Σ refunds not CLOSED ≤ total. The order's
   * trade_state becomes REFUND. The refund starts PROCESSING and, when `settleSeconds` is set, settles as SUCCESS
   * that many sandbox seconds later.
   */
  create(input: RefundInput): { refund: RefundRow; replayed: boolean } {
    const mchid = input.mchid ?? this.d.merchant.mchid;
    if (!OUT_REFUND_NO_PATTERN.test(input.outRefundNo)) throw paramError('/out_refund_no', 'must match ^[0-9A-Za-z_\\-|*@]{1,64}$', 'body', input.outRefundNo);
    const now = this.d.clock.now();
    const outcome = this.state.sql.transaction(() => {
      const existing = this.state.refunds.find(mchid, input.outRefundNo);
      if (existing) {
        const same = (input.outTradeNo === undefined || input.outTradeNo === existing.out_trade_no)
          && (input.transactionId === undefined || input.transactionId === existing.transaction_id)
          && input.amount.refund === existing.amount_refund && input.amount.total === existing.amount_total && input.amount.currency === existing.currency;
        if (!same) {
          throw new SandboxError(400, 'INVALID_REQUEST', '请求重入时，参数与首次请求时不一致', { field: '/out_refund_no', location: 'body', issue: `out_refund_no ${input.outRefundNo} was used before for ${existing.out_trade_no} refunding ${existing.amount_refund} of ${existing.amount_total} fen; a retry must repeat the same order and amounts` });
        }
        return { refund: existing, replayed: true };
      }

      const order = this.findOrder(mchid, input);
      if (order.trade_state !== 'SUCCESS' && order.trade_state !== 'REFUND') throw resourceNotExists(`order ${order.out_trade_no} is ${order.trade_state}; only paid orders can be refunded`);
      const paidAt = order.success_time ? Date.parse(order.success_time) : order.updated_at;
      if (now - paidAt > REFUND_WINDOW_MS) throw new SandboxError(400, 'INVALID_REQUEST', '订单已超过可退款的最大期限', { issue: 'orders can be refunded within one year of payment' });
      if (input.amount.total !== order.amount_total) {
        throw new SandboxError(400, 'INVALID_REQUEST', '您的请求参数与订单信息不一致', { field: '/amount/total', location: 'body', value: input.amount.total, issue: `amount.total must equal the order total ${order.amount_total} fen` });
      }
      const previous = this.state.refunds.forOrder(mchid, order.out_trade_no);
      if (previous.length >= MAX_REFUNDS_PER_ORDER) {
        throw new SandboxError(400, 'INVALID_REQUEST', `订单退款次数已超过${MAX_REFUNDS_PER_ORDER}次`, { issue: `an order can be refunded at most ${MAX_REFUNDS_PER_ORDER} times` });
      }
      const committed = previous.filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount_refund, 0);
      const refundable = order.amount_total - committed;
      if (input.amount.refund > refundable) {
        throw new SandboxError(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额', { field: '/amount/refund', location: 'body', value: input.amount.refund, issue: `only ${refundable} fen of ${order.amount_total} are left to refund (${committed} already refunded or in progress)` });
      }

      const settleSeconds = this.d.settleSeconds;
      const row: RefundRow = {
        refund_id: newRefundId(now),
        mchid,
        out_refund_no: input.outRefundNo,
        out_trade_no: order.out_trade_no,
        transaction_id: order.transaction_id!,
        reason: input.reason ?? null,
        notify_url: input.notifyUrl ?? this.d.notifyUrl ?? order.notify_url,
        funds_account: input.fundsAccount ?? null,
        request_json: canonicalJson({ out_trade_no: order.out_trade_no, amount: input.amount, reason: input.reason ?? null }),
        amount_refund: input.amount.refund,
        amount_total: input.amount.total,
        currency: input.amount.currency,
        status: 'PROCESSING',
        create_time: toRfc3339Cst(now),
        success_time: null,
        settle_at: settleSeconds ? now + Math.round(settleSeconds * 1000) : null,
        source: input.source ?? 'v3',
        created_at: now,
        updated_at: now,
      };
      this.state.refunds.insert(row);
      this.state.transactions.markRefund(mchid, order.out_trade_no, now);
      return { refund: row, replayed: false };
    });
    if (!outcome.replayed) this.d.events.emit('refund.created', outcome.refund);
    return outcome;
  }

  private findOrder(mchid: string, input: RefundInput): TransactionRow {
    const byId = input.transactionId !== undefined ? this.state.transactions.findByTransactionId(mchid, input.transactionId) : undefined;
    const byNo = input.outTradeNo !== undefined ? this.state.transactions.find(mchid, input.outTradeNo) : undefined;
    if (input.transactionId !== undefined && input.outTradeNo !== undefined && byId && byNo && byId.out_trade_no !== byNo.out_trade_no) {
      throw new SandboxError(400, 'INVALID_REQUEST', '您的请求参数与订单信息不一致', { field: '/transaction_id', location: 'body', issue: 'transaction_id and out_trade_no name different orders' });
    }
    const order = byId ?? byNo;
    if (!order) throw resourceNotExists(input.transactionId !== undefined ? `no paid order with transaction_id ${input.transactionId}` : `no order ${input.outTradeNo}`);
    return order;
  }

  /** Refund query by out_refund_no (§1.5): 404 RESOURCE_NOT_EXISTS when unknown. */
  get(outRefundNo: string, mchid = this.d.merchant.mchid): RefundRow {
    const row = this.state.refunds.find(mchid, outRefundNo);
    if (!row) throw new SandboxError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在', { field: 'out_refund_no', location: 'path', issue: `no refund ${outRefundNo}` });
    return row;
  }

  /**
   * Settles a PROCESSING refund as SUCCESS / CLOSED / ABNORMAL (control API, or automatically). Sends
   * REFUND.<status> to the refund's notify URL (none when it is ''), emits `refund.settled`. A refund already settled
   * → 409. CLOSED gives the amount back to the order's refundable balance.
   */
  settle(outRefundNo: string, status: RefundOutcome, mchid = this.d.merchant.mchid): RefundRow {
    if (!(REFUND_OUTCOMES as readonly string[]).includes(status)) {
      throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${REFUND_OUTCOMES.join(', ')}`, { field: 'status', issue: `unsupported status ${JSON.stringify(status)}` });
    }
    const now = this.d.clock.now();
    const settled = this.state.sql.transaction(() => {
      const row = this.get(outRefundNo, mchid);
      if (row.status !== 'PROCESSING') throw new SandboxError(409, 'REFUND_SETTLED', `refund ${outRefundNo} is already ${row.status}; only PROCESSING refunds can be settled`);
      this.state.refunds.settle(mchid, outRefundNo, status, status === 'SUCCESS' ? toRfc3339Cst(now) : null, now);
      const after = this.state.refunds.find(mchid, outRefundNo)!;
      if (after.notify_url !== '') {
        this.state.outbox.enqueue({
          id: newNotificationId(),
          channel: 'http',
          eventType: `REFUND.${status}`,
          url: after.notify_url,
          outTradeNo: after.out_trade_no,
          outRefundNo,
          payload: refundNotificationResource(after),
          createTime: toRfc3339Cst(now),
          createdAt: now,
        });
      }
      return after;
    });
    this.d.wake();
    this.d.events.emit('refund.settled', settled);
    return settled;
  }

  /** Settles, as SUCCESS, every PROCESSING refund whose automatic settlement time has come. */
  settleDue(now: number): RefundRow[] {
    const out: RefundRow[] = [];
    for (const r of this.state.refunds.due(now)) {
      try {
        out.push(this.settle(r.out_refund_no, 'SUCCESS', r.mchid));
      } catch (err) {
        if (!(err instanceof SandboxError && err.status === 409)) throw err; // settled meanwhile by hand
      }
    }
    return out;
  }
}
