/**
 * Shared by the callback and reconcile tests: orders in the dev server's SQLite store (also "old" ones), the
 * callback functions at POST /functions/<name>, a sink that swallows notifications (a lost callback), and a
 * connector to the sandbox whose notifications go to that sink.
 */
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { createConnector, createProvider, Connector } from '../../connector';
import { resolveConfig } from '../../config';
import { openSqliteStore } from '../../datasources/sqlite-store';
import { buildNotification, toRfc3339Cst } from '../../wxpay';
import { startTestDev, newOrderNo, TestDev } from './dev';
import { platformPrivateKey } from './notify';
import { sandboxBuildConfig } from './callback-bundle';
import { listenOnLoopback } from './loopback';
import type { DevServerOptions } from '../../scripts/dev-server';

export { newOrderNo };
export type { TestDev };

export interface ModelView {
  model: string;
  fields: { orderNo: string; status: string; amount: string; [k: string]: string };
}
export const DEFAULT_VIEW: ModelView = { model: 'orders', fields: { orderNo: 'orderNo', status: 'status', amount: 'amount' } };
export const SEED_VIEW: ModelView = { model: 'wxzfmbddsj_e3xp7j6', fields: { orderNo: 'ddh', status: 'zfzt', amount: 'amount' } };

/** A dev server; with `config`, a weda-wxpay.config.json (models, fields, envType, callbacks) is written for it. */
export async function startCallbackDev(opts: Partial<DevServerOptions> & { config?: Record<string, unknown> } = {}): Promise<TestDev> {
  const { config, ...rest } = opts;
  let configPath: string | undefined;
  if (config) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-cfg-'));
    configPath = path.join(dir, 'weda-wxpay.config.json');
    fs.writeFileSync(configPath, JSON.stringify(config));
  }
  const t = await startTestDev({ seedGoods: false, ...(configPath ? { configPath } : {}), ...rest });
  if (configPath) {
    const close = t.close.bind(t);
    t.close = async () => {
      await close();
      fs.rmSync(path.dirname(configPath!), { recursive: true, force: true });
    };
  }
  return t;
}

export async function createOrder(t: TestDev, amount: number, o: { status?: number; envType?: 'pre' | 'prod'; view?: ModelView; orderNo?: string; extra?: Record<string, unknown> } = {}): Promise<string> {
  const view = o.view ?? DEFAULT_VIEW;
  const orderNo = o.orderNo ?? newOrderNo('CB');
  await t.model(view.model, 'wedaCreateV2', { data: { [view.fields.orderNo]: orderNo, [view.fields.amount]: amount, [view.fields.status]: o.status ?? 1, ...(o.extra ?? {}) } }, o.envType);
  return orderNo;
}

/** Creates orders whose createdAt/updatedAt lie `minutesAgo` in the past (a second store on the same files). */
export function createOldOrders(t: TestDev, minutesAgo: number, rows: Array<Record<string, unknown>>, o: { envType?: 'pre' | 'prod'; view?: ModelView } = {}): Promise<void> {
  const store = openSqliteStore({ dataDir: path.join(t.dataDir, 'models'), now: () => Date.now() - minutesAgo * 60_000 });
  return (async () => {
    try {
      for (const data of rows) {
        await store.callModel({ name: (o.view ?? DEFAULT_VIEW).model, methodName: 'wedaCreateV2', params: { data }, envType: o.envType ?? 'pre' });
      }
    } finally {
      await store.close();
    }
  })();
}

export async function orderOf(t: TestDev, orderNo: string, o: { envType?: 'pre' | 'prod'; view?: ModelView } = {}): Promise<any> {
  const view = o.view ?? DEFAULT_VIEW;
  return t.model(view.model, 'wedaGetItemV2', { filter: { where: { [view.fields.orderNo]: { $eq: orderNo } } }, select: { $master: true } }, o.envType);
}

/** Invokes a callback function with an event (CloudPay, timer) and answers its HTTP status and return value. */
export async function invoke(t: TestDev, name: string, event: unknown): Promise<{ status: number; body: any }> {
  return t.post(`${t.dev.info.devServer.functions}/${name}`, event);
}

export interface Sink {
  url: string;
  received: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

/** An HTTP endpoint that acknowledges everything (204) and keeps it: notifications sent here never reach the orders. */
export async function startSink(): Promise<Sink> {
  const received: Sink['received'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, received, close };
}

/** A connector to the dev server's sandbox whose payment and refund notifications go to `sinkUrl` (lost callbacks). */
export function sinkConnector(t: TestDev, sinkUrl: string): Connector {
  const resolved = resolveConfig(sandboxBuildConfig(t, {}, { notifyUrl: `${sinkUrl}/pay`, refundNotifyUrl: `${sinkUrl}/refund` }), { baseDir: t.dataDir });
  return createConnector(createProvider(resolved), { retry: { maxRetries: 0, baseDelayMs: 0 } });
}

export interface SinkDev {
  t: TestDev;
  sink: Sink;
  connector: Connector;
}

/**
 * The usual suite: a dev server (`startCallbackDev(opts)`), a sink and a connector whose notifications go to the
 * sink, started before the suite's tests and closed after them. `use` receives them once they are up.
 */
export function withSinkDev(opts: Parameters<typeof startCallbackDev>[0], use: (d: SinkDev) => void): void {
  let t: TestDev | undefined;
  let sink: Sink | undefined;
  beforeAll(async () => {
    t = await startCallbackDev(opts);
    sink = await startSink();
    use({ t, sink, connector: sinkConnector(t, sink.url) });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });
}

export const PAYER = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

/** Places the order with the sandbox through `connector` and has the user pay; answers the sandbox Transaction. */
export async function placeAndPay(t: TestDev, connector: Connector, orderNo: string, amount: number): Promise<any> {
  await connector.call('unifiedOrder', { body: 'test goods', outTradeNo: orderNo, totalFee: amount, openid: PAYER });
  const paid = await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
  if (paid.status !== 200) throw new Error(`sandbox pay → ${paid.status} ${JSON.stringify(paid.body)}`);
  return paid.body;
}

/** The event CloudPay would pass to the payment callback for a sandbox Transaction (wxpay-v2-cloudpay.md §5.4). */
export function cloudPayPaymentEvent(t: TestDev, tx: any, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const success = Date.parse(tx.success_time ?? new Date().toISOString());
  const d = new Date(success + 8 * 3600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  const timeEnd = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return {
    returnCode: 'SUCCESS', appid: 'wxd2565e6a04246fd1', mchId: '1800780001', subAppid: t.dev.info.merchant.appid, subMchId: t.dev.info.merchant.mchid,
    nonceStr: 'n0nce', resultCode: 'SUCCESS', openid: 'oProviderOpenid', isSubscribe: 'N', subOpenid: tx.payer?.openid ?? PAYER, subIsSubscribe: 'N',
    tradeType: 'JSAPI', bankType: 'OTHERS', totalFee: tx.amount.total, feeType: 'CNY', cashFee: tx.amount.total,
    transactionId: tx.transaction_id, outTradeNo: tx.out_trade_no, timeEnd,
    ...overrides,
  };
}

/** A v3 refund resource (wxpay-v3.md §4) for a signed REFUND.* notification. */
export function refundResource(t: TestDev, o: { outTradeNo: string; outRefundNo: string; status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'; total: number; refund?: number }) {
  return {
    mchid: t.dev.info.merchant.mchid,
    transaction_id: `4200000000${Date.now()}`.slice(0, 28),
    out_trade_no: o.outTradeNo,
    refund_id: `5030000000${Date.now()}`.slice(0, 29),
    out_refund_no: o.outRefundNo,
    refund_status: o.status,
    ...(o.status === 'SUCCESS' ? { success_time: toRfc3339Cst(Date.now()) } : {}),
    user_received_account: '支付用户零钱',
    amount: { total: o.total, refund: o.refund ?? o.total, payer_total: o.total, payer_refund: o.refund ?? o.total },
  };
}

export function signedRefundNotification(t: TestDev, resource: ReturnType<typeof refundResource>) {
  return buildNotification({
    eventType: `REFUND.${resource.refund_status}`,
    resource,
    apiV3Key: t.dev.info.merchant.apiV3Key,
    signingKey: platformPrivateKey(t),
    serial: t.dev.info.platform.publicKeyId,
    createTime: toRfc3339Cst(Date.now()),
  });
}

/** POSTs a notification to the dev server's refund-notify exactly as WeChat Pay would; answers the HTTP status. */
export async function deliverRefund(t: TestDev, n: { body: string; headers: Record<string, string> }): Promise<number> {
  const res = await fetch(t.dev.info.devServer.refundNotify, { method: 'POST', headers: n.headers, body: n.body });
  await res.arrayBuffer();
  return res.status;
}

/** The CloudPay refund event (wxpay-v2-cloudpay.md §5.5); made-up WeChat Pay ids unless given (see `cloudPayRefundEventFor`). */
export function cloudPayRefundEvent(o: {
  outTradeNo: string; outRefundNo: string; refundStatus: 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE'; totalFee: number; refundFee?: number; subMchId?: string;
  refundId?: string; transactionId?: string;
}) {
  return {
    returnCode: 'SUCCESS', subMchId: o.subMchId, nonceStr: 'n0nce', transactionId: o.transactionId ?? '4200000000000000000000000001', outTradeNo: o.outTradeNo,
    refundId: o.refundId ?? '50300000000000000000000000001', outRefundNo: o.outRefundNo, totalFee: o.totalFee, settlementTotalFee: o.totalFee,
    refundFee: o.refundFee ?? o.totalFee, settlementRefundFee: o.refundFee ?? o.totalFee, refundStatus: o.refundStatus,
    successTime: '2024-03-01 12:00:05', refundRecvAccout: '支付用户零钱', refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS', refundRequestSource: 'API',
  };
}

/**
 * The event CloudPay would deliver for a refund the sandbox made: WeChat Pay's own refund id, payment and amounts
 * (what queryRefund confirms), with `refundStatus` the result being reported.
 */
export async function cloudPayRefundEventFor(t: TestDev, outRefundNo: string, refundStatus: 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE', o: { subMchId?: string } = {}) {
  const r = (await t.get(`${t.dev.info.baseUrl}/sandbox/refunds/${outRefundNo}`)).body;
  if (!r?.refund_id) throw new Error(`the sandbox has no refund ${outRefundNo}: ${JSON.stringify(r)}`);
  return cloudPayRefundEvent({
    outTradeNo: r.out_trade_no, outRefundNo, refundStatus, totalFee: r.amount.total, refundFee: r.amount.refund, refundId: r.refund_id, transactionId: r.transaction_id, ...o,
  });
}
