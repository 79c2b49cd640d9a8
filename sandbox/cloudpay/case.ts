/**
 * The key conversions wx-server-sdk applies around every `cloud.cloudPay.*` call (wxpay-v2-cloudpay.md §5.1),
 * reproduced exactly, quirks included:
 * - request data camelCase → snake_case, recursively, by `/[A-Z]/g → '_' + lower` with no underscore before a
 *   first capital: `outTradeNo → out_trade_no`, `SubMchId → sub_mch_id`, `subOpenId → sub_open_id` (the classic
 *   pitfall: CloudPay then ignores the parameter); keys already in snake_case pass unchanged.
 * - result data snake_case → camelCase by `/_[a-z]/g`: an underscore before a digit stays, so
 *   `refund_status_0 → refundStatus_0` and `coupon_refund_id_0_1 → couponRefundId_0_1`.
 */

export function camelToSnakeKey(key: string): string {
  return key.replace(/[A-Z]/g, (c, offset: number) => (offset === 0 ? '' : '_') + c.toLowerCase());
}

export function snakeToCamelKey(key: string): string {
  return key.replace(/_[a-z]/g, (m) => m[1]!.toUpperCase());
}

/** Applies `convert` to every key of plain objects, recursively through objects and arrays; leaves other values alone. */
export function convertKeys(value: unknown, convert: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => convertKeys(v, convert));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[convert(k)] = convertKeys(v, convert);
    return out;
  }
  return value;
}

export function toSnakeCase<T = Record<string, unknown>>(value: unknown): T {
  return convertKeys(value, camelToSnakeKey) as T;
}

export function toCamelCase<T = Record<string, unknown>>(value: unknown): T {
  return convertKeys(value, snakeToCamelKey) as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
