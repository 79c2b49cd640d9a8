import { METHOD_SCHEMAS, JsonSchema } from '../schemas';
import type { ProviderMethodName } from './providers/provider';

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
 * One row per connector method: data, not code. `target` says who answers it (the connector dispatches on
 * it); everything else — validation, error model, WeDa export — is derived from these rows. Methods that
 * run on the server rather than the payment backend will be rows of another target kind.
 */
export type MethodRow = ProviderMethodRow;

const providerRow = (name: ProviderMethodRow['name'], title: string, intent: MethodIntent): ProviderMethodRow => ({
  name,
  title,
  description: String(METHOD_SCHEMAS[name].input.description ?? title),
  intent,
  target: 'provider',
  input: METHOD_SCHEMAS[name].input,
  output: METHOD_SCHEMAS[name].output,
});

export const MANIFEST: readonly MethodRow[] = [
  providerRow('unifiedOrder', '统一下单', 'create'),
  providerRow('queryOrder', '查询订单', 'query'),
  providerRow('closeOrder', '关闭订单', 'update'),
  providerRow('downloadBill', '下载交易账单', 'query'),
  providerRow('refund', '申请退款', 'create'),
  providerRow('queryRefund', '查询退款', 'query'),
];

export function findMethod(name: string): MethodRow | undefined {
  return MANIFEST.find((m) => m.name === name);
}
