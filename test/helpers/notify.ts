import fs from 'node:fs';
import path from 'node:path';
import { buildNotification, toRfc3339Cst, KeyInput } from '../../wxpay';
import type { TestDev } from './dev';

/** The sandbox's platform private key, read from its data directory, to forge or replay notifications in tests. */
export function platformPrivateKey(t: TestDev): string {
  return fs.readFileSync(path.join(t.dataDir, 'sandbox', 'keys', 'platform_private_key.pem'), 'utf8');
}

export function transactionResource(t: TestDev, outTradeNo: string, total: number, extra: Record<string, unknown> = {}) {
  return {
    mchid: t.dev.info.merchant.mchid,
    appid: t.dev.info.merchant.appid,
    out_trade_no: outTradeNo,
    transaction_id: `4200000000${Date.now()}`.slice(0, 28),
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: toRfc3339Cst(Date.now()),
    payer: { openid: 'o-test' },
    amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' },
    ...extra,
  };
}

export function signedNotification(t: TestDev, resource: unknown, opts: { key?: KeyInput; serial?: string; timestamp?: number; eventType?: string } = {}) {
  return buildNotification({
    eventType: opts.eventType ?? 'TRANSACTION.SUCCESS',
    resource,
    apiV3Key: t.dev.info.merchant.apiV3Key,
    signingKey: opts.key ?? platformPrivateKey(t),
    serial: opts.serial ?? t.dev.info.platform.publicKeyId,
    createTime: toRfc3339Cst(Date.now()),
    ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
  });
}

/** POSTs a notification to the dev server's pay-notify function exactly as WeChat Pay would. */
export async function deliver(t: TestDev, n: { body: string; headers: Record<string, string> }): Promise<number> {
  const res = await fetch(t.dev.info.devServer.payNotify, { method: 'POST', headers: n.headers, body: n.body });
  await res.arrayBuffer();
  return res.status;
}
