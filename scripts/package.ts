/**
 * `npm run package`: everything a builder takes to WeDa / CloudBase, in one folder (default dist/weda-import/):
 *
 *   models/<model name>.json     goods, orders and refunds data models for `tcb db push -d models` (the file name is the
 *                                model identifier, weda-import.md §2); the configured names and field mapping
 *   app/app.json                 the template app (CALS) — a spec to rebuild by hand: WeDa imports no app file (§3)
 *   connector/connector.json     the connector as CALS JSON (connector/export.ts)
 *   connector/METHODS.md         the same methods as a click-by-click spec: WeDa imports no custom API file (§1)
 *   functions/, cloudbaserc.json the built cloud functions (scripts/build.ts) for `tcb fn deploy --all`
 *   .env.example                 the variables the deploy reads, PEM keys in the one form the CLI survives (§6 item 10;
 *                                scripts/deploy-env.ts, written by build)
 *   http-access.sh               v3: the HTTP access routes for the notify URLs (scripts/http-access.ts, written by build)
 *   IMPORT.md                    docs/IMPORT.md with this configuration's names filled in
 *
 * The package is written to a temp folder beside the output and renamed into place only when complete, so a
 * failure never leaves a half-written package (an older complete one stays as it was).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAME, DEFAULT_FUNCTION_NAMES, DEFAULT_ORDER_FIELDS } from '../config';
import { exportWedaConnector } from '../connector/export';
import { buildWedaModels } from '../datasources/models';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { build, NodeRuntime } from './build';
import { renderEnvExample } from './deploy-env';
import { projectRoot } from './project-root';

export const PACKAGE_DIR_NAME = 'weda-import';
/** The template app; another part of the project writes it (app-template/README.md). */
export const APP_JSON = path.join('app-template', 'app.json');
export const GUIDE_TEMPLATE = path.join('docs', 'IMPORT.md');
export const DEFAULT_CONNECTOR_NAME = 'wedaWxpay';
/** Shown where the CloudBase environment id goes when neither --env-id nor cloudpay.envId gives it. */
export const ENV_ID_PLACEHOLDER = 'your-env-id';

export interface PackageOptions {
  /** Default <root>/weda-wxpay.config.json. */
  configPath?: string;
  /** Default <root>/dist/weda-import. Replaced as a whole when the new package is complete. */
  outDir?: string;
  /** The template app to copy (default <root>/app-template/app.json). */
  appJson?: string;
  /** The import guide's source (default <root>/docs/IMPORT.md). */
  guideTemplate?: string;
  /** CloudBase environment id: cloudbaserc.json's envId (default `{{env.ENV_ID}}`) and the guide's commands. */
  envId?: string;
  /** The custom API's identifier in WeDa (default wedaWxpay). */
  connectorName?: string;
  /** The functions' Node runtime (build's default when absent). */
  runtime?: NodeRuntime;
  root?: string;
  log?: (line: string) => void;
}

export interface PackageResult {
  outDir: string;
  /** Every file written, relative to outDir, sorted. */
  files: string[];
  /** Model identifier → file, relative to outDir. */
  models: { goods: string; orders: string; refunds: string };
  /** Things in the configuration that will probably not work once deployed; the package is still written. */
  warnings: string[];
}

export async function packageForWeda(opts: PackageOptions = {}): Promise<PackageResult> {
  const root = opts.root ?? projectRoot(__dirname);
  const outDir = path.resolve(opts.outDir ?? path.join(root, 'dist', PACKAGE_DIR_NAME));
  const configPath = path.resolve(opts.configPath ?? path.join(root, CONFIG_FILE_NAME));
  const appJsonPath = path.resolve(opts.appJson ?? path.join(root, APP_JSON));
  const guidePath = path.resolve(opts.guideTemplate ?? path.join(root, GUIDE_TEMPLATE));
  const log = opts.log ?? (() => {});

  // Inputs first: cheap checks, before anything is built or written.
  const config = readJson(configPath, 'configuration', '(pass --config <file>)').value as WedaWxpayConfig;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`${configPath}: must be a JSON object`);
  const appJsonText = readJson(appJsonPath, 'template app', '(pass --app <file> to use another app JSON)').text;
  if (!fs.existsSync(guidePath)) throw new Error(`no import guide: ${guidePath} does not exist`);
  const guideSource = fs.readFileSync(guidePath, 'utf8');
  if (config.provider === 'sandbox') {
    throw new Error(`${configPath}: provider "sandbox" points the functions at the local sandbox; set provider to "v3" or "cloudpay" to package for WeDa`);
  }

  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(outDir), `.${path.basename(outDir)}-`));
  fs.chmodSync(staging, 0o755); // mkdtemp makes it private; the package is an ordinary folder
  try {
    const written = await writePackage(staging, { config, configPath, appJsonText, guideSource, guidePath, root, opts });
    const files = listFiles(staging);
    assertNoSecrets(config, configPath, staging, files);
    replaceDir(staging, outDir);
    for (const w of written.warnings) log(`warning: ${w}`);
    log(`wrote ${outDir} (${files.length} files)`);
    return { outDir, files, models: written.models, warnings: written.warnings };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

interface WriteInput {
  config: WedaWxpayConfig;
  configPath: string;
  appJsonText: string;
  guideSource: string;
  guidePath: string;
  root: string;
  opts: PackageOptions;
}

async function writePackage(dir: string, w: WriteInput): Promise<Pick<PackageResult, 'models' | 'warnings'>> {
  const { config, configPath } = w;
  // build() validates the whole configuration (schemas/config.json) before generating anything.
  const built = await withConfigPath(configPath, () => build({
    configPath, outDir: dir, root: w.root, ...(w.opts.envId ? { envId: w.opts.envId } : {}), ...(w.opts.runtime ? { runtime: w.opts.runtime } : {}),
  }));
  const facts = configFacts(config, configPath);

  const models = withConfigPathSync(configPath, () => buildWedaModels({ model: facts.ordersModel, goodsModel: facts.goodsModel, refundsModel: facts.refundsModel, fields: config.fields ?? {} }));
  write(dir, `models/${facts.goodsModel}.json`, json(models[facts.goodsModel]));
  write(dir, `models/${facts.ordersModel}.json`, json(models[facts.ordersModel]));
  write(dir, `models/${facts.refundsModel}.json`, json(models[facts.refundsModel]));

  write(dir, 'app/app.json', w.appJsonText);

  const connectorName = w.opts.connectorName ?? DEFAULT_CONNECTOR_NAME;
  const connector = exportWedaConnector({ name: connectorName, connectorFunction: facts.functions.connector });
  write(dir, 'connector/connector.json', json(connector));
  write(dir, 'connector/METHODS.md', renderMethods(connector as unknown as ConnectorDoc));

  // build() wrote the same names; the package's copy also shows a sample key line (IMPORT.md refers to it).
  const envNames = [...new Set(built.cloudbaserc.functions.flatMap((f) => Object.keys(f.envVariables)))];
  write(dir, '.env.example', renderEnvExample(config, envNames, { pemSample: true }));

  const envId = w.opts.envId ?? (config.provider === 'cloudpay' ? config.cloudpay?.envId : undefined) ?? ENV_ID_PLACEHOLDER;
  const reconcile = built.cloudbaserc.functions.find((f) => f.name === facts.functions.reconcile);
  const values = guideValues(config, facts, { envId, connectorName, envNames, runtime: built.cloudbaserc.functions[0]!.runtime, reconcileSchedule: reconcile?.triggers?.[0]?.config ?? '', configFile: path.basename(configPath), orders: models[facts.ordersModel]!, methods: (connector as unknown as ConnectorDoc).methods });
  write(dir, 'IMPORT.md', renderGuide(w.guideSource, values, config.provider === 'cloudpay' ? 'cloudpay' : 'v3', w.guidePath));

  return { models: { goods: `models/${facts.goodsModel}.json`, orders: `models/${facts.ordersModel}.json`, refunds: `models/${facts.refundsModel}.json` }, warnings: [...facts.warnings, ...built.httpAccess.warnings] };
}

interface ConfigFacts {
  goodsModel: string;
  ordersModel: string;
  refundsModel: string;
  functions: typeof DEFAULT_FUNCTION_NAMES;
  warnings: string[];
}

/** What the package needs from a configuration that build() has already validated against the schema. */
function configFacts(config: WedaWxpayConfig, configPath: string): ConfigFacts {
  const functions = { ...DEFAULT_FUNCTION_NAMES, ...(config.functions ?? {}) };
  const warnings: string[] = [];
  if (config.provider === 'cloudpay') {
    if (!config.cloudpay) throw new Error(`${configPath}: cloudpay is required when provider is "cloudpay" (envId, payCallbackFunction)`);
    // CloudPay calls the function named in unifiedOrder/refund; only functions.* are deployed by this package.
    const pairs: Array<[string, string | undefined, string]> = [
      ['cloudpay.payCallbackFunction', config.cloudpay.payCallbackFunction, functions.payNotify],
      ['cloudpay.refundCallbackFunction', config.cloudpay.refundCallbackFunction, functions.refundNotify],
    ];
    if (!config.cloudpay.refundCallbackFunction) warnings.push('cloudpay.refundCallbackFunction is not set: refund results reach the orders only through the reconcile function');
    for (const [field, given, deployed] of pairs) {
      if (given !== undefined && given !== deployed) warnings.push(`${field} is "${given}" but the deployed function is "${deployed}": CloudPay would call a function this package does not deploy`);
    }
  } else {
    if (!config.v3) throw new Error(`${configPath}: v3 is required when provider is "${config.provider}"`);
    if (!config.v3.refundNotifyUrl) warnings.push('v3.refundNotifyUrl is not set: refund results reach the orders only through the reconcile function');
  }
  return { goodsModel: config.models?.goods ?? 'goods', ordersModel: config.models?.orders ?? 'orders', refundsModel: config.models?.refunds ?? 'refunds', functions, warnings };
}

// ---------------------------------------------------------------------------------------------------------
// connector/METHODS.md

interface CalsSchema {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  required?: string[];
  properties?: Record<string, CalsSchema>;
  items?: CalsSchema;
}

interface ConnectorDoc {
  name: string;
  title: string;
  methods: Array<{ name: string; title: string; description?: string; intent: string; inParams: CalsSchema; outParams: CalsSchema; calleeBody: { callee: string } }>;
}

/** The connector as the builder recreates it in the console: one section per method, params as tables. */
export function renderMethods(connector: ConnectorDoc): string {
  const lines = [
    `# ${connector.title} — 自定义 API 方法清单 / custom API methods`,
    '',
    '<!-- Generated by `npm run package` from connector/manifest.ts. Do not edit. -->',
    '',
    'WeDa 不能从文件导入自定义 API：请在控制台「APIs → 新建 → 自定义 API」中按本清单逐个新建方法（见 IMPORT.md 第 4 步）。',
    'WeDa cannot import a custom API from a file: create it in the console (APIs → New → custom API) and add each method below by hand (IMPORT.md, step 4).',
    '',
    `- APIs 标识 / identifier: \`${connector.name}\``,
    `- APIs 名称 / title: ${connector.title}`,
    '- 每个方法的类型 / method type: **自定义代码** (custom code)',
    '',
    '| 方法标识 method | 方法名称 title | 意图 intent |',
    '|---|---|---|',
    ...connector.methods.map((m) => `| \`${m.name}\` | ${m.title} | ${m.intent} |`),
    '',
  ];
  for (const m of connector.methods) {
    lines.push(
      `## \`${m.name}\` — ${m.title}`,
      '',
      `- 方法标识 / method name: \`${m.name}\``,
      `- 方法名称 / title: ${m.title}`,
      '- 方法类型 / type: 自定义代码 (custom code)',
      `- 意图 / intent: ${m.intent}`,
      ...(m.description ? [`- 说明 / description: ${m.description}`] : []),
      '',
      '代码（整段粘贴）/ Code (paste as is):',
      '',
      '```js',
      m.calleeBody.callee,
      '```',
      '',
      '入参 / Input parameters:',
      '',
      ...paramTable(m.inParams),
      '',
      '出参 / Output parameters:',
      '',
      ...paramTable(m.outParams),
      '',
    );
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function paramTable(schema: CalsSchema): string[] {
  const rows: string[] = [];
  const notes: string[] = [];
  const walk = (s: CalsSchema, prefix: string) => {
    if (s.description && s.type === 'object' && prefix === '') notes.push(s.description);
    const required = new Set(s.required ?? []);
    for (const [name, field] of Object.entries(s.properties ?? {})) {
      const at = `${prefix}${name}`;
      const type = field.type === 'array' ? `array<${field.items?.type ?? 'string'}>` : (field.type ?? 'string');
      rows.push(`| \`${at}\` | ${type} | ${required.has(name) ? '是 yes' : ''} | ${cell(describeField(field))} |`);
      if (field.type === 'object') walk(field, `${at}.`);
      if (field.type === 'array' && field.items?.type === 'object') walk(field.items, `${at}[].`);
    }
  };
  walk(schema, '');
  if (!rows.length) return ['（无 / none）', ...notes.map((n) => `\n> ${n}`)];
  return ['| 参数 field | 类型 type | 必填 required | 说明 description |', '|---|---|---|---|', ...rows, ...notes.map((n) => `\n> ${n}`)];
}

function describeField(f: CalsSchema): string {
  const parts: string[] = [];
  if (f.title) parts.push(f.title);
  if (f.description && f.description !== f.title) parts.push(f.description);
  if (f.enum) parts.push(`one of ${f.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (f.pattern) parts.push(`pattern \`${f.pattern}\``);
  if (f.minimum !== undefined) parts.push(`≥ ${f.minimum}`);
  if (f.maximum !== undefined) parts.push(`≤ ${f.maximum}`);
  if (f.minLength !== undefined || f.maxLength !== undefined) parts.push(`length ${f.minLength ?? 0}–${f.maxLength ?? '∞'}`);
  if (f.default !== undefined) parts.push(`default \`${JSON.stringify(f.default)}\``);
  return parts.join(' · ');
}

/** A Markdown table cell: pipes escaped (patterns contain them), no line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

// ---------------------------------------------------------------------------------------------------------
// IMPORT.md

/** `%%name%%` in docs/IMPORT.md; chosen so that CloudBase `{{env.X}}`, WeDa `{{params.x}}` and JS `${x}` stay literal. */
const TOKEN = /%%([A-Za-z][A-Za-z0-9]*)%%/g;
/** `<!-- v3 -->…<!-- /v3 -->` blocks are kept only for that provider. */
const PROVIDER_BLOCK = /<!-- (v3|cloudpay) -->\n?([\s\S]*?)<!-- \/\1 -->\n?/g;

/**
 * Fills the guide: provider blocks kept or dropped, every `%%name%%` replaced. An unknown name is an error
 * (a typo in docs/IMPORT.md must not reach a builder as a literal placeholder).
 */
export function renderGuide(template: string, values: Record<string, string>, provider: 'v3' | 'cloudpay', templatePath = GUIDE_TEMPLATE): string {
  const kept = template.replace(PROVIDER_BLOCK, (_m, which: string, body: string) => (which === provider ? body : ''));
  const unknown = new Set<string>();
  const out = kept.replace(TOKEN, (m, name: string, offset: number, text: string) => {
    if (!(name in values)) {
      unknown.add(name);
      return m;
    }
    // A multi-line value (a table) keeps the indentation of its placeholder, so it stays inside a list item.
    const indent = /^[ \t]*$/.exec(text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset))?.[0] ?? '';
    return values[name]!.split('\n').join(`\n${indent}`);
  });
  if (unknown.size) throw new Error(`${templatePath}: unknown placeholder(s) ${[...unknown].map((n) => `%%${n}%%`).join(', ')} (known: ${Object.keys(values).join(', ')})`);
  return out;
}

interface GuideInput {
  envId: string;
  connectorName: string;
  envNames: string[];
  runtime: NodeRuntime;
  reconcileSchedule: string;
  configFile: string;
  orders: { properties: Record<string, { type: string; title: string }> };
  methods: ConnectorDoc['methods'];
}

function guideValues(config: WedaWxpayConfig, facts: ConfigFacts, g: GuideInput): Record<string, string> {
  const fields = { ...DEFAULT_ORDER_FIELDS, ...(config.fields ?? {}) };
  const logicalOf = new Map(Object.entries(fields).map(([logical, real]) => [real, logical]));
  const v3 = config.v3;
  const payNotifyPath = v3?.notifyUrl ? new URL(v3.notifyUrl).pathname : '/pay-notify';
  // Without a configured refund URL, suggest a sibling of the payment path.
  const refundNotifyPath = v3?.refundNotifyUrl ? new URL(v3.refundNotifyUrl).pathname : path.posix.join(path.posix.dirname(payNotifyPath), 'refund-notify');
  const notSet = '(未设置 / not set)';
  return {
    configFile: g.configFile,
    provider: config.provider,
    appid: config.appid,
    envType: config.envType,
    envId: g.envId,
    runtime: g.runtime,
    goodsModel: facts.goodsModel,
    ordersModel: facts.ordersModel,
    refundsModel: facts.refundsModel,
    orderNoField: fields.orderNo,
    statusField: fields.status,
    amountField: fields.amount,
    openidField: fields.openid,
    goodsIdField: fields.goodsId,
    goodsNameField: fields.goodsName,
    ordersFieldTable: [
      '| 字段标识 field | 名称 title | 类型 type | 逻辑名 logical name |',
      '|---|---|---|---|',
      ...Object.entries(g.orders.properties).map(([real, f]) => {
        const logical = logicalOf.get(real) ?? real;
        return `| \`${real}\` | ${f.title} | ${f.type} | ${logical === real ? '' : `\`${logical}\``} |`;
      }),
    ].join('\n'),
    connectorName: g.connectorName,
    connectorFunction: facts.functions.connector,
    payNotifyFunction: facts.functions.payNotify,
    refundNotifyFunction: facts.functions.refundNotify,
    reconcileFunction: facts.functions.reconcile,
    reconcileSchedule: g.reconcileSchedule,
    functionList: Object.values(facts.functions).map((n) => `\`${n}\``).join(', '),
    functionNames: Object.values(facts.functions).join(' '),
    payNotifyUrl: v3?.notifyUrl ?? notSet,
    refundNotifyUrl: v3?.refundNotifyUrl ?? notSet,
    payNotifyPath,
    refundNotifyPath,
    cloudpayPayCallback: config.cloudpay?.payCallbackFunction ?? notSet,
    cloudpayRefundCallback: config.cloudpay?.refundCallbackFunction ?? notSet,
    methodList: g.methods.map((m) => `\`${m.name}\``).join(', '),
    methodTable: ['| 方法 method | 名称 title | 意图 intent |', '|---|---|---|', ...g.methods.map((m) => `| \`${m.name}\` | ${m.title} | ${m.intent} |`)].join('\n'),
    envVarList: ['ENV_ID', ...g.envNames].map((n) => `\`${n}\``).join(', '),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Files

function readJson(file: string, what: string, hint: string): { text: string; value: unknown } {
  if (!fs.existsSync(file)) throw new Error(`no ${what}: ${file} does not exist ${hint}`);
  const text = fs.readFileSync(file, 'utf8');
  try {
    return { text, value: JSON.parse(text) };
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

async function withConfigPath<T>(configPath: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw nameConfig(err, configPath);
  }
}

function withConfigPathSync<T>(configPath: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw nameConfig(err, configPath);
  }
}

/** Errors from the configuration (schema, field mapping) say which file; the original stays as `cause`. */
function nameConfig(err: unknown, configPath: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes(configPath)) return err as Error;
  const own = message.startsWith(`${CONFIG_FILE_NAME}: `) ? message.slice(CONFIG_FILE_NAME.length + 2) : message;
  return new Error(`${configPath}: ${own}`, { cause: err });
}

function write(dir: string, rel: string, text: string): void {
  const full = path.join(dir, rel);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(dir, full).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** A PEM private key with its body (the header alone, as in .env.example's sample line, is no secret). */
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\n|\r?\n)[A-Za-z0-9+/=]{40,}/;

/**
 * No key material from the configuration may reach the package: the APIv3 key value, and the merchant
 * private key (file or environment variable), whole or line by line (`\n`-joined forms included).
 */
function assertNoSecrets(config: WedaWxpayConfig, configPath: string, dir: string, files: string[]): void {
  const secrets: string[] = [];
  if (config.v3?.apiV3Key) secrets.push(config.v3.apiV3Key);
  const keyText = config.v3?.privateKeyPath ? readIfExists(path.resolve(path.dirname(configPath), config.v3.privateKeyPath))
    : config.v3?.privateKeyEnv ? process.env[config.v3.privateKeyEnv] : undefined;
  if (keyText) secrets.push(...keyText.replace(/\\n/g, '\n').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 40 && !l.startsWith('-----')));
  for (const rel of files) {
    const text = fs.readFileSync(path.join(dir, rel), 'utf8');
    if (PRIVATE_KEY_PEM.test(text) || secrets.some((s) => text.includes(s))) {
      throw new Error(`a secret from ${configPath} would be written to ${rel}; refusing (nothing was written)`);
    }
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Moves the complete package into place; an existing one is swapped out first and restored if that fails. */
function replaceDir(staging: string, outDir: string): void {
  const previous = fs.existsSync(outDir) ? `${staging}.previous` : undefined;
  if (previous) fs.renameSync(outDir, previous);
  try {
    fs.renameSync(staging, outDir);
  } catch (err) {
    if (previous) fs.renameSync(previous, outDir);
    throw err;
  }
  if (previous) fs.rmSync(previous, { recursive: true, force: true });
}
