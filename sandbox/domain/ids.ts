import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { toChinaCompact } from '../../wxpay';

function digits(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(randomInt(10));
  return out;
}

/** Like `wx201410272009395522657a690389285100`: "wx" + yyyyMMddHHmmss + 20 hex chars (wxpay-v3.md §1.1). */
export function newPrepayId(nowMs: number): string {
  return `wx${toChinaCompact(nowMs)}${randomBytes(10).toString('hex')}`;
}

/** A Native order's `code_url`, like `weixin://wxpay/bizpayurl?pr=JyC91EIz1` (wxpay-v3.md §6 V4). */
export function newCodeUrl(): string {
  return `weixin://wxpay/bizpayurl?pr=${randomBytes(8).toString('base64url').replace(/[-_]/g, '0').slice(0, 9)}`;
}

/** 28 digits, "4200" + 6 digits + yyyyMMdd + 10 digits, like real WeChat Pay transaction ids. */
export function newTransactionId(nowMs: number): string {
  return `4200${digits(6)}${toChinaCompact(nowMs).slice(0, 8)}${digits(10)}`;
}

/** Notification id, string(36) (wxpay-v3.md §4). */
export function newNotificationId(): string {
  return randomUUID();
}

/** `Request-ID`: the suffix after the last "-" is an internal numeric code, 0 for success (wxpay-v3.md §0). */
export function newRequestId(internalCode = 0): string {
  return `${pooledRandomHex(16).toUpperCase()}-${internalCode}`;
}

/** Random bytes drawn 4 KiB at a time: one `randomBytes` call per request costs more than the id is worth (bench/). */
let pool = Buffer.alloc(0);
let poolOffset = 0;
function pooledRandomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  poolOffset += bytes;
  return pool.toString('hex', poolOffset - bytes, poolOffset);
}

/** 29 digits, "50" + 8 digits + yyyyMMdd + 11 digits, like `50000000382019052709732678859` (wxpay-v3.md §1.4). */
export function newRefundId(nowMs: number): string {
  return `50${digits(8)}${toChinaCompact(nowMs).slice(0, 8)}${digits(11)}`;
}

/** Bill download token (URL-safe). */
export function newBillToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Id of a CloudPay callback in the outbox: prefixed, so a log reader tells it from a v3 notification id at a glance. */
export function newCloudPayCallbackId(): string {
  return `cloudpay-${randomUUID()}`;
}
