import fs from 'node:fs';
import path from 'node:path';
import { KeyObject } from 'node:crypto';
import { loadPrivateKey, loadPublicKey, PayError } from '../wxpay';
import { CONFIG_SCHEMA } from '../schemas';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { assertValid } from '../schemas/validate';

export const CONFIG_FILE_NAME = 'weda-wxpay.config.json';
export const DEFAULT_V3_BASE_URL = 'https://api.mch.weixin.qq.com';

/** Logical order fields → the model's real field names (a hand-built model may use ddh / zfzt). */
export interface OrderFields {
  orderNo: string; status: string; amount: string; goodsId: string; goodsName: string; openid: string;
  transactionId: string; paidAt: string; refundNo: string; refundId: string; refundAmount: string; refundedAt: string; closedAt: string;
  closeReason: string; refundedAmount: string; reconciledAt: string;
}
export const DEFAULT_ORDER_FIELDS: OrderFields = {
  orderNo: 'orderNo', status: 'status', amount: 'amount', goodsId: 'goodsId', goodsName: 'goodsName', openid: 'openid',
  transactionId: 'transactionId', paidAt: 'paidAt', refundNo: 'refundNo', refundId: 'refundId', refundAmount: 'refundAmount', refundedAt: 'refundedAt', closedAt: 'closedAt',
  closeReason: 'closeReason', refundedAmount: 'refundedAmount', reconciledAt: 'reconciledAt',
};

export interface OrdersBinding {
  model: string;
  goodsModel: string;
  /** One record per refund of an order (its fields are not remapped: the model is new, made from schemas/models/refunds.json). */
  refundsModel: string;
  fields: OrderFields;
  envType: 'pre' | 'prod';
}

export interface ResolvedV3 {
  baseUrl: string;
  appid: string;
  mchid: string;
  merchantSerialNo: string;
  privateKey: KeyObject;
  apiV3Key: string;
  platformKeys: Record<string, KeyObject>;
  notifyUrl: string;
  refundNotifyUrl?: string;
  timeoutMs: number;
}

export interface ResolvedCloudPay {
  subMchId: string;
  appid: string;
  envId: string;
  payCallbackFunction: string;
  refundCallbackFunction?: string;
}

/** Cloud function names, defaults filled in. */
export interface FunctionNames {
  connector: string;
  payNotify: string;
  refundNotify: string;
  reconcile: string;
}

export const DEFAULT_FUNCTION_NAMES: FunctionNames = { connector: 'wxpay-connector', payNotify: 'wxpay-pay-notify', refundNotify: 'wxpay-refund-notify', reconcile: 'wxpay-reconcile' };

/** The configured function names over the defaults. */
export function functionNames(configured: Partial<FunctionNames> = {}): FunctionNames {
  return { ...DEFAULT_FUNCTION_NAMES, ...configured };
}

/**
 * The configuration validated, with the schema's defaults and every derived default filled in, and no key
 * material read: what generating the functions needs (a build machine holds no secrets).
 */
export interface ConfigSettings {
  /** Validated; `callbacks` is always present (an absent section is validated as {}, so its defaults apply). */
  config: WedaWxpayConfig & { callbacks: NonNullable<WedaWxpayConfig['callbacks']> };
  orders: OrdersBinding;
  retry: { maxRetries: number; baseDelayMs: number };
  functions: FunctionNames;
  /** The merchant number CloudPay events carry (`subMchId`, else `mchid`). */
  merchantNo?: string;
}

export interface ResolvedConfig extends ConfigSettings {
  v3?: ResolvedV3;
  cloudpay?: ResolvedCloudPay;
}

/**
 * JSON has no comments; a configuration may carry them as `"//"` keys at any level (as package.json does,
 * and as `weda-wxpay init` writes them). They are dropped before validation, so nothing else ever sees them.
 */
export const COMMENT_KEY = '//';

function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== COMMENT_KEY) out[k] = withoutComments(v);
  return out;
}

/** Validates a configuration object against schemas/config.json and derives its defaults. Every failure names the field. */
export function configSettings(raw: unknown): ConfigSettings {
  const config = withoutComments(raw) as ConfigSettings['config'];
  if (config && typeof config === 'object' && config.callbacks === undefined) config.callbacks = {};
  assertValid(CONFIG_SCHEMA, config, CONFIG_FILE_NAME);
  const merchantNo = config.subMchId ?? config.mchid;
  return {
    config,
    orders: {
      model: config.models?.orders ?? 'orders',
      goodsModel: config.models?.goods ?? 'goods',
      refundsModel: config.models?.refunds ?? 'refunds',
      fields: { ...DEFAULT_ORDER_FIELDS, ...(config.fields ?? {}) },
      envType: config.envType,
    },
    retry: { maxRetries: config.retry?.maxRetries ?? 2, baseDelayMs: config.retry?.baseDelayMs ?? 200 },
    functions: functionNames(config.functions),
    ...(merchantNo ? { merchantNo } : {}),
  };
}

/**
 * `configSettings`, then the key material: file paths are relative to `baseDir`; `*Env` names are read from
 * `env`. Every failure names the field.
 */
export function resolveConfig(raw: unknown, opts: { baseDir: string; env?: NodeJS.ProcessEnv }): ResolvedConfig {
  const resolved: ResolvedConfig = configSettings(raw);
  const { config } = resolved;
  const env = opts.env ?? process.env;
  if (config.provider === 'cloudpay') {
    if (!config.cloudpay) throw configError('cloudpay', 'is required when provider is "cloudpay" (envId, payCallbackFunction)');
    const subMchId = resolved.merchantNo;
    if (!subMchId) throw configError('subMchId', 'is required when provider is "cloudpay" (the merchant number)');
    resolved.cloudpay = {
      subMchId,
      appid: config.appid,
      envId: config.cloudpay.envId,
      payCallbackFunction: config.cloudpay.payCallbackFunction,
      ...(config.cloudpay.refundCallbackFunction ? { refundCallbackFunction: config.cloudpay.refundCallbackFunction } : {}),
    };
  }
  if (config.provider === 'v3' || config.provider === 'sandbox') {
    const v3 = config.v3;
    if (!v3) throw configError('v3', `is required when provider is "${config.provider}"`);
    if (!config.mchid) throw configError('mchid', `is required when provider is "${config.provider}"`);
    const privateKeyPem = secret(v3.privateKeyPath, v3.privateKeyEnv, 'v3.privateKeyPath', opts.baseDir, env);
    const apiV3Key = v3.apiV3Key ?? (v3.apiV3KeyEnv ? env[v3.apiV3KeyEnv] : undefined);
    if (!apiV3Key) throw configError('v3.apiV3Key', 'is required (or name an environment variable in v3.apiV3KeyEnv)');
    if (Buffer.byteLength(apiV3Key, 'utf8') !== 32) throw configError('v3.apiV3Key', 'must be exactly 32 bytes');
    const platformKeys: Record<string, KeyObject> = {};
    for (const [i, k] of (v3.platformKeys ?? []).entries()) {
      platformKeys[k.id] = keyOrThrow(() => loadPublicKey(secret(k.path, k.env, `v3.platformKeys[${i}].path`, opts.baseDir, env)), `v3.platformKeys[${i}]`);
    }
    if (!Object.keys(platformKeys).length) throw configError('v3.platformKeys', 'must list at least one WeChat Pay public key or platform certificate');
    resolved.v3 = {
      baseUrl: v3.baseUrl ?? DEFAULT_V3_BASE_URL,
      appid: config.appid,
      mchid: config.mchid,
      merchantSerialNo: v3.merchantSerialNo.toUpperCase(),
      privateKey: keyOrThrow(() => loadPrivateKey(privateKeyPem), 'v3.privateKeyPath'),
      apiV3Key,
      platformKeys,
      notifyUrl: v3.notifyUrl,
      ...(v3.refundNotifyUrl ? { refundNotifyUrl: v3.refundNotifyUrl } : {}),
      timeoutMs: v3.timeoutMs ?? 10_000,
    };
    // Production WeChat Pay only calls HTTPS notify URLs (wxpay-v3.md §1.1); plain http is for the local sandbox.
    if (config.provider === 'v3' && !/^https:\/\//.test(v3.notifyUrl)) throw configError('v3.notifyUrl', 'must be an https:// URL for the real WeChat Pay');
  }
  return resolved;
}

export function loadConfigFile(file: string, env?: NodeJS.ProcessEnv): ResolvedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PayError({ code: 'CONFIG_ERROR', message: `cannot read ${file}: ${(err as Error).message}`, cause: err });
  }
  return resolveConfig(raw, { baseDir: path.dirname(path.resolve(file)), ...(env ? { env } : {}) });
}

function secret(file: string | undefined, envName: string | undefined, field: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  if (envName) {
    const value = env[envName];
    if (!value) throw configError(field.replace(/Path$|\.path$/, (m) => (m === '.path' ? '.env' : 'Env')), `names environment variable ${envName}, which is not set`);
    return value;
  }
  if (!file) throw configError(field, 'is required (a file path, or an environment variable name)');
  const full = path.resolve(baseDir, file);
  try {
    return fs.readFileSync(full, 'utf8');
  } catch (err) {
    throw configError(field, `cannot be read (${full}): ${(err as Error).message}`);
  }
}

function keyOrThrow<T>(load: () => T, field: string): T {
  try {
    return load();
  } catch (err) {
    throw configError(field, `is not a usable PEM key or certificate: ${(err as Error).message}`);
  }
}

function configError(field: string, issue: string): PayError {
  return new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: ${field} ${issue}`, detail: { field, issue } });
}
