import type { OrdersBinding } from '../../connector/config';
import type { WedaSdk } from '../../datasources/weda';
import { isAllowedTransition } from './order-status';

export type OrderRecord = Record<string, unknown> & { _id?: string };

/**
 * Orders seen through the configured model name, field mapping and envType (never hard-coded), with every
 * status change a compare-and-set: the `where` of wedaBatchUpdate carries the expected current status, so a
 * duplicate or late notification updates nothing (DESIGN.md "Order status (contract)").
 */
export class OrdersRepository {
  constructor(private readonly weda: WedaSdk, readonly binding: OrdersBinding) {}

  get fields() {
    return this.binding.fields;
  }

  async findByOrderNo(orderNo: string): Promise<OrderRecord | undefined> {
    const record = await this.weda.callModel({
      name: this.binding.model,
      methodName: 'wedaGetItemV2',
      params: { filter: { where: { [this.fields.orderNo]: { $eq: orderNo } } }, select: { $master: true } },
      envType: this.binding.envType,
    });
    return record && typeof record === 'object' && Object.keys(record).length > 0 ? (record as OrderRecord) : undefined;
  }

  /** Moves the order from `from` to `to` only if it is still in `from`; returns whether this call moved it. */
  async transition(orderNo: string, from: number, to: number, extra: Record<string, unknown> = {}): Promise<boolean> {
    if (!isAllowedTransition(from, to)) throw new Error(`order status ${from} → ${to} is not an allowed transition`);
    const result = await this.weda.callModel({
      name: this.binding.model,
      methodName: 'wedaBatchUpdate',
      params: {
        where: [
          { key: this.fields.orderNo, rel: 'eq', val: orderNo },
          { key: this.fields.status, rel: 'eq', val: from },
        ],
        record: { ...extra, [this.fields.status]: to },
      },
      envType: this.binding.envType,
    });
    const updated = Number((result as { updated?: number; count?: number })?.updated ?? (result as { count?: number })?.count ?? 0);
    if (updated > 1) throw new Error(`order number ${orderNo} matched ${updated} orders; order numbers must be unique`);
    return updated === 1;
  }
}
