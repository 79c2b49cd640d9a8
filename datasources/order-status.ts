/** Pay status as a number, as in the seed tutorial and DESIGN.md "Order status (contract)". */
export const OrderStatus = { UNPAID: 1, PAID: 2, REFUNDING: 3, REFUNDED: 4 } as const;
export type OrderStatusValue = (typeof OrderStatus)[keyof typeof OrderStatus];

/**
 * The only moves an order may make: 1→2 payment success, 2→3 refund accepted, 3→4 refund success,
 * 3→2 refund closed or abnormal. Anything else (a late or duplicate notification) changes nothing.
 */
export const ALLOWED_TRANSITIONS: ReadonlyArray<readonly [OrderStatusValue, OrderStatusValue]> = [
  [OrderStatus.UNPAID, OrderStatus.PAID],
  [OrderStatus.PAID, OrderStatus.REFUNDING],
  [OrderStatus.REFUNDING, OrderStatus.REFUNDED],
  [OrderStatus.REFUNDING, OrderStatus.PAID],
];

export function isAllowedTransition(from: number, to: number): boolean {
  return ALLOWED_TRANSITIONS.some(([f, t]) => f === from && t === to);
}
