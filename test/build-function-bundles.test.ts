/**
 * Each function's runtime bundle holds only what that function runs (scripts/build.ts FUNCTION_BUNDLES), so a
 * bundle that lacks something its code needs is the failure looked for here: every runtime export its index.js
 * calls (v3 and CloudPay configurations), every connector method its bundled code calls by name and every event
 * schema it checks have their precompiled validators in it — and each function's code stays ≤ 300 KB
 * (bench/function-cold-start.ts).
 */
import { generateFunctions } from '../callbacks/generate';
import type { FunctionKind } from '../callbacks/templates/common';
import { METHOD_SCHEMAS } from '../schemas';
import { bundleRuntime, FUNCTION_BUNDLES, NODE_RUNTIMES, DEFAULT_NODE_RUNTIME } from '../scripts/build';
import { REPO_ROOT } from './helpers/paths';
import { deployV3Config } from './helpers/tcb-deploy';
import type { WedaWxpayConfig } from '../schemas/types.generated';

const KINDS = Object.keys(FUNCTION_BUNDLES) as FunctionKind[];
const cloudPayConfig = {
  provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109', envType: 'prod',
  cloudpay: { envId: 'cloud1-abc', payCallbackFunction: 'wxpay-pay-notify', refundCallbackFunction: 'wxpay-refund-notify' },
  callbacks: { payerMessage: { templateId: 'TPL_PAID_001', page: 'pages/order/index', data: { character_string1: '{orderNo}' } } },
} as unknown as WedaWxpayConfig;

let bundles: Map<FunctionKind, Uint8Array>;
/** The same bundles unminified: what each holds, by its own names and string literals. */
let readable: Map<FunctionKind, string>;
beforeAll(async () => {
  bundles = new Map();
  readable = new Map();
  const target = NODE_RUNTIMES[DEFAULT_NODE_RUNTIME];
  for (const kind of KINDS) {
    bundles.set(kind, (await bundleRuntime(REPO_ROOT, kind, { target, minify: true })).code);
    readable.set(kind, Buffer.from((await bundleRuntime(REPO_ROOT, kind, { target, minify: false })).code).toString('utf8'));
  }
}, 60_000);

/** Everything `re` captures in a text, sorted, once each. */
const matches = (text: string, re: RegExp): string[] => [...new Set([...text.matchAll(re)].map((m) => m[1]!))].sort();

test.each(KINDS)('%s: every runtime export its index.js calls is in its bundle', (kind) => {
  const used = new Set<string>();
  for (const config of [deployV3Config(), cloudPayConfig]) {
    const fn = generateFunctions({ config }).find((f) => f.kind === kind)!;
    for (const m of fn.source.matchAll(/\bwxpay\.([A-Za-z_$][\w$]*)\(/g)) used.add(m[1]!);
  }
  const runtime = new Function('module', 'exports', 'require', Buffer.from(bundles.get(kind)!).toString('utf8'));
  const mod = { exports: {} as Record<string, unknown> };
  runtime(mod, mod.exports, (id: string) => require(id));
  expect([...used].filter((name) => mod.exports[name] === undefined)).toEqual([]);
  expect(typeof mod.exports.closeSharedStore).toBe('function');
});

test.each(KINDS)('%s: the validators of every connector method and event its bundled code names', (kind) => {
  const code = readable.get(kind)!;
  const { methods, events } = FUNCTION_BUNDLES[kind];
  // `kit.connector().call('queryOrder', …)`, `deps.connector.call(…)`; the connector function dispatches any method.
  const called = kind === 'connector' ? Object.keys(METHOD_SCHEMAS) : matches(code, /connector(?:\(\))?\.call\("([A-Za-z]+)"/g);
  expect(called.filter((m) => !methods.includes(m as never))).toEqual([]);
  // `shapeProblem('cloudPayPayment', …)` and the v3 resource schemas (`schema: 'v3Transaction'`).
  const checked = matches(code, /(?:shapeProblem\(|schema: )"([A-Za-z0-9]+)"/g);
  expect(checked.filter((e) => !events.includes(e as never))).toEqual([]);
  // The scan sees the calls it looks for (a changed call shape would otherwise pass unseen).
  if (kind === 'pay-notify') expect([called, checked]).toEqual([['queryOrder'], ['cloudPayPayment', 'v3NotificationEnvelope', 'v3Transaction']]);
});

test('the connector bundle has every method\'s validators', () => {
  expect([...FUNCTION_BUNDLES.connector.methods].sort()).toEqual(Object.keys(METHOD_SCHEMAS).sort());
});

test.each(KINDS)('%s: code ≤ 300 KB with its index.js', (kind) => {
  const index = Math.max(...[deployV3Config(), cloudPayConfig].map((config) => generateFunctions({ config }).find((f) => f.kind === kind)!.source.length));
  expect((bundles.get(kind)!.length + index) / 1024).toBeLessThanOrEqual(300);
});
