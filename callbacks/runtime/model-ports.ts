/**
 * The orders and refunds ports (orders.ts, refunds.ts) over a `weda.callModel`, for callers that are not a
 * generated function — `weda-wxpay reconcile --apply` — so that they change orders through the same rules
 * (applyPaymentSuccess / applyRefundOutcome) with the same calls as the functions: each method is the call the
 * function templates write out (callbacks/templates/common.ts, `orders` and `refunds`), and
 * test/reconcile-bill-ports.test.ts holds them to it call for call.
 */
import type { OrdersBinding } from '../../config';
import type { WedaSdk } from '../../datasources/weda';
import type { OrdersPort, OrderRecord } from './orders';
import type { RefundRow, RefundRowStatus, RefundsPort } from './refunds';

export function ordersPortOf(weda: Pick<WedaSdk, 'callModel'>, binding: OrdersBinding): OrdersPort {
  const f = binding.fields;
  return {
    fields: f,
    async find(orderNo) {
      const order = (await weda.callModel({
        name: binding.model,
        methodName: 'wedaGetItemV2',
        params: { filter: { where: { [f.orderNo]: { $eq: orderNo } } }, select: { $master: true } },
        envType: binding.envType,
      })) as OrderRecord | undefined;
      return order && Object.keys(order).length > 0 ? order : undefined;
    },
    async update(orderNo, expectedStatus, record) {
      const result = (await weda.callModel({
        name: binding.model,
        methodName: 'wedaBatchUpdate',
        params: {
          where: [
            { key: f.orderNo, rel: 'eq', val: orderNo },
            { key: f.status, rel: 'eq', val: expectedStatus },
          ],
          record,
        },
        envType: binding.envType,
      })) as { updated: number };
      return result.updated;
    },
  };
}

export function refundsPortOf(weda: Pick<WedaSdk, 'callModel'>, binding: OrdersBinding): RefundsPort {
  const name = binding.refundsModel;
  const envType = binding.envType;
  return {
    async find(refundNo) {
      const refund = (await weda.callModel({
        name,
        methodName: 'wedaGetItemV2',
        params: { filter: { where: { refundNo: { $eq: refundNo } } }, select: { $master: true } },
        envType,
      })) as RefundRow | undefined;
      return refund && Object.keys(refund).length > 0 ? refund : undefined;
    },
    async ofOrder(orderNo) {
      const page = (await weda.callModel({
        name,
        methodName: 'wedaGetRecordsV2',
        params: { filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true }, orderBy: [{ createdAt: 'asc' }], pageSize: 200, pageNumber: 1 },
        envType,
      })) as { records: RefundRow[] };
      return page.records;
    },
    async create(record) {
      await weda.callModel({ name, methodName: 'wedaCreateV2', params: { data: record }, envType });
    },
    async update(refundNo: string, expectedStatus: RefundRowStatus, record: Partial<RefundRow>) {
      const result = (await weda.callModel({
        name,
        methodName: 'wedaBatchUpdateV2',
        params: { filter: { where: { $and: [{ refundNo: { $eq: refundNo } }, { status: { $eq: expectedStatus } }] } }, data: record },
        envType,
      })) as { count: number };
      return result.count;
    },
  };
}
