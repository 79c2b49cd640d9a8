/** Drops undefined values: outputs are closed schemas, and v3 may omit null-valued keys (wxpay-v3.md §0). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
