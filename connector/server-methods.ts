/**
 * Connector methods answered on the server, against the data models (manifest rows with target `server`):
 * whoever writes the order row sets the price, so the row is written here, from the goods model, and never
 * from an amount the client sent. Payment calls go through the connector's own `call` (`ctx.provider`), so
 * their validation, retries and output check are the same as for the provider methods.
 *
 * Orders and refunds are read and written through the configured model names, field mapping and envType, and
 * every status change is a compare-and-set on the current status (DESIGN.md "Order status (contract)").
 */
import { randomInt } from 'node:crypto';
import { isPayError, PayError, toChinaCompact } from '../wxpay';
import type { OrdersBinding } from '../config';
import { WedaErrorCode, WedaModelError, type CallModelParams, type WedaSdk } from '../datasources/weda';
import { isAllowedTransition, MAX_REFUNDS_PER_ORDER, OrderStatus, refundedTotal, refundingTotal } from '../datasources/order-status';
import { METHOD_SCHEMAS } from '../schemas';
import type { CheckoutInput, CheckoutOutput, RefundRecord, RequestRefundInput, RequestRefundOutput } from '../schemas/types.generated';
import type { ProviderMethodName, ProviderMethodTypes } from './providers/provider';

/** The data models the server methods use: a `weda.callModel` and where the models are (configuration). */
export interface ModelsPort {
  weda: Pick<WedaSdk, 'callModel'>;
  /** Model names (orders, goods, refunds), the order field mapping and envType, as resolved from the configuration. */
  binding: OrdersBinding;
}

export interface ServerContext {
  models: ModelsPort;
  /** A provider method through the connector's `call`: input validation, retries and the output check apply. */
  provider<N extends ProviderMethodName>(name: N, input: ProviderMethodTypes[N]['input']): Promise<ProviderMethodTypes[N]['output']>;
  now(): number;
}

/** Each server method's input and output, as generated from its JSON Schemas (schemas/methods/). */
export interface ServerMethodTypes {
  checkout: { input: CheckoutInput; output: CheckoutOutput };
  requestRefund: { input: RequestRefundInput; output: RequestRefundOutput };
}

export type ServerMethodName = keyof ServerMethodTypes;

type ServerMethods = {
  [N in ServerMethodName]: (ctx: ServerContext, input: ServerMethodTypes[N]['input']) => Promise<ServerMethodTypes[N]['output']>;
};

/** WeChat Pay's largest order amount in fen: unifiedOrder's totalFee maximum (one limit, in its schema). */
const MAX_TOTAL_FEE: number = METHOD_SCHEMAS.unifiedOrder.input.properties.totalFee.maximum;
/** v3 `description` / v2 `body`: ≤ 127 characters (wxpay-v3.md §1.1). */
const MAX_BODY_CHARS: number = METHOD_SCHEMAS.unifiedOrder.input.properties.body.maxLength;

/**
 * 下单并支付: reads the goods' price and name by `_id`, writes the order (unpaid, amount = price × quantity)
 * and places it with WeChat Pay under the same number. Everything the input can get wrong is refused before
 * the row is written, so a refused checkout leaves no row and sends nothing.
 */
export async function checkout(ctx: ServerContext, input: CheckoutInput): Promise<CheckoutOutput> {
  const quantity = input.quantity ?? 1;
  const goods = await findGoods(ctx.models, input.goodsId);
  const amount = goods.price * quantity;
  if (amount > MAX_TOTAL_FEE) {
    throw new PayError({
      code: 'PARAM_ERROR',
      message: `quantity: ${quantity} × ${goods.price} fen = ${amount} fen, more than WeChat Pay accepts for one order (${MAX_TOTAL_FEE} fen)`,
      detail: { field: 'quantity', issue: `price × quantity must be ≤ ${MAX_TOTAL_FEE} fen`, value: quantity },
    });
  }
  const orderNo = newOrderNo(ctx.now());
  const { model, fields: f } = ctx.models.binding;
  await callModel(ctx.models, model, 'wedaCreateV2', {
    data: {
      [f.orderNo]: orderNo,
      [f.status]: OrderStatus.UNPAID,
      [f.amount]: amount,
      [f.goodsId]: input.goodsId,
      [f.goodsName]: goods.name,
      [f.openid]: input.openid,
    },
  });
  // If this fails the row stays unpaid; reconcile closes an order WeChat Pay never saw (callbacks/runtime/reconcile.ts).
  const placed = await ctx.provider('unifiedOrder', { body: paymentDescription(goods.name, quantity), outTradeNo: orderNo, totalFee: amount, openid: input.openid });
  return { orderNo, amount, payment: placed.payment };
}

/**
 * 按订单申请退款: refunds a paid order by its number, in part or all that is left. The order is claimed first
 * (2 → 3, compare-and-set), so of two concurrent requests only one reaches WeChat Pay; then the refund is written
 * to the refunds model (PROCESSING) and the order's refundNo set, before WeChat Pay is asked, so whatever happens
 * next reconcile can ask about it. A definitive refusal closes the refund's record and moves the order back
 * (3 → 2); a failure whose outcome is unknown leaves both as they are, for the refund notification or reconcile.
 */
export async function requestRefund(ctx: ServerContext, input: RequestRefundInput): Promise<RequestRefundOutput> {
  const { orderNo } = input;
  const models = ctx.models;
  const f = models.binding.fields;
  const order = await findOrder(models, orderNo);
  if (!order) throw orderNotFound(models, orderNo);
  const status = Number(order[f.status]);
  if (status !== OrderStatus.PAID) throw notRefundable(orderNo, status);
  // Refused here, nothing is written; the plan is made again once the order is claimed.
  planRefund(orderNo, order, await refundsOf(models, orderNo), input.refundFee, f);
  if (!(await moveOrder(models, orderNo, OrderStatus.PAID, OrderStatus.REFUNDING, {}))) {
    const current = await findOrder(models, orderNo);
    throw current ? notRefundable(orderNo, Number(current[f.status])) : orderNotFound(models, orderNo);
  }
  let plan: RefundPlan;
  try {
    // Claimed: this request alone adds a refund to the order now, so what it reads is what it refunds from.
    const claimed = await findOrder(models, orderNo);
    plan = planRefund(orderNo, claimed ?? order, await refundsOf(models, orderNo), input.refundFee, f);
    if (!(await setWhile(models, orderNo, OrderStatus.REFUNDING, { [f.refundNo]: plan.outRefundNo }))) {
      throw new PayError({ code: 'SYSTEM_ERROR', retryable: true, message: `order ${orderNo} changed while its refund was being requested (another refund's result arrived); nothing was sent to WeChat Pay, request it again`, detail: { orderNo } });
    }
    await callModel(models, models.binding.refundsModel, 'wedaCreateV2', {
      data: { refundNo: plan.outRefundNo, orderNo, amount: plan.refundFee, status: 'PROCESSING', ...(input.reason ? { reason: input.reason } : {}) } satisfies RefundRecord,
    });
  } catch (err) {
    // Nothing was sent: the order is paid again (unless the claim was lost to a refund result meanwhile).
    await moveOrder(models, orderNo, OrderStatus.REFUNDING, OrderStatus.PAID, {}).catch(() => false);
    throw err;
  }
  const { outRefundNo, refundFee } = plan;
  const amount = order[f.amount] as number;
  let refund: Awaited<ReturnType<ServerContext['provider']>>;
  try {
    refund = await ctx.provider('refund', { outTradeNo: orderNo, outRefundNo, totalFee: amount, refundFee, ...(input.reason ? { refundDesc: input.reason } : {}) });
  } catch (err) {
    // Unknown outcome: a retryable failure, or a system error (ours or WeChat Pay's: the refund may exist).
    if (!isPayError(err) || err.retryable || err.code === 'SYSTEM_ERROR') {
      throw refundFailed(err, { orderNo, outRefundNo }, 'the order stays refunding (status 3) until the refund notification or reconcile settles it', true);
    }
    // Refused (by WeChat Pay, or by validation before sending): no refund exists under this number; its record
    // says why, and the order is paid again. The next request takes the next number.
    let note = 'the order is paid again (status 2)';
    try {
      await setRefund(models, outRefundNo, 'PROCESSING', { status: 'CLOSED', failReason: `${err.code}: ${err.message}`.slice(0, 500) });
      if (!(await moveOrder(models, orderNo, OrderStatus.REFUNDING, OrderStatus.PAID, {}))) note = 'the order had already left refunding (status 3)';
    } catch (revertErr) {
      note = `moving the order back to paid failed (${(revertErr as Error).message}); it stays refunding (status 3)`;
    }
    throw refundFailed(err, { orderNo, outRefundNo }, note, err.retryable);
  }
  // WeChat Pay's refund id, from its answer. The status stays PROCESSING here: the order moves on only by the
  // refund's result (notification or reconcile), which adds the refund up with the order's others.
  await setRefund(models, outRefundNo, 'PROCESSING', { refundId: refund.refundId }).catch(() => false);
  return { orderNo, outRefundNo, refundFee: refund.refundFee, status: refund.status };
}

/**
 * Records that an unpaid order was closed through `closeOrder` (closedAt, closeReason merchant): its status
 * stays 1, the numbers of the seed meaning what they mean, and closedAt is what tells it from a payable order.
 * An order already closed, paid since, or not in the orders model is left alone.
 */
export async function recordClosedOrder(ctx: ServerContext, orderNo: string): Promise<void> {
  const { model, fields: f } = ctx.models.binding;
  await callModel(ctx.models, model, 'wedaBatchUpdateV2', {
    filter: { where: { $and: [{ [f.orderNo]: { $eq: orderNo } }, { [f.status]: { $eq: OrderStatus.UNPAID } }, { [f.closedAt]: { $empty: true } }] } },
    data: { [f.closedAt]: ctx.now(), [f.closeReason]: 'merchant' },
  });
}

const SERVER_METHODS: ServerMethods = { checkout, requestRefund };

/** `SERVER_METHODS[name](ctx, input)`, typed by the method name. */
export function callServer<N extends ServerMethodName>(ctx: ServerContext, name: N, input: ServerMethodTypes[N]['input']): Promise<ServerMethodTypes[N]['output']> {
  return SERVER_METHODS[name](ctx, input);
}

/**
 * A new order number: the China date and time (yyyyMMddHHmmss), then 10 random characters of [0-9A-Z] —
 * 24 characters, inside out_trade_no's `^[0-9A-Za-z_\-|*]{6,32}$` (wxpay-v3.md §1.1), sortable by time.
 */
export function newOrderNo(now: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let random = '';
  for (let i = 0; i < 10; i++) random += alphabet[randomInt(alphabet.length)];
  return `${toChinaCompact(now)}${random}`;
}

/**
 * The refund number of an order's next refund: `{orderNo}-R{n}`, n one more than the refunds the order has in
 * the refunds model (refused and closed ones included: their numbers were sent to WeChat Pay, and the same number
 * is the same refund, wxpay-v3.md §1.4). At most 32 + 2 + 2 characters, well inside out_refund_no's 64.
 */
export function nextRefundNo(orderNo: string, refundCount: number): string {
  return `${orderNo}-R${refundCount + 1}`;
}

interface RefundPlan {
  outRefundNo: string;
  refundFee: number;
}

/**
 * What a refund of the order may be: at most the amount minus what was refunded (the order's refundedAmount, or
 * its SUCCESS refunds if they say more) minus what is being refunded (its PROCESSING refunds); default all of it.
 * Refused when nothing is left, the fee is more, or the order has had the 50 refunds WeChat Pay takes (§1.4).
 */
function planRefund(orderNo: string, order: Record<string, unknown>, refunds: RefundRecord[], requested: number | undefined, f: OrdersBinding['fields']): RefundPlan {
  const amount = order[f.amount];
  if (!isFen(amount)) throw badOrderField(orderNo, f.amount, amount);
  const recorded = order[f.refundedAmount];
  const refunded = Math.max(Number.isInteger(recorded) && (recorded as number) > 0 ? (recorded as number) : 0, refundedTotal(refunds));
  const inFlight = refundingTotal(refunds);
  const remaining = amount - refunded - inFlight;
  const refundFee = requested ?? remaining;
  if (remaining < 1 || refundFee > remaining) {
    const left = `${amount} fen, ${refunded} already refunded${inFlight ? `, ${inFlight} being refunded` : ''}: ${Math.max(remaining, 0)} left`;
    throw new PayError({
      code: 'INVALID_REQUEST',
      message: remaining < 1 ? `refundFee: order ${orderNo} has nothing left to refund (${left})` : `refundFee: ${refundFee} fen is more than order ${orderNo} has left to refund (${left})`,
      detail: { field: 'refundFee', issue: `must be ≤ ${remaining} fen (the order amount minus what was already refunded${inFlight ? ' or is being refunded' : ''})`, value: refundFee },
    });
  }
  if (refunds.length >= MAX_REFUNDS_PER_ORDER) {
    throw new PayError({
      code: 'INVALID_REQUEST',
      message: `orderNo: order ${orderNo} has had ${refunds.length} refunds, the most WeChat Pay takes for one order (${MAX_REFUNDS_PER_ORDER})`,
      detail: { field: 'orderNo', issue: `at most ${MAX_REFUNDS_PER_ORDER} refunds per order`, value: refunds.length },
    });
  }
  return { outRefundNo: nextRefundNo(orderNo, refunds.length), refundFee };
}

/** What the payer reads in WeChat: the goods name, with the quantity when more than one, cut to 127 characters. */
function paymentDescription(name: string, quantity: number): string {
  const text = quantity > 1 ? `${name} ×${quantity}` : name;
  return Array.from(text).slice(0, MAX_BODY_CHARS).join('');
}

async function findGoods(models: ModelsPort, goodsId: string): Promise<{ name: string; price: number }> {
  const { goodsModel, envType } = models.binding;
  const goods = await callModel(models, goodsModel, 'wedaGetItemV2', { filter: { where: { _id: { $eq: goodsId } } }, select: { $master: true } });
  if (!isRecord(goods)) {
    throw new PayError({ code: 'INVALID_REQUEST', message: `goodsId: no goods "${goodsId}" in model ${goodsModel} (${envType})`, detail: { field: 'goodsId', issue: 'must be the _id of a goods record', value: goodsId } });
  }
  if (goods.onSale === false) {
    throw new PayError({ code: 'INVALID_REQUEST', message: `goodsId: goods "${goodsId}" is not on sale`, detail: { field: 'goodsId', issue: 'the goods must be on sale (onSale)', value: goodsId } });
  }
  // The record is the server's data, not the caller's input: a bad one is a configuration problem.
  if (!isFen(goods.price) || goods.price > MAX_TOTAL_FEE) {
    throw new PayError({ code: 'CONFIG_ERROR', message: `goods "${goodsId}" in model ${goodsModel} has price ${JSON.stringify(goods.price)}; price must be an integer number of fen from 1 to ${MAX_TOTAL_FEE}`, detail: { field: 'price', issue: 'must be an integer number of fen ≥ 1', value: goods.price } });
  }
  if (typeof goods.name !== 'string' || goods.name.trim() === '') {
    throw new PayError({ code: 'CONFIG_ERROR', message: `goods "${goodsId}" in model ${goodsModel} has no name (it is the payment description)`, detail: { field: 'name', issue: 'must be a non-empty string', value: goods.name } });
  }
  return { name: goods.name, price: goods.price };
}

async function findOrder(models: ModelsPort, orderNo: string): Promise<Record<string, unknown> | undefined> {
  const { model, fields: f } = models.binding;
  const order = await callModel(models, model, 'wedaGetItemV2', { filter: { where: { [f.orderNo]: { $eq: orderNo } } }, select: { $master: true } });
  return isRecord(order) ? order : undefined;
}

/** Compare-and-set: moves the order from `from` to `to` only while it is still in `from`; answers whether this call moved it. */
async function moveOrder(models: ModelsPort, orderNo: string, from: number, to: number, extra: Record<string, unknown>): Promise<boolean> {
  if (!isAllowedTransition(from, to)) throw new Error(`order status ${from} → ${to} is not an allowed transition`);
  return setWhile(models, orderNo, from, { ...extra, [models.binding.fields.status]: to });
}

/** Compare-and-set: writes `data` to the order only while its status is `status`; answers whether it was written. */
async function setWhile(models: ModelsPort, orderNo: string, status: number, data: Record<string, unknown>): Promise<boolean> {
  const { model, fields: f } = models.binding;
  const result = await callModel(models, model, 'wedaBatchUpdateV2', {
    filter: { where: { $and: [{ [f.orderNo]: { $eq: orderNo } }, { [f.status]: { $eq: status } }] } },
    data,
  });
  const count = Number((result as { count?: unknown } | undefined)?.count ?? 0);
  if (count > 1) throw new PayError({ code: 'CONFIG_ERROR', message: `order number ${orderNo} matched ${count} orders in model ${model}; order numbers must be unique`, detail: { field: f.orderNo, issue: 'must be unique' } });
  return count === 1;
}

/** Every refund of the order in the refunds model (WeChat Pay takes at most 50). */
async function refundsOf(models: ModelsPort, orderNo: string): Promise<RefundRecord[]> {
  const page = await callModel(models, models.binding.refundsModel, 'wedaGetRecordsV2', {
    filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true }, orderBy: [{ createdAt: 'asc' }], pageSize: 200, pageNumber: 1,
  });
  return ((page as { records?: RefundRecord[] } | undefined)?.records ?? []);
}

/** Compare-and-set on a refund's record: writes `data` only while its status is `status`. */
async function setRefund(models: ModelsPort, refundNo: string, status: RefundRecord['status'], data: Partial<RefundRecord>): Promise<boolean> {
  const result = await callModel(models, models.binding.refundsModel, 'wedaBatchUpdateV2', {
    filter: { where: { $and: [{ refundNo: { $eq: refundNo } }, { status: { $eq: status } }] } },
    data,
  });
  return Number((result as { count?: unknown } | undefined)?.count ?? 0) === 1;
}

/** `weda.callModel` in the configured envType; a store failure becomes a PayError (the connector's one error model). */
async function callModel(models: ModelsPort, name: string, methodName: string, params: Record<string, unknown>): Promise<unknown> {
  const call: CallModelParams = { name, methodName, params, envType: models.binding.envType };
  try {
    return await models.weda.callModel(call);
  } catch (err) {
    const code = err instanceof WedaModelError ? err.code : undefined;
    // The configured model does not exist or lacks a field the order needs: fix the configuration or the model.
    const misfit = code === WedaErrorCode.ModelNotFound || code === WedaErrorCode.SchemaViolation || code === WedaErrorCode.InvalidParameter || code === WedaErrorCode.MethodNotFound;
    const transient = code === WedaErrorCode.StoreBusy || code === WedaErrorCode.NetworkError || code === WedaErrorCode.Timeout;
    throw new PayError({
      code: misfit ? 'CONFIG_ERROR' : 'SYSTEM_ERROR',
      message: `data model ${name}.${methodName} (${call.envType}) failed: ${(err as Error)?.message ?? String(err)}`,
      retryable: transient,
      ...(code ? { detail: { platformCode: code } } : {}),
      ...(err instanceof WedaModelError ? { requestId: err.requestId } : {}),
      cause: err,
    });
  }
}

function orderNotFound(models: ModelsPort, orderNo: string): PayError {
  const { model, envType } = models.binding;
  return new PayError({ code: 'ORDER_NOT_EXIST', message: `orderNo: no order ${orderNo} in model ${model} (${envType})`, detail: { field: 'orderNo', issue: 'no such order', value: orderNo } });
}

function notRefundable(orderNo: string, status: number): PayError {
  const why: Record<number, string> = {
    [OrderStatus.UNPAID]: 'is not paid',
    [OrderStatus.REFUNDING]: 'has a refund in progress',
    [OrderStatus.REFUNDED]: 'is already refunded',
  };
  return new PayError({
    code: 'INVALID_REQUEST',
    message: `orderNo: order ${orderNo} ${why[status] ?? `has status ${status}`}; only a paid order (status 2) can be refunded`,
    detail: { field: 'orderNo', issue: 'the order must be paid (status 2)', value: status },
  });
}

function badOrderField(orderNo: string, field: string, value: unknown): PayError {
  return new PayError({ code: 'CONFIG_ERROR', message: `order ${orderNo} has ${field} ${JSON.stringify(value)}; it must be an integer number of fen ≥ 1`, detail: { field, issue: 'must be an integer number of fen ≥ 1', value } });
}

/** The refund call's failure, with what became of the order said in the message and the numbers in `detail`. */
function refundFailed(err: unknown, numbers: { orderNo: string; outRefundNo: string }, note: string, retryable: boolean): PayError {
  const e = isPayError(err) ? err : undefined;
  return new PayError({
    code: e?.code ?? 'SYSTEM_ERROR',
    message: `${e?.message ?? (err as Error)?.message ?? String(err)}; ${note}`,
    detail: { ...(e?.detail ?? {}), ...numbers },
    ...(e?.requestId ? { requestId: e.requestId } : {}),
    ...(e?.httpStatus ? { httpStatus: e.httpStatus } : {}),
    retryable,
    cause: err,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0;
}

function isFen(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1;
}
