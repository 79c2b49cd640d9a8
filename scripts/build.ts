/**
 * `npm run build`: the callback functions, ready for `tcb fn deploy`.
 *
 *   <out>/functions/<name>/index.js               the generated, readable function (callbacks/templates)
 *   <out>/functions/<name>/weda-wxpay-runtime.js  the callbacks runtime bundled by esbuild (connector,
 *                                                 protocol core, data-model stores): in each function only
 *                                                 what it runs (FUNCTION_BUNDLES)
 *   <out>/functions/<name>/package.json           what CloudBase installs (installDependency)
 *   <out>/cloudbaserc.json                        runtime, handler, timeout, envVariables, timer trigger;
 *                                                 checked against schemas/deploy/cloudbaserc.json
 *   <out>/.env.example                            the environment variables the deploy reads, and their one
 *                                                 form (`weda-wxpay env` writes the real <out>/.env)
 *   <out>/http-access.sh                          v3: the `tcb service create` commands that route the notify
 *                                                 URLs' paths to the functions, checked (scripts/http-access.ts)
 *
 * <out> (default dist/) holds only what deploys; tsc's output is in .build/ (tsconfig.json outDir).
 *
 * The validators are precompiled (schemas/validators.generated.ts), so ajv itself is not bundled.
 * Native and cloud-only modules stay outside the bundle and are loaded only when used: better-sqlite3 (local
 * store), @cloudbase/node-sdk (installed by CloudBase from package.json: the CloudBase store's fallback when the
 * environment has neither an API key nor role credentials, datasources/cloudbase-store.ts), wx-server-sdk
 * (CloudPay, subscribe messages).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { build as esbuild, type Plugin } from 'esbuild';
import { CONFIG_FILE_NAME } from '../config';
import { generateFunctions, GeneratedFunction, GenerateInput } from '../callbacks/generate';
import type { FunctionKind } from '../callbacks/templates/common';
import type { EventSchema } from '../callbacks/runtime/received';
import type { MethodName } from '../connector/manifest';
import { METHOD_SCHEMAS } from '../schemas';
import cloudbasercSchema from '../schemas/deploy/cloudbaserc.json';
import { renderEnvExample } from './deploy-env';
import { HTTP_ACCESS_SCRIPT, HttpAccess, httpAccessCommands, planHttpAccess, renderHttpAccessScript } from './http-access';
import { projectRoot } from './project-root';

export const RUNTIME_FILE = 'weda-wxpay-runtime.js';
export const RUNTIME_EXTERNALS = ['better-sqlite3', '@cloudbase/node-sdk', 'wx-server-sdk'];

/** What every function's index.js takes from the runtime (callbacks/templates/common.ts), and the test runner's closeSharedStore. */
const COMMON_EXPORTS = ['createWeda', 'functionKit', 'closeSharedStore'];

/**
 * What each function's runtime bundle holds, so esbuild leaves the rest out: the exports of callbacks/runtime/index.ts
 * its index.js calls (callbacks/templates), and the precompiled validators its code runs besides the
 * configuration's — the connector methods it calls (input and output) and the events it receives. The validators
 * are half the runtime; one bundle holding all of them weighed 340–370 KB per function, over the 300 KB goal
 * (bench/function-cold-start.ts). test/build-function-bundles.test.ts checks these lists against the code.
 */
export const FUNCTION_BUNDLES: Record<FunctionKind, { exports: string[]; methods: readonly MethodName[]; events: readonly EventSchema[] }> = {
  // CloudPay events are confirmed by queryOrder / queryRefund (callbacks/runtime/index.ts).
  'pay-notify': { exports: ['v3PayNotify', 'cloudPayPayNotify', 'isHttpTriggerEvent'], methods: ['queryOrder'], events: ['v3NotificationEnvelope', 'v3Transaction', 'cloudPayPayment'] },
  'refund-notify': { exports: ['v3RefundNotify', 'cloudPayRefundNotify', 'isHttpTriggerEvent'], methods: ['queryRefund'], events: ['v3NotificationEnvelope', 'v3Refund', 'cloudPayRefund'] },
  reconcile: { exports: ['reconcileOrders', 'reconcileDayBill'], methods: ['queryOrder', 'closeOrder', 'queryRefund', 'downloadBill'], events: [] },
  connector: { exports: ['connectorCall'], methods: Object.keys(METHOD_SCHEMAS) as MethodName[], events: [] },
};

const GENERATED_VALIDATORS = /(^|\/)(received-)?validators\.generated$/;

/**
 * Serves schemas/validators.generated.ts and received-validators.generated.ts to the bundle as modules that
 * re-export only the validators `FUNCTION_BUNDLES` names for the function; esbuild then drops the others. A
 * validator left out fails loudly where it is looked up (schemas/validate.ts: "no precompiled validator").
 */
function validatorSelection(root: string, kind: FunctionKind): Plugin {
  const { methods, events } = FUNCTION_BUNDLES[kind];
  const selected: Record<string, string[]> = {
    [path.join(root, 'schemas', 'validators.generated.ts')]: ['config', ...methods.flatMap((m) => [`${m}Input`, `${m}Output`])],
    [path.join(root, 'schemas', 'received-validators.generated.ts')]: events.map((e) => `${e}Received`),
  };
  return {
    name: 'weda-wxpay-validator-selection',
    setup(b) {
      b.onResolve({ filter: GENERATED_VALIDATORS }, (args) => {
        const file = `${path.resolve(args.resolveDir, args.path)}.ts`;
        return selected[file] ? { path: file, namespace: 'validator-selection' } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'validator-selection' }, (args) => {
        const names = selected[args.path]!;
        return { contents: names.length ? `export { ${names.join(', ')} } from ${JSON.stringify(args.path)};` : 'export {};', resolveDir: path.dirname(args.path), loader: 'ts' };
      });
    },
  };
}

/**
 * One function's runtime bundle: callbacks/runtime/index.ts, only the exports and validators the function uses;
 * `inputs` are the files that went in.
 */
export async function bundleRuntime(root: string, kind: FunctionKind, opts: { target: string; minify: boolean }): Promise<{ code: Uint8Array; inputs: string[] }> {
  const names = [...COMMON_EXPORTS, ...FUNCTION_BUNDLES[kind].exports];
  const bundled = await esbuild({
    stdin: { contents: `export { ${names.join(', ')} } from './callbacks/runtime/index';`, resolveDir: root, sourcefile: `${kind}-runtime.ts`, loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: opts.target,
    format: 'cjs',
    external: RUNTIME_EXTERNALS,
    minify: opts.minify,
    legalComments: 'none',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [validatorSelection(root, kind)],
    banner: { js: `// weda-wxpay callbacks runtime for ${kind}, bundled by esbuild from callbacks/runtime (scripts/build.ts). Do not edit.` },
  });
  return { code: bundled.outputFiles[0]!.contents, inputs: Object.keys(bundled.metafile.inputs) };
}
/** The Node runtimes the CloudBase CLI offers that the functions are built for (weda-import.md §5), and esbuild's target for each. */
export const NODE_RUNTIMES = { 'Nodejs18.15': 'node18', 'Nodejs20.19': 'node20' } as const;
export type NodeRuntime = keyof typeof NODE_RUNTIMES;
export const DEFAULT_NODE_RUNTIME: NodeRuntime = 'Nodejs18.15';

export interface BuildOptions {
  /** Output directory (default <root>/dist). `functions/` inside it is replaced. */
  outDir?: string;
  /** The configuration object; otherwise read from `configPath`. */
  config?: GenerateInput['config'];
  /** Default <root>/weda-wxpay.config.json. */
  configPath?: string;
  /** cloudbaserc.json envId (default `{{env.ENV_ID}}`, filled in by the CLI from .env). */
  envId?: string;
  /** The functions' Node runtime (default Nodejs18.15). */
  runtime?: NodeRuntime;
  /** The checkout (default: found from this file). */
  root?: string;
  /** Minify the runtime bundle (default true: it is what each function loads on a cold start; `false` to read it). */
  minify?: boolean;
  log?: (line: string) => void;
}

export interface BuiltFunction {
  name: string;
  kind: GeneratedFunction['kind'];
  dir: string;
  files: string[];
}

export interface BuildResult {
  outDir: string;
  cloudbasercPath: string;
  cloudbaserc: CloudbaseRc;
  functions: BuiltFunction[];
  /** The largest function's runtime bundle. */
  runtimeBytes: number;
  /** The HTTP access the v3 notify URLs need (written to http-access.sh), or why none is needed. */
  httpAccess: HttpAccess;
  /** <out>/http-access.sh, when there is something to route. */
  httpAccessScript?: string;
}

export interface CloudbaseRc {
  version: '2.0';
  envId: string;
  functionRoot: string;
  functions: Array<{
    name: string;
    runtime: NodeRuntime;
    handler: string;
    timeout: number;
    memorySize: number;
    installDependency: boolean;
    envVariables: Record<string, string>;
    ignore: string[];
    triggers?: GeneratedFunction['triggers'];
  }>;
}

/** Checks a cloudbaserc.json object against schemas/deploy/cloudbaserc.json; answers the problems. */
export function cloudbasercProblems(rc: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validate = ajv.compile(cloudbasercSchema);
  if (validate(rc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const root = opts.root ?? projectRoot(__dirname);
  const outDir = path.resolve(opts.outDir ?? path.join(root, 'dist'));
  const log = opts.log ?? (() => {});
  const configPath = path.resolve(opts.configPath ?? path.join(root, CONFIG_FILE_NAME));
  let config = opts.config;
  if (!config) {
    if (!fs.existsSync(configPath)) throw new Error(`no configuration: ${configPath} does not exist (pass --config <file>)`);
    config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as GenerateInput['config'];
  }
  const runtimeName = opts.runtime ?? DEFAULT_NODE_RUNTIME;
  if (!Object.hasOwn(NODE_RUNTIMES, runtimeName)) throw new Error(`runtime ${String(runtimeName)} is not one the functions are built for: ${Object.keys(NODE_RUNTIMES).join(', ')}`);
  const configFile = opts.config ? CONFIG_FILE_NAME : path.basename(configPath);
  const generated = generateFunctions({ config, generatedFrom: configFile });
  // Checked before anything is written: a notify URL HTTP access cannot route fails the build.
  const nameOf = (kind: GeneratedFunction['kind']) => generated.find((fn) => fn.kind === kind)!.name;
  const functions = { payNotify: nameOf('pay-notify'), refundNotify: nameOf('refund-notify'), reconcile: nameOf('reconcile'), connector: nameOf('connector') };
  const httpAccess = planHttpAccess(config, { functions, ...(opts.envId ? { envId: opts.envId } : {}) });

  // One bundle of the runtime per function kind (each deploys on its own and loads it on every cold start).
  const runtimes = new Map<FunctionKind, Uint8Array>();
  for (const kind of new Set(generated.map((fn) => fn.kind))) {
    runtimes.set(kind, (await bundleRuntime(root, kind, { target: NODE_RUNTIMES[runtimeName], minify: opts.minify ?? true })).code);
  }

  const functionsDir = path.join(outDir, 'functions');
  fs.rmSync(functionsDir, { recursive: true, force: true });
  const built: BuiltFunction[] = [];
  for (const fn of generated) {
    const dir = path.join(functionsDir, fn.name);
    fs.mkdirSync(dir, { recursive: true });
    const pkg = { name: fn.name, version: '1.0.0', private: true, description: `weda-wxpay ${fn.kind} callback`, main: 'index.js', dependencies: fn.dependencies };
    fs.writeFileSync(path.join(dir, 'index.js'), fn.source);
    fs.writeFileSync(path.join(dir, RUNTIME_FILE), runtimes.get(fn.kind)!);
    fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    built.push({ name: fn.name, kind: fn.kind, dir, files: ['index.js', RUNTIME_FILE, 'package.json'] });
    log(`built ${path.relative(root, dir) || dir} (${fn.kind})`);
  }

  const rc: CloudbaseRc = {
    version: '2.0',
    envId: opts.envId ?? '{{env.ENV_ID}}',
    functionRoot: './functions',
    functions: generated.map((fn) => ({
      name: fn.name,
      runtime: runtimeName,
      handler: 'index.main',
      timeout: fn.timeout,
      memorySize: fn.memorySize,
      installDependency: true,
      envVariables: fn.envVariables,
      ignore: ['node_modules', '*.md'],
      ...(fn.triggers.length ? { triggers: fn.triggers } : {}),
    })),
  };
  const problems = cloudbasercProblems(rc);
  if (problems.length) throw new Error(`cloudbaserc.json breaks schemas/deploy/cloudbaserc.json: ${problems.join('; ')}`);
  const cloudbasercPath = path.join(outDir, 'cloudbaserc.json');
  fs.writeFileSync(cloudbasercPath, `${JSON.stringify(rc, null, 2)}\n`);

  const envNames = [...new Set(generated.flatMap((fn) => Object.keys(fn.envVariables)))];
  fs.writeFileSync(path.join(outDir, '.env.example'), renderEnvExample(config, envNames));

  // A stale script from an earlier v3 build must not outlive a configuration that needs no HTTP access.
  const scriptPath = path.join(outDir, HTTP_ACCESS_SCRIPT);
  fs.rmSync(scriptPath, { force: true });
  if (httpAccess.routes.length) {
    fs.writeFileSync(scriptPath, renderHttpAccessScript(httpAccess, configFile), { mode: 0o755 });
    log(`HTTP access for the v3 notify URLs (after \`tcb fn deploy --all\`; also in ${scriptPath}):`);
    for (const command of httpAccessCommands(httpAccess)) log(`  ${command}`);
  } else {
    log(httpAccess.notNeeded ?? 'no HTTP access needed');
  }
  for (const w of httpAccess.warnings) log(`warning: ${w}`);

  assertNoSecrets(config, [cloudbasercPath, ...built.map((b) => path.join(b.dir, 'index.js')), ...(httpAccess.routes.length ? [scriptPath] : [])], configPath);
  return {
    outDir, cloudbasercPath, cloudbaserc: rc, functions: built, runtimeBytes: Math.max(...[...runtimes.values()].map((r) => r.length)), httpAccess,
    ...(httpAccess.routes.length ? { httpAccessScript: scriptPath } : {}),
  };
}

/** The configuration may hold an APIv3 key value: it must not reach any written file. */
function assertNoSecrets(config: GenerateInput['config'], files: string[], configPath: string): void {
  const secrets = [config.v3?.apiV3Key].filter((s): s is string => typeof s === 'string' && s.length > 0);
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) || secrets.some((s) => text.includes(s))) {
      throw new Error(`a secret from ${configPath} would be written to ${file}; refusing`);
    }
  }
}
