import { METHOD_SCHEMAS, JsonSchema } from '../schemas';
import type { ProviderMethodName } from './providers/provider';
import type { ServerMethodName } from './server-methods';

export type MethodName = keyof typeof METHOD_SCHEMAS;

/** How WeDa's editor treats a method (create = side effects; query = safe to call again). */
export type MethodIntent = 'create' | 'query' | 'update';

interface RowColumns {
  /** The method's name as builders know it (CloudPay / WeDa built-in connector). */
  name: MethodName;
  /** Shown in the editor. */
  title: string;
  description: string;
  intent: MethodIntent;
  input: JsonSchema;
  output: JsonSchema;
}

/** Answered by the payment backend (CloudPay or v3): the provider's method of the same name. */
export interface ProviderMethodRow extends RowColumns {
  target: 'provider';
  name: MethodName & ProviderMethodName;
}

/**
 * Answered on the server, against the data models (connector/server-methods.ts): the connector needs its
 * `models` port for these; payment calls inside go through the provider methods.
 */
export interface ServerMethodRow extends RowColumns {
  target: 'server';
  name: MethodName & ServerMethodName;
}

/**
 * One row per connector method: data, not code. `target` says who answers it (the connector dispatches on
 * it); everything else — validation, error model, WeDa export — is derived from these rows.
 */
export type MethodRow = ProviderMethodRow | ServerMethodRow;

const columns = (name: MethodName, title: string, intent: MethodIntent): RowColumns => ({
  name,
  title,
  description: String(METHOD_SCHEMAS[name].input.description ?? title),
  intent,
  input: METHOD_SCHEMAS[name].input,
  output: METHOD_SCHEMAS[name].output,
});

const providerRow = (name: ProviderMethodRow['name'], title: string, intent: MethodIntent): ProviderMethodRow => ({ ...columns(name, title, intent), name, target: 'provider' });

const serverRow = (name: ServerMethodRow['name'], title: string, intent: MethodIntent): ServerMethodRow => ({ ...columns(name, title, intent), name, target: 'server' });

export const MANIFEST: readonly MethodRow[] = [
  providerRow('unifiedOrder', '统一下单', 'create'),
  providerRow('queryOrder', '查询订单', 'query'),
  providerRow('closeOrder', '关闭订单', 'update'),
  providerRow('downloadBill', '下载交易账单', 'query'),
  providerRow('refund', '申请退款', 'create'),
  providerRow('queryRefund', '查询退款', 'query'),
  serverRow('checkout', '下单并支付', 'create'),
  serverRow('requestRefund', '按订单申请退款', 'create'),
];

export function findMethod(name: string): MethodRow | undefined {
  return MANIFEST.find((m) => m.name === name);
}
