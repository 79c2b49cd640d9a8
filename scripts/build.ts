/**
 * `npm run build`: the callback functions, ready for `tcb fn deploy`.
 *
 *   <out>/functions/<name>/index.js               the generated, readable function (callbacks/templates)
 *   <out>/functions/<name>/weda-wxpay-runtime.js  the callbacks runtime bundled by esbuild (connector,
 *                                                 protocol core, data-model stores), the same file in each
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
 * store), @cloudbase/node-sdk (CloudBase store; installed by CloudBase from package.json), wx-server-sdk
 * (CloudPay, subscribe messages).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { build as esbuild } from 'esbuild';
import { CONFIG_FILE_NAME } from '../config';
import { generateFunctions, GeneratedFunction, GenerateInput } from '../callbacks/generate';
import cloudbasercSchema from '../schemas/deploy/cloudbaserc.json';
import { renderEnvExample } from './deploy-env';
import { HTTP_ACCESS_SCRIPT, HttpAccess, httpAccessCommands, planHttpAccess, renderHttpAccessScript } from './http-access';
import { projectRoot } from './project-root';

export const RUNTIME_FILE = 'weda-wxpay-runtime.js';
export const RUNTIME_EXTERNALS = ['better-sqlite3', '@cloudbase/node-sdk', 'wx-server-sdk'];
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

  // One bundle of the runtime, copied into each function (each deploys on its own).
  const bundled = await esbuild({
    entryPoints: [path.join(root, 'callbacks', 'runtime', 'index.ts')],
    bundle: true,
    platform: 'node',
    target: NODE_RUNTIMES[runtimeName],
    format: 'cjs',
    external: RUNTIME_EXTERNALS,
    minify: opts.minify ?? true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
    banner: { js: '// weda-wxpay callbacks runtime, bundled by esbuild from callbacks/runtime (scripts/build.ts). Do not edit.' },
  });
  const runtime = bundled.outputFiles[0]!.contents;

  const functionsDir = path.join(outDir, 'functions');
  fs.rmSync(functionsDir, { recursive: true, force: true });
  const built: BuiltFunction[] = [];
  for (const fn of generated) {
    const dir = path.join(functionsDir, fn.name);
    fs.mkdirSync(dir, { recursive: true });
    const pkg = { name: fn.name, version: '1.0.0', private: true, description: `weda-wxpay ${fn.kind} callback`, main: 'index.js', dependencies: fn.dependencies };
    fs.writeFileSync(path.join(dir, 'index.js'), fn.source);
    fs.writeFileSync(path.join(dir, RUNTIME_FILE), runtime);
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
    outDir, cloudbasercPath, cloudbaserc: rc, functions: built, runtimeBytes: runtime.length, httpAccess,
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
