/**
 * The callbacks runtime: what every generated function `require`s (bundled by scripts/build.ts into
 * `weda-wxpay-runtime.js` next to the generated index.js). The generated source holds what is specific to
 * one app — model names, field mapping, envType, the `weda.callModel` calls on the orders and refunds models — and this
 * holds the decisions: which edge an event may take, the amount check, confirmation, acknowledgement.
 */
import type { CloudPayAnswer } from './answers';
import { errorMessage, httpRetry } from './answers';
import { FunctionKit, type FunctionSpec, type KitOverrides } from './function-kit';
import { HttpTriggerEvent, HttpTriggerResult, isHttpTriggerEvent, methodNotAllowed, rawBodyOf, toHttpResult } from './http-event';
import type { OrdersPort } from './orders';
import type { RefundsPort } from './refunds';
import { confirmByQuery, handleCloudPayPayment, handleV3PayNotification } from './pay-notify';
import { reconcile, type ReconcileSummary } from './reconcile';
import { confirmRefundByQuery, handleCloudPayRefund, handleV3RefundNotification } from './refund-notify';
import type { QueryOrderOutput, QueryRefundOutput } from '../../schemas/types.generated';
import { connectorFunctionHandler, type ConnectorFunctionResult } from '../../connector/cloud-function';

export { wedaFromEnv as createWeda, closeSharedStore } from './store-from-env';
export { isHttpTriggerEvent };
export type { OrdersPort, RefundsPort, FunctionKit, FunctionSpec, KitOverrides, HttpTriggerEvent, HttpTriggerResult, CloudPayAnswer, ReconcileSummary };

/** connector: `{ method, params }` → `{ ok, data }` or `{ ok: false, error }` (connector/cloud-function.ts). */
export async function connectorCall(event: unknown, kit: FunctionKit): Promise<ConnectorFunctionResult> {
  return connectorFunctionHandler({ call: (method, params) => kit.connector().call(method, params) })(event as { method?: unknown; params?: unknown });
}

/** One kit per function instance: configuration, connector and verifier are set up once and reused. */
export function functionKit(spec: FunctionSpec, overrides?: KitOverrides): FunctionKit {
  return new FunctionKit(spec, overrides);
}

/**
 * What both v3 notification entries check first: POST only, and v3 settings present — without them the
 * answer is "deliver again", which succeeds once the function is configured.
 */
function v3Entry(event: HttpTriggerEvent, kit: FunctionKit): { v3: ReturnType<FunctionKit['v3']> } | { answer: HttpTriggerResult } {
  if (event.httpMethod.toUpperCase() !== 'POST') return { answer: methodNotAllowed(event.httpMethod) };
  try {
    return { v3: kit.v3() };
  } catch (err) {
    kit.log({ event: 'config.error', reason: errorMessage(err) });
    return { answer: toHttpResult(httpRetry('the function is not configured for v3 notifications')) };
  }
}

/** pay-notify, v3: a TRANSACTION.SUCCESS notification through the HTTP trigger → HTTP 204 when handled. */
export async function v3PayNotify(event: HttpTriggerEvent, orders: OrdersPort, kit: FunctionKit): Promise<HttpTriggerResult> {
  const entry = v3Entry(event, kit);
  if ('answer' in entry) return entry.answer;
  const { v3 } = entry;
  const notifyPayer = kit.notifyPayer();
  return toHttpResult(await handleV3PayNotification({ headers: event.headers ?? {}, rawBody: rawBodyOf(event) }, {
    ...v3, orders, log: kit.log, now: kit.now, ...(notifyPayer ? { notifyPayer } : {}),
  }));
}

/** pay-notify, CloudPay: the payment event → `{ errcode: 0, errmsg }` when handled. */
export async function cloudPayPayNotify(event: unknown, orders: OrdersPort, kit: FunctionKit): Promise<CloudPayAnswer> {
  const notifyPayer = kit.notifyPayer();
  const subMchId = kit.subMchId();
  // The connector is created on first use, inside the handler: a configuration error there is answered
  // with a non-zero errcode (CloudPay delivers again once the configuration is fixed).
  const confirm = kit.confirmCloudPayEvents()
    ? confirmByQuery(async (outTradeNo) => (await kit.connector().call('queryOrder', { outTradeNo })) as QueryOrderOutput)
    : undefined;
  return handleCloudPayPayment(event, {
    orders, log: kit.log, now: kit.now, ...(subMchId ? { subMchId } : {}), ...(confirm ? { confirm } : {}), ...(notifyPayer ? { notifyPayer } : {}),
  });
}

/** refund-notify, v3: REFUND.SUCCESS / CLOSED / ABNORMAL through the HTTP trigger. */
export async function v3RefundNotify(event: HttpTriggerEvent, orders: OrdersPort, refunds: RefundsPort, kit: FunctionKit): Promise<HttpTriggerResult> {
  const entry = v3Entry(event, kit);
  if ('answer' in entry) return entry.answer;
  const { v3 } = entry;
  return toHttpResult(await handleV3RefundNotification({ headers: event.headers ?? {}, rawBody: rawBodyOf(event) }, {
    verifier: v3.verifier, apiV3Key: v3.apiV3Key, mchid: v3.mchid, orders, refunds, log: kit.log, now: kit.now,
  }));
}

/** refund-notify, CloudPay: the refund event (refundStatus SUCCESS / CHANGE / REFUNDCLOSE). */
export async function cloudPayRefundNotify(event: unknown, orders: OrdersPort, refunds: RefundsPort, kit: FunctionKit): Promise<CloudPayAnswer> {
  const subMchId = kit.subMchId();
  const confirm = kit.confirmCloudPayEvents()
    ? confirmRefundByQuery(async (outRefundNo) => (await kit.connector().call('queryRefund', { outRefundNo })) as QueryRefundOutput)
    : undefined;
  return handleCloudPayRefund(event, { orders, refunds, log: kit.log, now: kit.now, ...(subMchId ? { subMchId } : {}), ...(confirm ? { confirm } : {}) });
}

/**
 * reconcile: run by the timer trigger (event `{ Type: 'Timer', TriggerName, Time }`) or invoked by hand.
 * Answers the run's summary; per-order failures are in `errors`, the run itself only throws when the orders
 * model cannot be listed (then the next tick tries again).
 */
export async function reconcileOrders(_event: unknown, orders: OrdersPort, refunds: RefundsPort, kit: FunctionKit): Promise<ReconcileSummary> {
  const notifyPayer = kit.notifyPayer();
  return reconcile({
    orders,
    refunds,
    connector: { call: (method, params) => kit.connector().call(method, params) },
    log: kit.log,
    now: kit.now,
    settings: kit.options.reconcile ?? {},
    ...(notifyPayer ? { notifyPayer } : {}),
  });
}
