import type { OrderFields } from '../../config';
import { isAllowedTransition } from '../../datasources/order-status';

export type OrderRecord = Record<string, unknown> & { _id?: string };

/**
 * What `list` asks for (reconcile only): orders in `status` whose `timeField` is before `before`, the ones
 * reconcile asked about longest ago first (never asked first: `reconciledAt` ascending, then `timeField`), so
 * orders that stay unsettled go to the back and every order is reached within a bounded number of runs.
 */
export interface OrderListQuery {
  status: number;
  before: number;
  timeField: 'createdAt' | 'updatedAt';
  /** Leave out orders that reconcile already closed (closedAt set). */
  notClosed?: boolean;
  limit: number;
}

/**
 * Everything the callbacks need from the orders model, and nothing more: the shape of the `orders` object each
 * generated function writes out (callbacks/templates/common.ts), where builders see the exact `weda.callModel`
 * calls — model name, mapped fields, envType — in their own code.
 */
export interface OrdersPort {
  readonly fields: OrderFields;
  /** One order by its order number, or undefined. */
  find(orderNo: string): Promise<OrderRecord | undefined>;
  /**
   * Compare-and-set: writes `record` to the order only while its status is still `expectedStatus` (the status
   * is part of the `where`), and answers how many orders were written (0 = someone else got there first).
   */
  update(orderNo: string, expectedStatus: number, record: Record<string, unknown>): Promise<number>;
  list?(q: OrderListQuery): Promise<OrderRecord[]>;
}

/**
 * Moves an order from `from` to `to` only if it is still in `from`; answers whether this call moved it. Every
 * status change is a compare-and-set, so a duplicate or late notification changes nothing
 * (DESIGN.md "Order status (contract)").
 */
export async function transition(orders: OrdersPort, orderNo: string, from: number, to: number, extra: Record<string, unknown> = {}): Promise<boolean> {
  if (!isAllowedTransition(from, to)) throw new Error(`order status ${from} → ${to} is not an allowed transition`);
  return movedOne(orderNo, await orders.update(orderNo, from, withField(extra, orders.fields.status, to)));
}

/**
 * `{ ...record, [field]: value }`, which V8 builds slowly (about a microsecond: a spread object given one more
 * property), copied instead into a fresh object; a `__proto__` key, which assignment would not make a property,
 * still goes through the spread.
 */
function withField(record: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  if (field === '__proto__' || Object.prototype.hasOwnProperty.call(record, '__proto__')) return { ...record, [field]: value };
  const out: Record<string, unknown> = Object.assign({}, record);
  out[field] = value;
  return out;
}

/** Writes fields to an order while it stays in `status` (no status change), e.g. reconcile's closedAt. */
export async function markWhile(orders: OrdersPort, orderNo: string, status: number, record: Record<string, unknown>): Promise<boolean> {
  if (orders.fields.status in record) throw new Error('markWhile never changes the status; use transition');
  return movedOne(orderNo, await orders.update(orderNo, status, record));
}

/**
 * Whether a compare-and-set wrote the order, from what `OrdersPort.update` answered (the number of orders written). (A plain function the
 * two async ones await into, rather than one more async layer per write.)
 */
function movedOne(orderNo: string, answered: number): boolean {
  const updated = Number(answered);
  if (updated > 1) throw new Error(`order number ${orderNo} matched ${updated} orders; order numbers must be unique`);
  return updated === 1;
}
