/**
 * The callbacks runtime: what every generated function `require`s (bundled by scripts/build.ts into
 * `weda-wxpay-runtime.js` next to the generated index.js). The generated source holds what is specific to
 * one app — model names, field mapping, envType, the `weda.callModel` calls on the orders and refunds models — and this
 * holds the decisions: which edge an event may take, the amount check, confirmation, acknowledgement.
 */
import type { CloudPayAnswer } from './answers';
import { cloudPayRefused, errorMessage, httpRetry, logRefusal } from './answers';
import { ownText } from './received';
import { FunctionKit, type FunctionSpec, type KitOverrides, type V3Settings } from './function-kit';
import { HttpTriggerEvent, HttpTriggerResult, isHttpTriggerEvent, methodNotAllowed, rawBodyOf, toHttpResult } from './http-event';
import type { OrdersPort } from './orders';
import type { RefundsPort } from './refunds';
import { confirmByQuery, handleCloudPayPayment, handleV3PayNotification, type V3PayNotifyDeps } from './pay-notify';
import { reconcile, type ReconcileSummary } from './reconcile';
import { confirmRefundByQuery, handleCloudPayRefund, handleV3RefundNotification } from './refund-notify';
import type { QueryOrderOutput, QueryRefundOutput } from '../../schemas/types.generated';
import { connectorFunctionHandler, type ConnectorFunctionResult } from '../../connector/cloud-function';

export { wedaFromEnv as createWeda, closeSharedStore } from './store-from-env';
export { reconcileDayBill, BILL_RECONCILE_TRIGGER } from './bill-reconcile';
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
function v3Entry(event: HttpTriggerEvent, kit: FunctionKit): { v3: V3Settings } | { answer: HttpTriggerResult } {
  if (event.httpMethod !== 'POST' && event.httpMethod.toUpperCase() !== 'POST') {
    logRefusal(kit.log, 'notification.method_refused', `${event.httpMethod.slice(0, 16)}: WeChat Pay POSTs notifications`, null);
    return { answer: methodNotAllowed(event.httpMethod) };
  }
  try {
    return { v3: kit.v3() };
  } catch (err) {
    logRefusal(kit.log, 'config.error', errorMessage(err), null, { retry: true });
    return { answer: toHttpResult(httpRetry('the function is not configured for v3 notifications')) };
  }
}

/** pay-notify, v3: a TRANSACTION.SUCCESS notification through the HTTP trigger → HTTP 204 when handled. */
export async function v3PayNotify(event: HttpTriggerEvent, orders: OrdersPort, kit: FunctionKit): Promise<HttpTriggerResult> {
  const entry = v3Entry(event, kit);
  if ('answer' in entry) return entry.answer;
  const { v3 } = entry;
  const deps: V3PayNotifyDeps = { verifier: v3.verifier, apiV3Key: v3.apiV3Key, mchid: v3.mchid, appid: v3.appid, orders, log: kit.log, now: kit.now };
  const notifyPayer = kit.notifyPayer();
  if (notifyPayer) deps.notifyPayer = notifyPayer;
  return toHttpResult(await handleV3PayNotification({ headers: event.headers ?? {}, rawBody: rawBodyOf(event) }, deps));
}

/** What getWXContext().SOURCE is for CloudPay's callbacks (weda-import.md §4). */
export const CLOUDPAY_CALLBACK_SOURCE = 'wx_paycallback';

/**
 * Where a direct invocation came from, as getWXContext().SOURCE reports it (TCB_SOURCE): from the function's
 * context — `environment` (an object, or its JSON text) on CloudBase's current runtime, `environ` (`K=V;K=V`) on the
 * older one — or else its environment variables. Undefined when the runtime does not show it (the dev server's
 * function host, which cannot tell the sandbox's CloudPay from anyone else): then it is not checked, and the
 * queryOrder / queryRefund confirmation is what stands between an event and the orders.
 */
export function invocationSource(context: unknown, env: NodeJS.ProcessEnv): string | undefined {
  const c = (typeof context === 'object' && context !== null ? context : {}) as { environment?: unknown; environ?: unknown };
  let fromContext: unknown;
  try {
    const environment = typeof c.environment === 'string' ? JSON.parse(c.environment) : c.environment;
    if (typeof environment === 'object' && environment !== null) fromContext = (environment as Record<string, unknown>).TCB_SOURCE;
  } catch {
    // A context this runtime does not know: fall through to environ and the environment.
  }
  if (fromContext === undefined && typeof c.environ === 'string') {
    const entry = c.environ.split(';').find((part) => part.startsWith('TCB_SOURCE='));
    if (entry !== undefined) fromContext = entry.slice('TCB_SOURCE='.length);
  }
  const source = fromContext ?? env.TCB_SOURCE;
  return typeof source === 'string' && source !== '' ? source : undefined;
}

/**
 * `callbacks.checkCloudPaySource` (default on): a CloudPay event the runtime shows was not invoked by CloudPay is
 * refused before anything is read or asked — a client calling the function directly shows as wx_client, wx_http….
 * The source may be a chain (`a,b`); its first entry is who invoked.
 */
function refuseForeignSource(event: unknown, context: unknown, kit: FunctionKit): CloudPayAnswer | undefined {
  if (!kit.checkCloudPaySource()) return undefined;
  const source = invocationSource(context, kit.env);
  if (source === undefined || source.split(',')[0]!.trim() === CLOUDPAY_CALLBACK_SOURCE) return undefined;
  logRefusal(kit.log, 'cloudpay.wrong_source', `invoked from ${source.slice(0, 64)}, not by CloudPay (its callbacks come from ${CLOUDPAY_CALLBACK_SOURCE})`, ownText(event, 'outTradeNo'), {
    todo: 'if this was CloudPay delivering its own event, set callbacks.checkCloudPaySource to false',
  });
  return cloudPayRefused('not invoked by CloudPay');
}

/** pay-notify, CloudPay: the payment event → `{ errcode: 0, errmsg }` when handled. */
export async function cloudPayPayNotify(event: unknown, orders: OrdersPort, kit: FunctionKit, context?: unknown): Promise<CloudPayAnswer> {
  const foreign = refuseForeignSource(event, context, kit);
  if (foreign) return foreign;
  const notifyPayer = kit.notifyPayer();
  const subMchId = kit.subMchId();
  // The connector is created on first use, inside the handler: a configuration error there is answered
  // with a non-zero errcode (CloudPay delivers again once the configuration is fixed).
  const confirm = kit.confirmCloudPayEvents()
    ? confirmByQuery(async (outTradeNo) => (await kit.connector().call('queryOrder', { outTradeNo })) as QueryOrderOutput, kit.now)
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
export async function cloudPayRefundNotify(event: unknown, orders: OrdersPort, refunds: RefundsPort, kit: FunctionKit, context?: unknown): Promise<CloudPayAnswer> {
  const foreign = refuseForeignSource(event, context, kit);
  if (foreign) return foreign;
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
