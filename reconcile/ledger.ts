/**
 * What the bill is compared with: the orders and refunds data models, read through `weda.callModel` with the
 * configured model names, field mapping and envType (the calls the generated functions make). Pages of at most 200
 * (the V2 list limit, weda.md §2.2), each asking in the V2 filter language for what comes after the last record seen
 * (keyset, no offset, so the millionth row costs what the first did): the day's orders by (`paidAt`, `_id`), a range
 * of the paidAt index, and the day's refunds by `_id`. Only the fields compared are selected.
 */
import type { OrdersBinding } from '../config';
import { OrderStatus, type RefundRowStatus } from '../datasources/order-status';
import type { WedaSdk } from '../datasources/weda';

/** weda.md §2.2: a V2 list answers at most 200 records. */
export const LEDGER_PAGE_SIZE = 200;

export interface LedgerOrder {
  orderNo: string;
  amount: number;
  status: number;
  paidAt?: number;
}

export interface LedgerRefund {
  refundNo: string;
  orderNo: string;
  amount: number;
  status: RefundRowStatus;
  refundId?: string;
}

export interface BillLedger {
  /** How many orders were paid in [from, to) (for progress: an estimate is enough). */
  countPaidOrders(from: number, to: number): Promise<number>;
  /** Orders paid (status 2, 3 or 4) in [from, to) by `paidAt`, a page at a time. */
  paidOrders(from: number, to: number): AsyncIterable<LedgerOrder[]>;
  /** Refunds created in [from, to), a page at a time. */
  refundsCreated(from: number, to: number): AsyncIterable<LedgerRefund[]>;
  /** The orders with these numbers (at most 200), those that exist. */
  ordersByNo(orderNos: string[]): Promise<LedgerOrder[]>;
  /** The refunds with these numbers (at most 200), those that exist. */
  refundsByNo(refundNos: string[]): Promise<LedgerRefund[]>;
}

type Records = { records?: Array<Record<string, unknown>>; total?: number };

const PAID: ReadonlySet<number> = new Set([OrderStatus.PAID, OrderStatus.REFUNDING, OrderStatus.REFUNDED]);

export function modelLedger(weda: Pick<WedaSdk, 'callModel'>, binding: OrdersBinding): BillLedger {
  const f = binding.fields;
  const list = async (name: string, params: Record<string, unknown>): Promise<Records> =>
    (await weda.callModel({ name, methodName: 'wedaGetRecordsV2', params, envType: binding.envType })) as Records;
  const orderSelect = { _id: true, [f.orderNo]: true, [f.amount]: true, [f.status]: true, [f.paidAt]: true };
  const refundSelect = { _id: true, refundNo: true, orderNo: true, amount: true, status: true, refundId: true };
  // One object per order, nothing else: a million of them are read in one reconciliation.
  const toOrder = (r: Record<string, unknown>): LedgerOrder => {
    const order: LedgerOrder = { orderNo: String(r[f.orderNo]), amount: Number(r[f.amount]), status: Number(r[f.status]) };
    const paidAt = r[f.paidAt];
    if (typeof paidAt === 'number') order.paidAt = paidAt;
    return order;
  };
  /** The paid ones of a page (status 2, 3 or 4). */
  const paidOf = (records: Array<Record<string, unknown>>): LedgerOrder[] => {
    const orders: LedgerOrder[] = [];
    for (const r of records) {
      const order = toOrder(r);
      if (PAID.has(order.status)) orders.push(order);
    }
    return orders;
  };
  const toRefund = (r: Record<string, unknown>): LedgerRefund => ({
    refundNo: String(r.refundNo),
    orderNo: String(r.orderNo),
    amount: Number(r.amount),
    status: r.status as RefundRowStatus,
    ...(typeof r.refundId === 'string' && r.refundId !== '' ? { refundId: r.refundId } : {}),
  });

  /** Every record matching `where`, walking `_id` upwards a page at a time. */
  async function* walk(model: string, where: Record<string, unknown>[], select: Record<string, boolean>): AsyncGenerator<Array<Record<string, unknown>>> {
    let after = '';
    for (;;) {
      const page = await list(model, {
        filter: { where: { $and: [...where, { _id: { $gt: after } }] } },
        select,
        orderBy: [{ _id: 'asc' }],
        pageSize: LEDGER_PAGE_SIZE,
        pageNumber: 1,
      });
      const records = page.records ?? [];
      if (records.length) yield records;
      if (records.length < LEDGER_PAGE_SIZE) return;
      after = String(records[records.length - 1]!._id);
    }
  }

  const range = (field: string, from: number, to: number) => [{ [field]: { $gte: from } }, { [field]: { $lt: to } }];

  return {
    async countPaidOrders(from, to) {
      const page = await list(binding.model, { filter: { where: { $and: range(f.paidAt, from, to) } }, select: { _id: true }, pageSize: 1, pageNumber: 1, getCount: true });
      return Number(page.total ?? 0);
    },
    async *paidOrders(from, to) {
      // Walked by (paidAt, _id) on the paidAt index: each page starts where the last one ended, so the day is read
      // as one range (a walk by `_id` would read every order there is).
      const byTime = [{ [f.paidAt]: 'asc' }, { _id: 'asc' }];
      let where: Record<string, unknown>[] = range(f.paidAt, from, to);
      for (;;) {
        const page = await list(binding.model, { filter: { where: { $and: where } }, select: orderSelect, orderBy: byTime, pageSize: LEDGER_PAGE_SIZE, pageNumber: 1 });
        const records = page.records ?? [];
        if (records.length) yield paidOf(records);
        if (records.length < LEDGER_PAGE_SIZE) return;
        const last = records[records.length - 1]!;
        const paidAt = last[f.paidAt] as number;
        where = [...range(f.paidAt, paidAt, to), { $or: [{ [f.paidAt]: { $gt: paidAt } }, { _id: { $gt: String(last._id) } }] }];
      }
    },
    async *refundsCreated(from, to) {
      for await (const records of walk(binding.refundsModel, range('createdAt', from, to), refundSelect)) yield records.map(toRefund);
    },
    async ordersByNo(orderNos) {
      if (orderNos.length === 0) return [];
      const page = await list(binding.model, { filter: { where: { [f.orderNo]: { $in: orderNos } } }, select: orderSelect, pageSize: LEDGER_PAGE_SIZE, pageNumber: 1 });
      return (page.records ?? []).map(toOrder);
    },
    async refundsByNo(refundNos) {
      if (refundNos.length === 0) return [];
      const page = await list(binding.refundsModel, { filter: { where: { refundNo: { $in: refundNos } } }, select: refundSelect, pageSize: LEDGER_PAGE_SIZE, pageNumber: 1 });
      return (page.records ?? []).map(toRefund);
    },
  };
}
