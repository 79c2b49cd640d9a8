/**
 * Fills the function templates in from the configuration: model names, field mapping, envType and
 * payment settings (secrets turned into environment variable names), plus the `callbacks` options. The
 * output is the readable index.js of each function; scripts/build.ts writes it next to the bundled runtime.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAME, configSettings } from '../config';
import { PayError } from '../wxpay';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { CallbackOptions, DEFAULT_RECONCILE_SCHEDULE } from './runtime/options';
import { BILL_RECONCILE_TRIGGER } from './runtime/bill-reconcile';
import { parseTimerSchedule } from './schedule';
import { FunctionKind, TemplateValues } from './templates/common';
import { payNotifyTemplate } from './templates/pay-notify';
import { reconcileTemplate } from './templates/reconcile';
import { connectorTemplate } from './templates/connector';
import { refundNotifyTemplate } from './templates/refund-notify';

/** Environment variable names for secrets that the configuration gives as files or values. */
export const SECRET_ENV = {
  privateKey: 'WXPAY_PRIVATE_KEY',
  apiV3Key: 'WXPAY_APIV3_KEY',
  platformKey: (i: number) => `WXPAY_PLATFORM_KEY_${i + 1}`,
};

/** Versions the functions' package.json asks CloudBase to install (installDependency). */
export const FUNCTION_DEPENDENCIES = {
  '@cloudbase/node-sdk': '^3.18.3',
  'wx-server-sdk': '~4.0.2',
};

export interface GenerateInput {
  /** weda-wxpay.config.json, optionally with its `callbacks` section. */
  config: WedaWxpayConfig;
  /** Shown in the generated header. */
  generatedFrom?: string;
}

export interface TimerTrigger {
  name: string;
  type: 'timer';
  config: string;
}

export interface GeneratedFunction {
  kind: FunctionKind;
  /** Deployed name (configuration `functions`, default wxpay-pay-notify / wxpay-refund-notify / wxpay-reconcile). */
  name: string;
  /** index.js, as builders will read it. */
  source: string;
  /** NAME → `{{env.NAME}}`: the CloudBase CLI fills values from .env files; no secret is ever written here. */
  envVariables: Record<string, string>;
  timeout: number;
  memorySize: number;
  triggers: TimerTrigger[];
  dependencies: Record<string, string>;
}

export interface DeployConfig {
  config: WedaWxpayConfig;
  /** Secret environment variable names the functions read. */
  secretEnv: string[];
}

/** One secret of the configuration: the environment variable the deployed functions read it from, and where its value is now. */
interface Secret {
  env: string;
  /** The configuration field that says where the value is (named in errors). */
  field: string;
  /** A key file (relative to the configuration file), a value written in the configuration, or already an environment variable. */
  from: { path: string } | { value: string } | { env: string } | undefined;
}

function secretSource(o: { path?: string | undefined; value?: string | undefined; env?: string | undefined }): Secret['from'] {
  if (o.env) return { env: o.env };
  if (o.path) return { path: o.path };
  if (o.value) return { value: o.value };
  return undefined;
}

/** The field a secret comes from, as config/ names it in its errors: the `…Env` field when it is an environment variable, else the file or value field. */
function secretField(from: Secret['from'], envField: string, otherField: string): string {
  return from && 'env' in from ? envField : otherField;
}

/**
 * The configuration as it is written into the functions: key files and key values become environment
 * variable names (values never leave the builder's machine); everything else but the `callbacks` section
 * (written out on its own) is kept.
 */
export function deployConfig(config: WedaWxpayConfig): DeployConfig {
  const { config: out, secrets } = separateSecrets(config);
  return { config: out, secretEnv: [...new Set(secrets.map((s) => s.env))] };
}

/** A secret the deployed functions read: its variable, the configuration field it comes from, and its value on this machine. */
export interface DeploySecret {
  env: string;
  field: string;
  /** Undefined when the configuration names an environment variable that is not set here, or gives no source. */
  value: string | undefined;
}

/**
 * The values of the environment variables `deployConfig` names, read from the key files and values of the
 * configuration (what a deployer puts in .env — `weda-wxpay env`; the local function host passes them as the
 * functions' environment).
 */
export function readDeploySecrets(config: WedaWxpayConfig, opts: { baseDir: string; env?: NodeJS.ProcessEnv }): DeploySecret[] {
  return separateSecrets(config).secrets.map((s) => {
    const from = s.from;
    if (!from) return { env: s.env, field: s.field, value: undefined };
    if ('value' in from) return { env: s.env, field: s.field, value: from.value };
    if ('env' in from) return { env: s.env, field: s.field, value: (opts.env ?? process.env)[from.env] };
    const file = path.resolve(opts.baseDir, from.path);
    try {
      return { env: s.env, field: s.field, value: fs.readFileSync(file, 'utf8') };
    } catch (err) {
      throw new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: ${s.field} cannot be read (${file}): ${(err as Error).message}`, detail: { field: s.field, issue: 'unreadable' }, cause: err });
    }
  });
}

/** `readDeploySecrets` as variables: name → value, the ones without a value left out. */
export function deploySecrets(config: WedaWxpayConfig, opts: { baseDir: string; env?: NodeJS.ProcessEnv }): Record<string, string> {
  const values: Record<string, string> = {};
  for (const s of readDeploySecrets(config, opts)) if (s.value !== undefined) values[s.env] = s.value;
  return values;
}

function separateSecrets(config: WedaWxpayConfig): { config: WedaWxpayConfig; secrets: Secret[] } {
  const out = structuredClone(config);
  delete out.$schema;
  delete out.callbacks;
  const secrets: Secret[] = [];
  const v3 = out.v3;
  if (v3) {
    const privateKeyEnv = v3.privateKeyEnv ?? SECRET_ENV.privateKey;
    const privateKeyFrom = secretSource({ env: v3.privateKeyEnv, path: v3.privateKeyPath });
    secrets.push({ env: privateKeyEnv, field: secretField(privateKeyFrom, 'v3.privateKeyEnv', 'v3.privateKeyPath'), from: privateKeyFrom });
    v3.privateKeyEnv = privateKeyEnv;
    delete v3.privateKeyPath;
    const apiV3KeyEnv = v3.apiV3KeyEnv ?? SECRET_ENV.apiV3Key;
    const apiV3KeyFrom = secretSource({ env: v3.apiV3KeyEnv, value: v3.apiV3Key });
    secrets.push({ env: apiV3KeyEnv, field: secretField(apiV3KeyFrom, 'v3.apiV3KeyEnv', 'v3.apiV3Key'), from: apiV3KeyFrom });
    v3.apiV3KeyEnv = apiV3KeyEnv;
    delete v3.apiV3Key;
    if (v3.platformKeys) {
      v3.platformKeys = v3.platformKeys.map((k, i) => {
        const env = k.env ?? SECRET_ENV.platformKey(i);
        const from = secretSource({ env: k.env, path: k.path });
        secrets.push({ env, field: secretField(from, `v3.platformKeys[${i}].env`, `v3.platformKeys[${i}].path`), from });
        return { id: k.id, env };
      }) as typeof v3.platformKeys;
    }
  }
  return { config: out, secrets };
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function generateFunctions(input: GenerateInput): GeneratedFunction[] {
  // One validation of the whole file, callbacks included, and the defaults as the config module derives them.
  const settings = configSettings(input.config);
  const { config } = settings;
  const { callbacks } = config;
  const { model: ordersModel, refundsModel, fields, envType } = settings.orders;
  for (const [key, name] of [['models.orders', ordersModel], ['models.refunds', refundsModel], ...Object.entries(fields).map(([k, n]) => [`fields.${k}`, n])] as Array<[string, string]>) {
    // The schema already says so; the generated code relies on it (names appear as object keys).
    if (!IDENT.test(name)) throw new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: ${key} must match ${IDENT.source}`, detail: { field: key, issue: 'pattern' } });
  }
  const schedule = callbacks.reconcile?.schedule ?? DEFAULT_RECONCILE_SCHEDULE;
  try {
    parseTimerSchedule(schedule);
  } catch (err) {
    throw new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: callbacks.reconcile.schedule: ${(err as Error).message}`, detail: { field: 'callbacks.reconcile.schedule', issue: (err as Error).message } });
  }
  const names = settings.functions;
  const { config: wxpay, secretEnv } = deployConfig(config);
  const envVariables = Object.fromEntries(secretEnv.map((n) => [n, `{{env.${n}}}`]));
  const needsWxServerSdk = config.provider === 'cloudpay' || callbacks.payerMessage !== undefined;
  const dependencies: Record<string, string> = {
    '@cloudbase/node-sdk': FUNCTION_DEPENDENCIES['@cloudbase/node-sdk'],
    ...(needsWxServerSdk ? { 'wx-server-sdk': FUNCTION_DEPENDENCIES['wx-server-sdk'] } : {}),
  };
  const memorySize = callbacks.memorySize ?? 256;

  const plan: Array<{ kind: FunctionKind; name: string; timeout: number; template: (v: TemplateValues) => string; triggers: TimerTrigger[] }> = [
    { kind: 'pay-notify', name: names.payNotify, timeout: callbacks.timeoutSeconds?.payNotify ?? 20, template: payNotifyTemplate, triggers: [] },
    { kind: 'refund-notify', name: names.refundNotify, timeout: callbacks.timeoutSeconds?.refundNotify ?? 20, template: refundNotifyTemplate, triggers: [] },
    {
      kind: 'reconcile', name: names.reconcile, timeout: callbacks.timeoutSeconds?.reconcile ?? 60, template: reconcileTemplate,
      triggers: [{ name: 'reconcile', type: 'timer', config: schedule }, { name: BILL_RECONCILE_TRIGGER.name, type: 'timer', config: BILL_RECONCILE_TRIGGER.schedule }],
    },
    // The WeDa connector's methods forward here (connector/export.ts).
    { kind: 'connector', name: names.connector, timeout: callbacks.timeoutSeconds?.connector ?? 20, template: connectorTemplate, triggers: [] },
  ];
  return plan.map((p) => ({
    kind: p.kind,
    name: p.name,
    source: p.template({
      functionName: p.name, ordersModel, refundsModel, envType, fields, wxpay, callbacks: p.kind === 'reconcile' ? withBudget(callbacks, p.timeout) : callbacks, secretEnv,
      generatedFrom: input.generatedFrom ?? CONFIG_FILE_NAME,
    }),
    envVariables,
    timeout: p.timeout,
    memorySize,
    triggers: p.triggers,
    dependencies,
  }));
}

/**
 * Reconcile stops starting new orders after `budgetMs`; unless configured, that is 40 s or 10 s less than
 * the function timeout, whichever is smaller, so a run ends on its own terms instead of being killed mid-order.
 */
function withBudget(callbacks: CallbackOptions, timeoutSeconds: number): CallbackOptions {
  if (callbacks.reconcile?.budgetMs !== undefined) return callbacks;
  const budgetMs = Math.max(1000, Math.min(40_000, (timeoutSeconds - 10) * 1000));
  return { ...callbacks, reconcile: { ...(callbacks.reconcile ?? {}), budgetMs } };
}
