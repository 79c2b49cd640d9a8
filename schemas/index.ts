/**
 * Every JSON Schema of the product, loaded once. The JSON files are the source of truth; TS types are
 * generated from them into schemas/types.generated.ts by `npm run codegen` (a test fails when stale).
 */
import unifiedOrderInput from './methods/unifiedOrder.input.json';
import unifiedOrderOutput from './methods/unifiedOrder.output.json';
import queryOrderInput from './methods/queryOrder.input.json';
import queryOrderOutput from './methods/queryOrder.output.json';
import closeOrderInput from './methods/closeOrder.input.json';
import closeOrderOutput from './methods/closeOrder.output.json';
import downloadBillInput from './methods/downloadBill.input.json';
import downloadBillOutput from './methods/downloadBill.output.json';
import refundInput from './methods/refund.input.json';
import refundOutput from './methods/refund.output.json';
import queryRefundInput from './methods/queryRefund.input.json';
import queryRefundOutput from './methods/queryRefund.output.json';
import checkoutInput from './methods/checkout.input.json';
import checkoutOutput from './methods/checkout.output.json';
import requestRefundInput from './methods/requestRefund.input.json';
import requestRefundOutput from './methods/requestRefund.output.json';
import v3NotificationEnvelope from './events/v3-notification-envelope.json';
import v3Transaction from './events/v3-transaction.json';
import v3Refund from './events/v3-refund.json';
import cloudPayPayment from './events/cloudpay-payment.json';
import cloudPayRefund from './events/cloudpay-refund.json';
import config from './config.json';
import callbackOptions from './deploy/callbacks.json';
import goodsModel from './models/goods.json';
import ordersModel from './models/orders.json';
import refundsModel from './models/refunds.json';

export type JsonSchema = Record<string, unknown> & { title: string };

export const METHOD_SCHEMAS = {
  unifiedOrder: { input: unifiedOrderInput, output: unifiedOrderOutput },
  queryOrder: { input: queryOrderInput, output: queryOrderOutput },
  closeOrder: { input: closeOrderInput, output: closeOrderOutput },
  downloadBill: { input: downloadBillInput, output: downloadBillOutput },
  refund: { input: refundInput, output: refundOutput },
  queryRefund: { input: queryRefundInput, output: queryRefundOutput },
  checkout: { input: checkoutInput, output: checkoutOutput },
  requestRefund: { input: requestRefundInput, output: requestRefundOutput },
} as const satisfies Record<string, { input: JsonSchema; output: JsonSchema }>;

export const EVENT_SCHEMAS = { v3NotificationEnvelope, v3Transaction, v3Refund, cloudPayPayment, cloudPayRefund } as const satisfies Record<string, JsonSchema>;

/** config.json refers to deploy/callbacks.json (so editors see it); ajv and codegen get it inlined. */
export const CONFIG_SCHEMA: JsonSchema = {
  ...config,
  properties: { ...config.properties, callbacks: (({ $schema: _unused, ...rest }) => rest)(callbackOptions) },
};

/** goods / orders / refunds records; datasources/models.ts turns them into WeDa data-model JSON. */
export const MODEL_RECORD_SCHEMAS = { goods: goodsModel, orders: ordersModel, refunds: refundsModel } as const satisfies Record<string, JsonSchema>;

/** All schemas in a stable order, for codegen. */
export function allSchemas(): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const m of Object.values(METHOD_SCHEMAS)) out.push(m.input, m.output);
  out.push(...Object.values(EVENT_SCHEMAS), CONFIG_SCHEMA, ...Object.values(MODEL_RECORD_SCHEMAS));
  return out;
}
