import { METHOD_SCHEMAS, JsonSchema } from '../schemas';
import { PaymentProvider } from './providers/provider';

export type MethodName = keyof typeof METHOD_SCHEMAS;

/** How WeDa's editor treats a method (create = side effects; query = safe to call again). */
export type MethodIntent = 'create' | 'query' | 'update';

/**
 * One row per connector method: its name as builders know it (CloudPay / WeDa built-in connector), the
 * title shown in the editor, input and output schemas, and the provider call. Everything else — validation,
 * error model, WeDa export — is derived from these rows.
 */
export interface MethodRow {
  name: MethodName;
  title: string;
  description: string;
  intent: MethodIntent;
  input: JsonSchema;
  output: JsonSchema;
  handler: (provider: PaymentProvider, input: any) => Promise<unknown>;
}

const row = (name: MethodName, title: string, intent: MethodIntent, handler: MethodRow['handler']): MethodRow => ({
  name,
  title,
  description: String(METHOD_SCHEMAS[name].input.description ?? title),
  intent,
  input: METHOD_SCHEMAS[name].input,
  output: METHOD_SCHEMAS[name].output,
  handler,
});

export const MANIFEST: readonly MethodRow[] = [
  row('unifiedOrder', '统一下单', 'create', (p, input) => p.unifiedOrder(input)),
  row('queryOrder', '查询订单', 'query', (p, input) => p.queryOrder(input)),
  row('closeOrder', '关闭订单', 'update', (p, input) => p.closeOrder(input)),
  row('downloadBill', '下载交易账单', 'query', (p, input) => p.downloadBill(input)),
  row('refund', '申请退款', 'create', (p, input) => p.refund(input)),
  row('queryRefund', '查询退款', 'query', (p, input) => p.queryRefund(input)),
];

export function findMethod(name: string): MethodRow | undefined {
  return MANIFEST.find((m) => m.name === name);
}
