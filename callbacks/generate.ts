/**
 * Fills the three function templates in from the configuration: model name, field mapping, envType and
 * payment settings (secrets turned into environment variable names), plus the `callbacks` options. The
 * output is the readable index.js of each function; scripts/build.ts writes it next to the bundled runtime.
 */
import { CONFIG_FILE_NAME, DEFAULT_FUNCTION_NAMES, DEFAULT_ORDER_FIELDS } from '../config';
import { assertValid } from '../schemas/validate';
import { PayError } from '../wxpay';
import { CONFIG_SCHEMA } from '../schemas';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { callbackFields, CallbackOrderFields } from './runtime/orders';
import { CallbackOptions, DEFAULT_RECONCILE_SCHEDULE } from './runtime/options';
import { FunctionKind, TemplateValues } from './templates/common';
import { payNotifyTemplate } from './templates/pay-notify';
import { reconcileTemplate } from './templates/reconcile';
import { connectorTemplate } from './templates/connector';
import { refundNotifyTemplate } from './templates/refund-notify';

export const FUNCTION_KINDS: readonly FunctionKind[] = ['pay-notify', 'refund-notify', 'reconcile', 'connector'];

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
  config: WedaWxpayConfig & { callbacks?: CallbackOptions };
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

/**
 * The configuration as it is written into the functions: key files and key values become environment
 * variable names (values never leave the builder's machine); everything else is kept.
 */
export function deployConfig(config: WedaWxpayConfig): DeployConfig {
  const out = structuredClone(config);
  delete out.$schema;
  const secretEnv: string[] = [];
  if (out.v3) {
    const v3 = out.v3;
    if (!v3.privateKeyEnv) v3.privateKeyEnv = SECRET_ENV.privateKey;
    delete v3.privateKeyPath;
    secretEnv.push(v3.privateKeyEnv);
    if (!v3.apiV3KeyEnv) v3.apiV3KeyEnv = SECRET_ENV.apiV3Key;
    delete v3.apiV3Key;
    secretEnv.push(v3.apiV3KeyEnv);
    if (v3.platformKeys) {
      v3.platformKeys = v3.platformKeys.map((k, i) => {
        const env = k.env ?? SECRET_ENV.platformKey(i);
        secretEnv.push(env);
        return { id: k.id, env };
      }) as typeof v3.platformKeys;
    }
  }
  return { config: out, secretEnv: [...new Set(secretEnv)] };
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function generateFunctions(input: GenerateInput): GeneratedFunction[] {
  // One validation of the whole file (config.json includes the callbacks schema); an absent `callbacks`
  // is validated as {} so its defaults are filled in.
  const whole = structuredClone({ ...input.config, callbacks: input.config.callbacks ?? {} });
  assertValid(CONFIG_SCHEMA, whole, CONFIG_FILE_NAME);
  const { callbacks: validCallbacks, ...rest } = whole;
  const config = rest as WedaWxpayConfig;
  const callbacks = validCallbacks as CallbackOptions;

  const fields: CallbackOrderFields = callbackFields({ ...DEFAULT_ORDER_FIELDS, ...(config.fields ?? {}) });
  const ordersModel = config.models?.orders ?? 'orders';
  for (const [key, name] of [['models.orders', ordersModel], ...Object.entries(fields).map(([k, n]) => [`fields.${k}`, n])] as Array<[string, string]>) {
    // The schema already says so; the generated code relies on it (names appear as object keys).
    if (!IDENT.test(name)) throw new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: ${key} must match ${IDENT.source}`, detail: { field: key, issue: 'pattern' } });
  }
  const names = { ...DEFAULT_FUNCTION_NAMES, ...(config.functions ?? {}) };
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
      triggers: [{ name: 'reconcile', type: 'timer', config: callbacks.reconcile?.schedule ?? DEFAULT_RECONCILE_SCHEDULE }],
    },
    // The WeDa connector's methods forward here (connector/export.ts).
    { kind: 'connector', name: names.connector, timeout: callbacks.timeoutSeconds?.connector ?? 20, template: connectorTemplate, triggers: [] },
  ];
  return plan.map((p) => ({
    kind: p.kind,
    name: p.name,
    source: p.template({
      functionName: p.name, ordersModel, envType: config.envType, fields, wxpay, callbacks: p.kind === 'reconcile' ? withBudget(callbacks, p.timeout) : callbacks, secretEnv,
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
