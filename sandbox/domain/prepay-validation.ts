import { paramError, SandboxError } from './errors';

/** The JSAPI prepay body as the sandbox keeps it (wxpay-v3.md §1.1). */
export interface JsapiPrepayRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  time_expire?: string;
  attach?: string;
  notify_url: string;
  amount: { total: number; currency: string };
  payer: { openid: string };
  scene_info?: { payer_client_ip: string; device_id?: string };
}

/**
 * The Native prepay body: the JSAPI body without `payer` — the payer is whoever scans the `code_url`
 * (trade_type NATIVE, wxpay-v3.md §1.2; its answer is `{"code_url": …}`, §6 V4).
 */
export type NativePrepayRequest = Omit<JsapiPrepayRequest, 'payer'>;

/** wxpay-v3.md §1.1: 6–32 chars of [0-9A-Za-z_\-|*]. */
export const OUT_TRADE_NO_PATTERN = /^[0-9A-Za-z_\-|*]{6,32}$/;
/** RFC 3339 with an explicit offset (wxpay-v3.md §0 "Dates"). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/;
/** Hosts for which plain http:// is accepted: local development only (real WeChat Pay requires HTTPS). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const LIMIT_PAY = new Set(['no_balance', 'no_credit', 'no_debit', 'balance_only']);

type Json = Record<string, unknown>;

/** Validates a JSAPI prepay body field by field, throwing 400 PARAM_ERROR that names the JSON pointer and the rule. */
export function validateJsapiPrepay(body: unknown): JsapiPrepayRequest {
  return validatePrepay(body, 'JSAPI') as JsapiPrepayRequest;
}

/** Validates a Native prepay body: the JSAPI rules less `payer`, which a Native order does not carry. */
export function validateNativePrepay(body: unknown): NativePrepayRequest {
  return validatePrepay(body, 'NATIVE');
}

function validatePrepay(body: unknown, tradeType: 'JSAPI' | 'NATIVE'): NativePrepayRequest & { payer?: { openid: string } } {
  const root = object(body, '');
  rejectSupplementaryChars(root, '');
  const appid = str(root, '/appid', { max: 32 });
  const mchid = str(root, '/mchid', { max: 32 });
  const description = str(root, '/description', { max: 127 });
  const outTradeNo = str(root, '/out_trade_no', { max: 32 });
  if (!OUT_TRADE_NO_PATTERN.test(outTradeNo)) throw paramError('/out_trade_no', 'must match ^[0-9A-Za-z_\\-|*]{6,32}$', 'body', outTradeNo);
  const timeExpire = optStr(root, '/time_expire', { max: 64 });
  if (timeExpire !== undefined && (!RFC3339.test(timeExpire) || Number.isNaN(Date.parse(timeExpire)))) {
    throw paramError('/time_expire', 'must be an RFC 3339 date-time with offset, e.g. 2018-06-08T10:34:56+08:00', 'body', timeExpire);
  }
  const attach = optStr(root, '/attach', { max: 128 });
  const notifyUrl = str(root, '/notify_url', { max: 255 });
  checkNotifyUrl(notifyUrl);
  optStr(root, '/goods_tag', { max: 32 });
  if (root.support_fapiao !== undefined && typeof root.support_fapiao !== 'boolean') throw paramError('/support_fapiao', 'must be a boolean');
  if (root.limit_pay !== undefined) {
    if (!Array.isArray(root.limit_pay) || !root.limit_pay.every((v) => typeof v === 'string' && LIMIT_PAY.has(v))) {
      throw paramError('/limit_pay', `must be an array of ${[...LIMIT_PAY].join(' | ')}`);
    }
  }

  const amount = object(root.amount, '/amount');
  const total = amount.total;
  if (total === undefined) throw paramError('/amount/total', 'is required');
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 1) throw paramError('/amount/total', 'must be an integer ≥ 1 (fen)', 'body', total);
  const currency = optStr(amount, '/amount/currency', { max: 16 }) ?? 'CNY';
  if (currency !== 'CNY') throw paramError('/amount/currency', 'must be CNY', 'body', currency);

  const openid = tradeType === 'JSAPI' ? payerOpenid(root) : undefined;

  let sceneInfo: JsapiPrepayRequest['scene_info'];
  if (root.scene_info !== undefined) {
    const scene = object(root.scene_info, '/scene_info');
    const ip = str(scene, '/scene_info/payer_client_ip', { max: 45 });
    const deviceId = optStr(scene, '/scene_info/device_id', { max: 32 });
    sceneInfo = { payer_client_ip: ip, ...(deviceId !== undefined ? { device_id: deviceId } : {}) };
  }
  if (root.detail !== undefined) object(root.detail, '/detail');
  if (root.settle_info !== undefined) {
    const settle = object(root.settle_info, '/settle_info');
    if (settle.profit_sharing !== undefined && typeof settle.profit_sharing !== 'boolean') throw paramError('/settle_info/profit_sharing', 'must be a boolean');
  }

  return {
    appid,
    mchid,
    description,
    out_trade_no: outTradeNo,
    ...(timeExpire !== undefined ? { time_expire: timeExpire } : {}),
    ...(attach !== undefined ? { attach } : {}),
    notify_url: notifyUrl,
    amount: { total, currency },
    ...(openid !== undefined ? { payer: { openid } } : {}),
    ...(sceneInfo ? { scene_info: sceneInfo } : {}),
  };
}

/** `payer.openid`, required for JSAPI; missing, it is its own documented error (268501013 "JSAPI支付必须传openid", §1.1). */
function payerOpenid(root: Json): string {
  if (root.payer === undefined) throw new SandboxError(400, 'PARAM_ERROR', 'JSAPI支付必须传openid', { field: '/payer/openid', location: 'body', issue: 'is required for JSAPI' }, 268501013);
  const payer = object(root.payer, '/payer');
  if (payer.openid === undefined || payer.openid === '') throw new SandboxError(400, 'PARAM_ERROR', 'JSAPI支付必须传openid', { field: '/payer/openid', location: 'body', issue: 'is required for JSAPI' }, 268501013);
  return str(payer, '/payer/openid', { max: 128 });
}

/** notify_url: absolute HTTPS, no query string (§1.1); http:// only to a loopback host, for local development. */
export function checkNotifyUrl(value: string, pointer = '/notify_url'): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw paramError(pointer, 'must be an absolute URL', 'body', value);
  }
  const loopback = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopback) throw paramError(pointer, 'must be an https:// URL (http:// is accepted only for 127.0.0.1 / localhost)', 'body', value);
  if (value.includes('?')) throw paramError(pointer, 'must not carry a query string', 'body', value);
  if (value.includes('#')) throw paramError(pointer, 'must not carry a fragment', 'body', value);
}

function object(v: unknown, pointer: string): Json {
  if (v === undefined) throw paramError(pointer, 'is required');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw paramError(pointer || '/', 'must be a JSON object');
  return v as Json;
}

function str(o: Json, pointer: string, rule: { max: number }): string {
  const v = optStr(o, pointer, rule);
  if (v === undefined || v === '') throw paramError(pointer, 'is required');
  return v;
}

function optStr(o: Json, pointer: string, rule: { max: number }): string | undefined {
  const v = o[pointer.slice(pointer.lastIndexOf('/') + 1)];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw paramError(pointer, 'must be a string', 'body', v);
  if ([...v].length > rule.max) throw paramError(pointer, `must be at most ${rule.max} characters`, 'body', v);
  return v;
}

/** Only 1–3-byte UTF-8 characters are allowed: no supplementary-plane characters such as most emoji (wxpay-v3.md §0). */
function rejectSupplementaryChars(v: unknown, pointer: string): void {
  if (typeof v === 'string') {
    if (/[\u{10000}-\u{10FFFF}]/u.test(v)) throw paramError(pointer, 'contains a character outside the Basic Multilingual Plane (4-byte UTF-8, e.g. an emoji)');
  } else if (Array.isArray(v)) {
    v.forEach((item, i) => rejectSupplementaryChars(item, `${pointer}/${i}`));
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, item] of Object.entries(v)) rejectSupplementaryChars(item, `${pointer}/${k}`);
  }
}

/** Canonical JSON (sorted keys) of a request body, for "identical params" on prepay re-entry (§1.1). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Json)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
