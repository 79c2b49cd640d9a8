import type { RefundRecord } from '../schemas/types.generated';

/** Pay status as a number, as in the seed tutorial and DESIGN.md "Order status (contract)". */
export const OrderStatus = { UNPAID: 1, PAID: 2, REFUNDING: 3, REFUNDED: 4 } as const;
export type OrderStatusValue = (typeof OrderStatus)[keyof typeof OrderStatus];

/**
 * The only moves an order may make: 1→2 payment success, 2→3 refund accepted, 3→4 refunded in full,
 * 3→2 refund closed or abnormal, or a partial refund done (the order is paid, with refundedAmount > 0).
 * Anything else (a late or duplicate notification) changes nothing. A closed order stays 1, with closedAt.
 */
export const ALLOWED_TRANSITIONS: ReadonlyArray<readonly [OrderStatusValue, OrderStatusValue]> = [
  [OrderStatus.UNPAID, OrderStatus.PAID],
  [OrderStatus.PAID, OrderStatus.REFUNDING],
  [OrderStatus.REFUNDING, OrderStatus.REFUNDED],
  [OrderStatus.REFUNDING, OrderStatus.PAID],
];

export function isAllowedTransition(from: number, to: number): boolean {
  return ALLOWED_TRANSITIONS.some(([f, t]) => f === from && t === to);
}

/** Why an unpaid order was closed (the orders model's closeReason). */
export type CloseReason = 'timeout' | 'merchant' | 'wechat' | 'not_placed';

/** A refund's status in the refunds model: WeChat Pay's (wxpay-v3.md §1.4). */
export type RefundRowStatus = RefundRecord['status'];

/** WeChat Pay takes at most 50 refunds per order (wxpay-v3.md §1.4). */
export const MAX_REFUNDS_PER_ORDER = 50;

/**
 * Where a refund's record may go next: PROCESSING to any final status; ABNORMAL (left for the merchant to
 * handle, wxpay-v3.md §1.4) on to SUCCESS or CLOSED; CLOSED on to SUCCESS, which WeChat Pay never does itself, so
 * it only undoes a close the app inferred (a refund WeChat Pay did not know of yet, then made after all): when
 * WeChat Pay says the money went back, the record says so. SUCCESS is final.
 */
export function canMoveRefund(from: RefundRowStatus, to: RefundRowStatus): boolean {
  if (from === 'PROCESSING') return to !== 'PROCESSING';
  if (from === 'ABNORMAL') return to === 'SUCCESS' || to === 'CLOSED';
  if (from === 'CLOSED') return to === 'SUCCESS';
  return false;
}

/** The money that went back: the sum of the SUCCESS refunds (an order's refundedAmount). */
export function refundedTotal(rows: ReadonlyArray<Pick<RefundRecord, 'status' | 'amount'>>): number {
  return rows.reduce((sum, r) => (r.status === 'SUCCESS' && Number.isInteger(r.amount) ? sum + r.amount : sum), 0);
}

/** The money on its way back: the sum of the PROCESSING refunds. */
export function refundingTotal(rows: ReadonlyArray<Pick<RefundRecord, 'status' | 'amount'>>): number {
  return rows.reduce((sum, r) => (r.status === 'PROCESSING' && Number.isInteger(r.amount) ? sum + r.amount : sum), 0);
}
