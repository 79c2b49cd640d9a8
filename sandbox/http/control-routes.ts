/**
 * The sandbox's own control API (DESIGN.md "Sandbox (contract)"): unsigned, loopback only, JSON in and out.
 * It plays the WeChat user (pay, cancel), WeChat's back office (refund outcomes), the passing of time (clock),
 * breaks things on purpose (faults) and shows what the sandbox did (logs). These paths are stable: the console page,
 * the tests and `weda-wxpay trigger …` call them. Errors are `{code, message, detail?}` with an HTTP status.
 *
 *   GET    /sandbox/console                                  the console page (HTML; its script and stylesheet under /sandbox/console/assets/)
 *   GET    /sandbox/settings                                 → {provider, devServerUrl, refundNotifyUrl} (null until told)
 *   POST   /sandbox/settings                                 {"provider"?: "v3"|"cloudpay", "devServerUrl"?, "refundNotifyUrl"?} (null clears) → the settings:
 *                                                            what the dev server tells the sandbox at start, for the console
 *   GET    /sandbox/transactions[?prepay_id=]                → {transactions: [Transaction + _sandbox{expires_at, auto_close_at, last_pay_attempt}]}
 *                                                            (prepay_id: only the order it was issued for, v3 or CloudPay — what
 *                                                            `wx.requestPayment`'s `package: prepay_id=…` points at)
 *   GET    /sandbox/transactions/{out_trade_no}              → the Transaction object (as the v3 query answers)
 *   POST   /sandbox/transactions/{out_trade_no}/pay          {"result":"SUCCESS"|"NOT_ENOUGH"|"PAYERROR"|"USER_CANCEL","prepay_id"?} → the Transaction
 *                                                            (409 when it can no longer be paid: paid, closed, PAYERROR, past time_expire, prepay_id > 2 h)
 *   POST   /sandbox/transactions/{out_trade_no}/cancel       the user closes the payment sheet: stays NOTPAY → the Transaction
 *   GET    /sandbox/refunds[?out_trade_no=&status=]          → {refunds: [Refund + _sandbox{settle_at, notify_url, source}]}
 *   GET    /sandbox/refunds/{out_refund_no}                  → the Refund object
 *   POST   /sandbox/refunds                                  {"out_trade_no", "amount"?: fen (default: all that is left), "reason"?, "out_refund_no"?}
 *                                                            → the refund as listed: a refund made in WeChat's merchant back office; it
 *                                                            notifies settings.refundNotifyUrl (v3 URL or CloudPay callback function)
 *   POST   /sandbox/refunds/{out_refund_no}/settle           {"status":"SUCCESS"|"CLOSED"|"ABNORMAL"} → the Refund (409 unless PROCESSING)
 *   GET    /sandbox/clock                                    → {now}
 *   POST   /sandbox/clock/advance                            {"seconds":N} → {now}; due retries, auto-settlements and auto-closes happen
 *                                                            (N finite ≥ 0; the clock stays within 10 years of real time, 400 beyond)
 *   POST   /sandbox/reset                                    → {reset: true, now}: forgets orders, refunds, bills, notifications, faults,
 *                                                            payer messages, the request log, CloudPay's order callbacks and the clock
 *                                                            offset; keeps the keys, CloudPay's key, settings and function registry
 *   GET    /sandbox/notifications[?out_trade_no=&out_refund_no=&event_type=&status=pending|delivered|failed&channel=http|cloud-function&full=1]
 *                                                            → {now, notifications: [entry]}, oldest first: v3 notifications and CloudPay
 *                                                            callbacks alike, one shape (delivery/view.ts): {id, kind, channel, event_type,
 *                                                            url, out_trade_no, out_refund_no?, create_time, status, fault?, held?,
 *                                                            attempts: [{attempt, at, url, statusCode, acked, latencyMs, error?, …}], nextRetryAt}
 *   GET    /sandbox/notifications/{id}                       → one entry, attempts with request (headers, body) and response, and
 *                                                            `plaintext`: the v3 resource before encryption / the CloudPay event
 *   POST   /sandbox/notifications/{id}/resend                → the entry, due now again
 *   GET    /sandbox/faults                                   → {faults: [pending faults]}
 *   POST   /sandbox/faults                                   queue a fault (see domain/faults.ts parseFaultSpec) → the fault
 *                                                            {"kind":"SYSTEM_ERROR"|"FREQUENCY_LIMITED"|"NOT_ENOUGH","path":"/v3/…","method"?,"count"?}
 *                                                            {"kind":"LATENCY","ms":N,"path"?,"method"?,"count"?}
 *                                                            {"kind":"PROBE","path":"/v3/…","count"?}: API answers signed WECHATPAY/SIGNTEST/… (a probe)
 *                                                            {"kind":"DROP"|"DUPLICATE"|"REORDER"|"PROBE","count"?,"event_type"?}, {"kind":"DELAY","seconds":N,…}
 *                                                            (notification faults hit the first delivery of the next matching v3 notifications)
 *   DELETE /sandbox/faults                                   → {cleared: n}
 *   DELETE /sandbox/faults/{id}                              → {deleted: true}
 *   GET    /sandbox/requests[?since=SEQ&last=N]              → {requests: [every /v3/* and /cloudpay/* request: status, code, fault, timing, bodies]},
 *                                                            oldest first (last: only the newest N after SEQ)
 *   GET    /sandbox/tradebill?bill_date=yyyy-MM-dd[&bill_type=ALL|SUCCESS|REFUND]
 *                                                            → the day's trade bill as /v3/bill/tradebill's download would serve it (text/csv)
 *   POST   /sandbox/messages                                 a subscribeMessage.send body {touser, templateId, data, page?, …} → {errCode: 0, errMsg, msgid}
 *   GET    /sandbox/messages[?touser=]                       → {messages: [the bodies, oldest first]}
 *
 * CloudPay (wxpay-v2-cloudpay.md §5; the APIs themselves are `POST /cloudpay/{api}`, cloudpay-pipeline.ts):
 *   GET    /sandbox/cloudpay                                 → {subMchId, subAppid, provider, v2Key, settings, functions, apis}
 *   POST   /sandbox/cloudpay/functions                       {"envId","functionName","url":"http://…"} → the function: invoking it = POSTing the event there
 *   GET    /sandbox/cloudpay/functions                       → {functions: [{envId, functionName, url}]}
 *   DELETE /sandbox/cloudpay/functions/{env_id}/{function_name}
 *   GET    /sandbox/cloudpay/settings                        → {earlyClose, emptyRefundLists}
 *   POST   /sandbox/cloudpay/settings                        {"earlyClose"?: "accept"|"SYSTEMERROR", "emptyRefundLists"?: boolean} → the settings
 *   GET    /sandbox/cloudpay/notifications[?…]               = /sandbox/notifications?channel=cloud-function
 *   POST   /sandbox/cloudpay/notifications/{id}/resend       = /sandbox/notifications/{id}/resend
 */
import { createNonce, toChinaCompact, toRfc3339Cst } from '../../wxpay';
import { CloudPay } from '../cloudpay';
import { CONSOLE_PATH, consoleAssets } from '../console/assets';
import { notificationView } from '../delivery/view';
import { Bills, checkBillType } from '../domain/bills';
import type { SandboxClock } from '../domain/clock';
import { orderNotExist, SandboxError } from '../domain/errors';
import { faultView, parseFaultSpec } from '../domain/faults';
import type { Housekeeper } from '../domain/housekeeper';
import type { Messages } from '../domain/messages';
import { PAY_RESULTS, Payments, PayResult } from '../domain/payments';
import { REFUND_OUTCOMES, Refunds } from '../domain/refunds';
import { refundResource, transactionResource } from '../domain/resources';
import type { SandboxState } from '../state';
import { DELIVERY_CHANNELS, DELIVERY_STATUSES, DeliveryChannel, DeliveryStatus, OutboxFilter, parseCloudFunctionUri } from '../state/outbox';
import type { RefundOutcome, RefundRow, RefundStatus } from '../state/refunds';
import type { TransactionRow } from '../state/transactions';
import { parseJsonBody } from './body';
import { RouteRequest, RouteResponse, Router } from './router';

export interface ControlContext {
  state: Pick<SandboxState, 'transactions' | 'refunds' | 'faults' | 'outbox' | 'requests' | 'cloudpay'>;
  clock: SandboxClock;
  mchid: string;
  payments: Payments;
  refunds: Refunds;
  bills: Bills;
  /** What the sandbox has been told about the app beside it (POST /sandbox/settings); lives as long as the server. */
  settings: SandboxSettings;
  messages: Messages;
  housekeeper: Housekeeper;
  cloudpay: CloudPay;
  /** Look at the outbox now (after a resend or a clock advance). */
  wake: () => void;
  /** Forgets everything the sandbox did and sets the clock back; keeps its keys (`POST /sandbox/reset`). */
  reset: () => Promise<void>;
}

/**
 * What whoever runs the sandbox beside an app (the dev server, at start) tells it, for the console to show and use.
 * Not persisted: the dev server says it again on every start; a bare sandbox has none.
 */
export interface SandboxSettings {
  /** Which API the app uses against the sandbox. */
  provider: 'v3' | 'cloudpay' | null;
  /** The dev server's base URL: the console's hints on placing an order point at it. */
  devServerUrl: string | null;
  /**
   * Where a refund made from the console (WeChat's merchant back office) is notified: the refund notify URL
   * configured on the merchant platform (v3), or `cloudfunction://{envId}/{functionName}`, CloudPay's refund
   * callback. null: as a v3 refund request without notify_url (the sandbox's refundNotifyUrl, else the order's
   * notify_url); a CloudPay order's refund calls the order's own callback function.
   */
  refundNotifyUrl: string | null;
}

export function emptySettings(): SandboxSettings {
  return { provider: null, devServerUrl: null, refundNotifyUrl: null };
}

const REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'];
const HTML = 'text/html; charset=utf-8';

export function controlRouter(): Router<ControlContext> {
  return new Router<ControlContext>()
    .add('GET', CONSOLE_PATH, async () => ({ status: 200, body: (await consoleAssets()).html, headers: { 'Content-Type': HTML } }))
    .add('GET', `${CONSOLE_PATH}/assets/console.js`, async () => ({ status: 200, body: (await consoleAssets()).js, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }))
    .add('GET', `${CONSOLE_PATH}/assets/console.css`, async () => ({ status: 200, body: (await consoleAssets()).css, headers: { 'Content-Type': 'text/css; charset=utf-8' } }))
    .add('GET', '/sandbox/settings', (_req, ctx) => ({ status: 200, body: ctx.settings }))
    .add('POST', '/sandbox/settings', (req, ctx) => ({ status: 200, body: updateSettings(ctx.settings, optionalJson(req)) }))

    // The user pays (or fails to): → the Transaction object; TRANSACTION.SUCCESS goes to the order's notify_url.
    .add('POST', '/sandbox/transactions/:out_trade_no/pay', (req, ctx) => {
      const body = optionalJson(req);
      const result = body.result ?? 'SUCCESS';
      if (typeof result !== 'string' || !(PAY_RESULTS as readonly string[]).includes(result)) {
        throw new SandboxError(400, 'PARAM_ERROR', `result must be one of ${PAY_RESULTS.join(', ')}`, { field: 'result', issue: `unsupported result ${JSON.stringify(result)}` });
      }
      if (body.prepay_id !== undefined && typeof body.prepay_id !== 'string') throw new SandboxError(400, 'PARAM_ERROR', 'prepay_id must be a string', { field: 'prepay_id' });
      const prepayId = body.prepay_id as string | undefined;
      return { status: 200, body: ctx.payments.pay(req.params.out_trade_no!, result as PayResult, prepayId !== undefined ? { prepayId } : {}) };
    })
    .add('POST', '/sandbox/transactions/:out_trade_no/cancel', (req, ctx) => ({ status: 200, body: ctx.payments.cancel(req.params.out_trade_no!) }))
    .add('GET', '/sandbox/transactions', (req, ctx) => {
      const prepayId = req.query.get('prepay_id');
      const rows = ctx.state.transactions.list(prepayId !== null ? { prepayId } : {});
      return { status: 200, body: { transactions: rows.map(transactionControlView) } };
    })
    .add('GET', '/sandbox/transactions/:out_trade_no', (req, ctx) => {
      const row = ctx.state.transactions.find(ctx.mchid, req.params.out_trade_no!);
      if (!row) throw orderNotExist();
      return { status: 200, body: transactionResource(row) };
    })

    // WeChat's back office decides a refund: → the Refund object; REFUND.<status> goes to the refund's notify URL.
    .add('GET', '/sandbox/refunds', (req, ctx) => {
      const status = req.query.get('status');
      if (status !== null && !(REFUND_STATUSES as readonly string[]).includes(status)) {
        throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${REFUND_STATUSES.join(', ')}`, { field: 'status', location: 'query' });
      }
      const outTradeNo = req.query.get('out_trade_no');
      const rows = ctx.state.refunds.list({ ...(outTradeNo !== null ? { outTradeNo } : {}), ...(status !== null ? { status: status as RefundStatus } : {}) });
      return { status: 200, body: { refunds: rows.map(refundControlView) } };
    })
    .add('POST', '/sandbox/refunds', (req, ctx) => ({ status: 200, body: refundControlView(backOfficeRefund(optionalJson(req), ctx)) }))
    .add('GET', '/sandbox/refunds/:out_refund_no', (req, ctx) => ({ status: 200, body: refundResource(ctx.refunds.get(req.params.out_refund_no!)) }))
    .add('POST', '/sandbox/refunds/:out_refund_no/settle', (req, ctx) => {
      const status = optionalJson(req).status;
      if (typeof status !== 'string' || !(REFUND_OUTCOMES as readonly string[]).includes(status)) {
        throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${REFUND_OUTCOMES.join(', ')}`, { field: 'status', issue: `unsupported status ${JSON.stringify(status)}` });
      }
      return { status: 200, body: refundResource(ctx.refunds.settle(req.params.out_refund_no!, status as RefundOutcome)) };
    })

    .add('POST', '/sandbox/messages', (req, ctx) => ({ status: 200, body: ctx.messages.record(optionalJson(req)) }))
    .add('GET', '/sandbox/messages', (req, ctx) => ({ status: 200, body: { messages: ctx.messages.list(req.query.get('touser') ?? undefined) } }))
    .add('GET', '/sandbox/clock', (_req, ctx) => ({ status: 200, body: { now: ctx.clock.nowRfc3339() } }))
    .add('POST', '/sandbox/clock/advance', (req, ctx) => {
      const seconds = optionalJson(req).seconds;
      const issue = ctx.clock.advanceProblem(seconds);
      if (issue !== undefined) throw bad('seconds', issue);
      ctx.clock.advance(seconds as number);
      ctx.housekeeper.run(); // auto-closes and auto-settlements that just fell due happen before we answer
      ctx.wake(); // retries that just fell due go out now
      return { status: 200, body: { now: ctx.clock.nowRfc3339() } };
    })
    .add('POST', '/sandbox/reset', async (_req, ctx) => {
      await ctx.reset();
      return { status: 200, body: { reset: true, now: ctx.clock.nowRfc3339() } };
    })

    // The notification log: v3 notifications and CloudPay callbacks, one outbox, one shape (delivery/view.ts).
    .add('GET', '/sandbox/notifications', (req, ctx) => notificationLog(req, ctx))
    .add('GET', '/sandbox/notifications/:id', (req, ctx) => {
      const n = ctx.state.outbox.get(req.params.id!);
      if (!n) throw new SandboxError(404, 'NOT_FOUND', `no notification ${req.params.id}`);
      // The plaintext is what the receiver gets after decrypting `resource` (wxpay-v3.md §4); CloudPay sends it as is.
      return { status: 200, body: { ...notificationView(n, ctx.state.outbox.attempts(n.id), true), plaintext: JSON.parse(n.payload) as unknown } };
    })
    // Manual resend (wxpay-v3.md §4: duplicates are normal): due now again.
    .add('POST', '/sandbox/notifications/:id/resend', (req, ctx) => resend(req.params.id!, ctx))

    .add('GET', '/sandbox/faults', (_req, ctx) => ({ status: 200, body: { faults: ctx.state.faults.list().map(faultView) } }))
    .add('POST', '/sandbox/faults', (req, ctx) => {
      const fault = ctx.state.faults.add(parseFaultSpec(optionalJson(req), ctx.clock.now()));
      return { status: 200, body: faultView(fault) };
    })
    .add('DELETE', '/sandbox/faults', (_req, ctx) => ({ status: 200, body: { cleared: ctx.state.faults.clear() } }))
    .add('DELETE', '/sandbox/faults/:id', (req, ctx) => {
      if (!ctx.state.faults.remove(Number(req.params.id))) throw new SandboxError(404, 'NOT_FOUND', `no fault ${req.params.id}`);
      return { status: 200, body: { deleted: true } };
    })

    .add('GET', '/sandbox/requests', (req, ctx) => {
      const since = Number(req.query.get('since') ?? 0);
      const last = req.query.get('last');
      if (last !== null && !/^[1-9]\d{0,3}$/.test(last)) throw new SandboxError(400, 'PARAM_ERROR', 'last must be an integer 1–9999', { field: 'last', location: 'query' });
      return { status: 200, body: { requests: ctx.state.requests.list({ sinceSeq: Number.isFinite(since) ? since : 0, ...(last !== null ? { last: Number(last) } : {}) }) } };
    })
    // The bytes the v3 download_url would serve for that day (the bill is frozen on first request, as there).
    .add('GET', '/sandbox/tradebill', (req, ctx) => {
      const billDate = req.query.get('bill_date');
      if (!billDate) throw new SandboxError(400, 'PARAM_ERROR', 'bill_date is required (yyyy-MM-dd)', { field: 'bill_date', location: 'query' });
      const billType = checkBillType(req.query.get('bill_type'));
      ctx.bills.trade({ billDate, billType });
      return {
        status: 200,
        body: ctx.bills.content({ mchid: ctx.mchid, billDate, billType }).toString('utf8'),
        headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="tradebill-${billDate}-${billType}.csv"` },
      };
    })

    // CloudPay: who the merchant is to it, the cloud-function registry, its modelling switches, its callbacks.
    .add('GET', '/sandbox/cloudpay', (_req, ctx) => ({ status: 200, body: ctx.cloudpay.info() }))
    .add('POST', '/sandbox/cloudpay/functions', (req, ctx) => {
      const b = optionalJson(req);
      const envId = b.envId ?? b.env_id;
      const functionName = b.functionName ?? b.function_name;
      const url = b.url;
      if (typeof envId !== 'string' || envId === '') throw bad('envId', 'is required');
      if (typeof functionName !== 'string' || functionName === '') throw bad('functionName', 'is required');
      if (typeof url !== 'string' || !isHttpUrl(url)) throw bad('url', 'must be an absolute http:// URL');
      return { status: 200, body: ctx.cloudpay.registerFunction(envId, functionName, url) };
    })
    .add('GET', '/sandbox/cloudpay/functions', (_req, ctx) => ({ status: 200, body: { functions: ctx.cloudpay.functions() } }))
    .add('DELETE', '/sandbox/cloudpay/functions/:env_id/:function_name', (req, ctx) => {
      ctx.cloudpay.deleteFunction(req.params.env_id!, req.params.function_name!);
      return { status: 204 };
    })
    .add('GET', '/sandbox/cloudpay/settings', (_req, ctx) => ({ status: 200, body: ctx.cloudpay.settings() }))
    .add('POST', '/sandbox/cloudpay/settings', (req, ctx) => {
      const b = optionalJson(req);
      const s = { ...ctx.cloudpay.settings() };
      if (b.earlyClose !== undefined) {
        if (b.earlyClose !== 'accept' && b.earlyClose !== 'SYSTEMERROR') throw bad('earlyClose', 'must be "accept" or "SYSTEMERROR"');
        s.earlyClose = b.earlyClose;
      }
      if (b.emptyRefundLists !== undefined) {
        if (typeof b.emptyRefundLists !== 'boolean') throw bad('emptyRefundLists', 'must be a boolean');
        s.emptyRefundLists = b.emptyRefundLists;
      }
      ctx.cloudpay.saveSettings(s);
      return { status: 200, body: s };
    })
    .add('GET', '/sandbox/cloudpay/notifications', (req, ctx) => notificationLog(req, ctx, 'cloud-function'))
    .add('POST', '/sandbox/cloudpay/notifications/:id/resend', (req, ctx) => resend(req.params.id!, ctx, 'cloud-function'));
}

function updateSettings(settings: SandboxSettings, b: Record<string, unknown>): SandboxSettings {
  const next = { ...settings };
  if (b.provider !== undefined) {
    if (b.provider !== null && b.provider !== 'v3' && b.provider !== 'cloudpay') throw bad('provider', 'must be "v3", "cloudpay" or null');
    next.provider = b.provider;
  }
  if (b.devServerUrl !== undefined) {
    if (b.devServerUrl !== null && (typeof b.devServerUrl !== 'string' || !isHttpUrl(b.devServerUrl))) throw bad('devServerUrl', 'must be an absolute http:// URL or null');
    next.devServerUrl = b.devServerUrl === null ? null : b.devServerUrl.replace(/\/+$/, '');
  }
  if (b.refundNotifyUrl !== undefined) {
    const url = b.refundNotifyUrl;
    if (url !== null && (typeof url !== 'string' || !(isHttpUrl(url) || url.startsWith('https://') || parseCloudFunctionUri(url)))) {
      throw bad('refundNotifyUrl', 'must be an http(s):// URL, cloudfunction://{envId}/{functionName}, or null');
    }
    next.refundNotifyUrl = url;
  }
  Object.assign(settings, next); // all checked first: a refused update changes nothing
  return settings;
}

/**
 * A refund made in WeChat's merchant back office (the console's Refund button): the domain's refund creation, so
 * the same rules hold and the notification follows on settlement — to settings.refundNotifyUrl, or for a CloudPay
 * order to its refund callback function (wxpay-v2-cloudpay.md §5.5).
 */
function backOfficeRefund(b: Record<string, unknown>, ctx: ControlContext): RefundRow {
  const outTradeNo = b.out_trade_no;
  if (typeof outTradeNo !== 'string' || outTradeNo === '') throw bad('out_trade_no', 'is required');
  if (b.reason !== undefined && typeof b.reason !== 'string') throw bad('reason', 'must be a string');
  if (b.out_refund_no !== undefined && typeof b.out_refund_no !== 'string') throw bad('out_refund_no', 'must be a string');
  const order = ctx.state.transactions.find(ctx.mchid, outTradeNo);
  if (!order) throw orderNotExist();
  const committed = ctx.state.refunds.forOrder(ctx.mchid, outTradeNo).filter((r) => r.status !== 'CLOSED').reduce((sum, r) => sum + r.amount_refund, 0);
  const amount = b.amount ?? Math.max(order.amount_total - committed, 1); // nothing left: the domain says so
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1) throw bad('amount', 'must be an integer ≥ 1 (fen)');
  const now = ctx.clock.now();
  const outRefundNo = (b.out_refund_no as string | undefined) ?? `R${toChinaCompact(now)}${createNonce(6).toUpperCase()}`;
  const configured = ctx.settings.refundNotifyUrl;
  const cloudpayOrder = ctx.state.cloudpay.findOrder(ctx.mchid, outTradeNo);
  const input = {
    outTradeNo,
    outRefundNo,
    ...(b.reason ? { reason: b.reason as string } : {}),
    amount: { refund: amount, total: order.amount_total, currency: order.currency },
    source: 'console',
  };
  if (!cloudpayOrder) {
    const notifyUrl = configured !== null && /^https?:\/\//.test(configured) ? configured : undefined;
    return ctx.refunds.create({ ...input, ...(notifyUrl ? { notifyUrl } : {}) }).refund;
  }
  const fn = (configured !== null ? parseCloudFunctionUri(configured) : undefined) ?? { envId: cloudpayOrder.env_id, functionName: cloudpayOrder.function_name };
  const { refund } = ctx.refunds.create({ ...input, notifyUrl: '' }); // CloudPay calls the function, no v3 notification
  ctx.state.cloudpay.rememberRefund({ mchid: ctx.mchid, out_refund_no: refund.out_refund_no, out_trade_no: outTradeNo, env_id: fn.envId, function_name: fn.functionName, created_at: refund.created_at });
  return refund;
}

/** The log, filtered by the query (and to one channel when `channel` is given by the route). */
function notificationLog(req: RouteRequest, ctx: ControlContext, channel?: DeliveryChannel): RouteResponse {
  const q = (k: string): string | undefined => req.query.get(k) ?? undefined;
  const status = q('status');
  if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
    throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status', location: 'query' });
  }
  const asked = channel ?? q('channel');
  if (asked !== undefined && !(DELIVERY_CHANNELS as readonly string[]).includes(asked)) {
    throw new SandboxError(400, 'PARAM_ERROR', `channel must be one of ${DELIVERY_CHANNELS.join(', ')}`, { field: 'channel', location: 'query' });
  }
  const filter: OutboxFilter = {
    ...(asked !== undefined ? { channel: asked as DeliveryChannel } : {}),
    ...(status !== undefined ? { status: status as DeliveryStatus } : {}),
    ...(q('out_trade_no') !== undefined ? { outTradeNo: q('out_trade_no')! } : {}),
    ...(q('out_refund_no') !== undefined ? { outRefundNo: q('out_refund_no')! } : {}),
    ...(q('event_type') !== undefined ? { eventType: q('event_type')! } : {}),
  };
  const full = q('full') === '1';
  const rows = ctx.state.outbox.list(filter);
  return { status: 200, body: { now: ctx.clock.nowRfc3339(), notifications: rows.map((n) => notificationView(n, ctx.state.outbox.attempts(n.id), full)) } };
}

function resend(id: string, ctx: ControlContext, channel?: DeliveryChannel): RouteResponse {
  const n = ctx.state.outbox.get(id);
  if (!n || (channel !== undefined && n.channel !== channel) || !ctx.state.outbox.resend(id, ctx.clock.now())) throw new SandboxError(404, 'NOT_FOUND', `no notification ${id}`);
  ctx.wake();
  return { status: 200, body: notificationView(ctx.state.outbox.get(id)!, ctx.state.outbox.attempts(id)) };
}

/** A list entry: the Transaction object plus what only the sandbox knows. */
function transactionControlView(t: TransactionRow): Record<string, unknown> {
  return {
    ...transactionResource(t),
    _sandbox: {
      description: t.description,
      notify_url: t.notify_url,
      created_at: toRfc3339Cst(t.created_at),
      expires_at: t.expires_at === null ? null : toRfc3339Cst(t.expires_at),
      auto_close_at: t.auto_close_at === null ? null : toRfc3339Cst(t.auto_close_at),
      last_pay_attempt: t.last_pay_attempt === null ? null : JSON.parse(t.last_pay_attempt) as unknown,
    },
  };
}

function refundControlView(r: RefundRow): Record<string, unknown> {
  return {
    ...refundResource(r),
    _sandbox: { notify_url: r.notify_url, settle_at: r.settle_at === null ? null : toRfc3339Cst(r.settle_at), source: r.source, reason: r.reason },
  };
}

/** Control bodies are optional JSON objects. */
function optionalJson(req: RouteRequest): Record<string, unknown> {
  if (req.body.trim() === '') return {};
  const body = parseJsonBody(req.body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SandboxError(400, 'PARAM_ERROR', 'body must be a JSON object');
  return body as Record<string, unknown>;
}

function bad(field: string, issue: string): SandboxError {
  return new SandboxError(400, 'PARAM_ERROR', `${field} ${issue}`, { field, issue });
}

function isHttpUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'http:';
  } catch {
    return false;
  }
}
