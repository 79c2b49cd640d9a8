/**
 * The refunds model as the callbacks see it: one record per refund of an order (schemas/models/refunds.json),
 * found by its refund number, moved on only by a compare-and-set on its status. An order's refunded total is the
 * sum of its SUCCESS records, so applying one refund's result twice (a duplicate, reconcile and the notification
 * both) never counts its money twice.
 */
import type { RefundRecord } from '../../schemas/types.generated';
import type { RefundRowStatus } from '../../datasources/order-status';

export type RefundRow = RefundRecord;
export type { RefundRowStatus };

/** What `list` asks for (reconcile only): refunds in `status` created before `before`, longest unasked first. */
export interface RefundListQuery {
  status: RefundRowStatus;
  before: number;
  limit: number;
}

/** The shape of the `refunds` object each generated function writes out (callbacks/templates/common.ts). */
export interface RefundsPort {
  /** One refund by its refund number, or undefined. */
  find(refundNo: string): Promise<RefundRow | undefined>;
  /** Every refund of an order (WeChat Pay allows at most 50 per order, wxpay-v3.md §1.4). */
  ofOrder(orderNo: string): Promise<RefundRow[]>;
  /** Creates a record; fails when the refund number exists (the model keeps refundNo unique). */
  create(record: RefundRow): Promise<void>;
  /** Compare-and-set: writes `record` only while the refund's status is still `expectedStatus`; answers how many were written. */
  update(refundNo: string, expectedStatus: RefundRowStatus, record: Partial<RefundRow>): Promise<number>;
  list?(q: RefundListQuery): Promise<RefundRow[]>;
}
