import type { OrdersBinding, OrderFields } from '../../config';
import type { WedaSdk } from '../../datasources/weda';
import { isAllowedTransition } from './order-status';

export type OrderRecord = Record<string, unknown> & { _id?: string };

/** The order fields callbacks use: the configured mapping plus `closedAt` (set by reconcile when it closes an order). */
export type CallbackOrderFields = OrderFields & { closedAt: string };

export function callbackFields(fields: OrderFields & { closedAt?: string }): CallbackOrderFields {
  return { ...fields, closedAt: fields.closedAt ?? 'closedAt' };
}

/** What `list` asks for (reconcile only): orders in `status` whose `timeField` is before `before`, oldest first. */
export interface OrderListQuery {
  status: number;
  before: number;
  timeField: 'createdAt' | 'updatedAt';
  /** Leave out orders that reconcile already closed (closedAt set). */
  notClosed?: boolean;
  limit: number;
}

/**
 * Everything the callbacks need from the orders model, and nothing more. Two implementations: the
 * `OrdersRepository` below (dev server, tests) and the one written out in each generated function, where
 * builders see the exact `weda.callModel` calls (model name, mapped fields, envType) in their own code.
 */
export interface OrdersPort {
  readonly fields: CallbackOrderFields;
  /** One order by its order number, or undefined. */
  find(orderNo: string): Promise<OrderRecord | undefined>;
  /**
   * Compare-and-set: writes `record` to the order only while its status is still `expectedStatus` (the status
   * is part of the `where`), and answers how many orders were written (0 = someone else got there first).
   */
  update(orderNo: string, expectedStatus: number, record: Record<string, unknown>): Promise<number>;
  list?(q: OrderListQuery): Promise<OrderRecord[]>;
}

/** Moves an order from `from` to `to` only if it is still in `from`; answers whether this call moved it. */
export async function transition(orders: OrdersPort, orderNo: string, from: number, to: number, extra: Record<string, unknown> = {}): Promise<boolean> {
  if (!isAllowedTransition(from, to)) throw new Error(`order status ${from} → ${to} is not an allowed transition`);
  return checkedUpdate(orders, orderNo, from, { ...extra, [orders.fields.status]: to });
}

/** Writes fields to an order while it stays in `status` (no status change), e.g. reconcile's closedAt. */
export async function markWhile(orders: OrdersPort, orderNo: string, status: number, record: Record<string, unknown>): Promise<boolean> {
  if (orders.fields.status in record) throw new Error('markWhile never changes the status; use transition');
  return checkedUpdate(orders, orderNo, status, record);
}

async function checkedUpdate(orders: OrdersPort, orderNo: string, expected: number, record: Record<string, unknown>): Promise<boolean> {
  const updated = Number(await orders.update(orderNo, expected, record));
  if (updated > 1) throw new Error(`order number ${orderNo} matched ${updated} orders; order numbers must be unique`);
  return updated === 1;
}

/** Reads the count out of a wedaBatchUpdate answer (V1 `{updated}`, V2 `{count}`). */
export function updatedCount(result: unknown): number {
  const r = (result ?? {}) as { updated?: unknown; count?: unknown };
  return Number(r.updated ?? r.count ?? 0);
}

/**
 * Orders seen through the configured model name, field mapping and envType (never hard-coded), with every
 * status change a compare-and-set: the `where` of wedaBatchUpdate carries the expected current status, so a
 * duplicate or late notification updates nothing (DESIGN.md "Order status (contract)").
 */
export class OrdersRepository implements OrdersPort {
  readonly fields: CallbackOrderFields;

  constructor(private readonly weda: WedaSdk, readonly binding: OrdersBinding) {
    this.fields = callbackFields(binding.fields);
  }

  async find(orderNo: string): Promise<OrderRecord | undefined> {
    const record = await this.weda.callModel({
      name: this.binding.model,
      methodName: 'wedaGetItemV2',
      params: { filter: { where: { [this.fields.orderNo]: { $eq: orderNo } } }, select: { $master: true } },
      envType: this.binding.envType,
    });
    return record && typeof record === 'object' && Object.keys(record).length > 0 ? (record as OrderRecord) : undefined;
  }

  /** Kept for callers of the first cut. */
  findByOrderNo(orderNo: string): Promise<OrderRecord | undefined> {
    return this.find(orderNo);
  }

  async update(orderNo: string, expectedStatus: number, record: Record<string, unknown>): Promise<number> {
    const result = await this.weda.callModel({
      name: this.binding.model,
      methodName: 'wedaBatchUpdate',
      params: {
        where: [
          { key: this.fields.orderNo, rel: 'eq', val: orderNo },
          { key: this.fields.status, rel: 'eq', val: expectedStatus },
        ],
        record,
      },
      envType: this.binding.envType,
    });
    return updatedCount(result);
  }

  async list(q: OrderListQuery): Promise<OrderRecord[]> {
    const where: Record<string, unknown>[] = [{ [this.fields.status]: { $eq: q.status } }, { [q.timeField]: { $lt: q.before } }];
    if (q.notClosed) where.push({ [this.fields.closedAt]: { $empty: true } });
    const page = await this.weda.callModel({
      name: this.binding.model,
      methodName: 'wedaGetRecordsV2',
      params: { filter: { where: { $and: where } }, select: { $master: true }, orderBy: [{ [q.timeField]: 'asc' }], pageSize: q.limit, pageNumber: 1 },
      envType: this.binding.envType,
    });
    return (page?.records ?? []) as OrderRecord[];
  }

  /** Moves the order from `from` to `to` only if it is still in `from`; returns whether this call moved it. */
  transition(orderNo: string, from: number, to: number, extra: Record<string, unknown> = {}): Promise<boolean> {
    return transition(this, orderNo, from, to, extra);
  }
}
