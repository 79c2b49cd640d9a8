/**
 * Numeric `--name value` options of a benchmark, each positive: `positiveArgs(argv, {seconds: 3, slices: 6})`
 * answers the defaults overridden by what the command line gives.
 */
export function positiveArgs<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const out = { ...defaults };
  for (const name of Object.keys(defaults) as Array<keyof T & string>) {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) continue;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    (out as Record<string, number>)[name] = v;
  }
  return out;
}
