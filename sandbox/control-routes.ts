/**
 * The sandbox's own control API (DESIGN.md "Sandbox (contract)"): unsigned, loopback only, JSON in and out.
 * It plays the WeChat user (pay, cancel), WeChat's back office (refund outcomes), the passing of time (clock),
 * breaks things on purpose (faults) and shows what the sandbox did (logs). These paths are stable: the console page,
 * the tests and `weda-wxpay trigger …` call them. Errors are `{code, message, detail?}` with an HTTP status.
 *
 *   GET    /sandbox/console                                  the console page (HTML)
 *   GET    /sandbox/transactions                             → {transactions: [Transaction + _sandbox{expires_at, auto_close_at, last_pay_attempt}]}
 *   GET    /sandbox/transactions/{out_trade_no}              → the Transaction object (as the v3 query answers)
 *   POST   /sandbox/transactions/{out_trade_no}/pay          {"result":"SUCCESS"|"NOT_ENOUGH"|"PAYERROR"|"USER_CANCEL","prepay_id"?} → the Transaction
 *                                                            (409 when it can no longer be paid: paid, closed, PAYERROR, past time_expire, prepay_id > 2 h)
 *   POST   /sandbox/transactions/{out_trade_no}/cancel       the user closes the payment sheet: stays NOTPAY → the Transaction
 *   GET    /sandbox/refunds[?out_trade_no=&status=]          → {refunds: [Refund + _sandbox{settle_at, notify_url, source}]}
 *   GET    /sandbox/refunds/{out_refund_no}                  → the Refund object
 *   POST   /sandbox/refunds/{out_refund_no}/settle           {"status":"SUCCESS"|"CLOSED"|"ABNORMAL"} → the Refund (409 unless PROCESSING)
 *   GET    /sandbox/clock                                    → {now}
 *   POST   /sandbox/clock/advance                            {"seconds":N} → {now}; due retries, auto-settlements and auto-closes happen
 *   GET    /sandbox/notifications[?out_trade_no=&out_refund_no=&event_type=&status=pending|delivered|failed&full=1]
 *                                                            → {now, notifications: [{id, event_type, url, status, fault?, held?, attempts[], nextRetryAt}]}
 *   GET    /sandbox/notifications/{id}                       → one notification, attempts with request (headers, ciphertext body) and response
 *   POST   /sandbox/notifications/{id}/resend                → the notification, due now again
 *   GET    /sandbox/faults                                   → {faults: [pending faults]}
 *   POST   /sandbox/faults                                   queue a fault (see faults.ts parseFaultSpec) → the fault
 *                                                            {"kind":"SYSTEM_ERROR"|"FREQUENCY_LIMITED"|"NOT_ENOUGH","path":"/v3/…","method"?,"count"?}
 *                                                            {"kind":"LATENCY","ms":N,"path"?,"method"?,"count"?}
 *                                                            {"kind":"PROBE","path":"/v3/…","count"?}: API answers signed WECHATPAY/SIGNTEST/… (a probe)
 *                                                            {"kind":"DROP"|"DUPLICATE"|"REORDER"|"PROBE","count"?,"event_type"?}, {"kind":"DELAY","seconds":N,…}
 *                                                            (notification faults hit the first delivery of the next matching notifications)
 *   DELETE /sandbox/faults                                   → {cleared: n}
 *   DELETE /sandbox/faults/{id}                              → {deleted: true}
 *   GET    /sandbox/requests[?since=SEQ]                     → {requests: [every /v3/* request: status, code, fault, timing, bodies]}
 *   POST   /sandbox/messages                                 a subscribeMessage.send body {touser, templateId, data, page?, …} → {errCode: 0, errMsg, msgid}
 *   GET    /sandbox/messages[?touser=]                       → {messages: [the bodies, oldest first]}
 */
import { toRfc3339Cst } from '../wxpay';
import { consolePage } from './console-page';
import { SandboxCore } from './core';
import { orderNotExist, SandboxError } from './errors';
import { faultView, parseFaultSpec } from './faults';
import { Housekeeper } from './housekeeper';
import { listMessages, recordMessage } from './messages';
import { parseJsonBody } from './http-util';
import { notificationView } from './notification-view';
import { DeliveryStatus } from './notifications';
import { Notifier } from './notifier';
import { PAY_RESULTS, Payments, PayResult } from './payments';
import { getRefund, REFUND_OUTCOMES, RefundOutcome, refundResource, RefundRow, RefundStatus, settleRefund } from './refunds';
import { RequestLog } from './request-log';
import { RouteRequest, Router } from './router';
import { TransactionRow, transactionResource } from './transactions';

export interface ControlContext {
  core: SandboxCore;
  payments: Payments;
  notifier: Notifier;
  housekeeper: Housekeeper;
  requestLog: RequestLog;
}

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];
const REFUND_STATUSES: readonly RefundStatus[] = ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'];

export function controlRouter(): Router<ControlContext> {
  return new Router<ControlContext>()
    .add('GET', '/sandbox/console', () => ({ status: 200, body: consolePage(), headers: { 'Content-Type': 'text/html; charset=utf-8' } }))

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
    .add('GET', '/sandbox/transactions', (_req, ctx) => ({ status: 200, body: { transactions: ctx.core.transactions.list().map(transactionControlView) } }))
    .add('GET', '/sandbox/transactions/:out_trade_no', (req, ctx) => {
      const row = ctx.core.transactions.find(ctx.core.mchid, req.params.out_trade_no!);
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
      const rows = ctx.core.refunds.list({ ...(outTradeNo !== null ? { outTradeNo } : {}), ...(status !== null ? { status: status as RefundStatus } : {}) });
      return { status: 200, body: { refunds: rows.map(refundControlView) } };
    })
    .add('GET', '/sandbox/refunds/:out_refund_no', (req, ctx) => ({ status: 200, body: refundResource(getRefund(ctx.core, req.params.out_refund_no!)) }))
    .add('POST', '/sandbox/refunds/:out_refund_no/settle', (req, ctx) => {
      const status = optionalJson(req).status;
      if (typeof status !== 'string' || !(REFUND_OUTCOMES as readonly string[]).includes(status)) {
        throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${REFUND_OUTCOMES.join(', ')}`, { field: 'status', issue: `unsupported status ${JSON.stringify(status)}` });
      }
      return { status: 200, body: refundResource(settleRefund(ctx.core, req.params.out_refund_no!, status as RefundOutcome)) };
    })

    .add('POST', '/sandbox/messages', (req, ctx) => ({ status: 200, body: recordMessage(ctx.core.db, optionalJson(req), ctx.core.clock.now()) }))
    .add('GET', '/sandbox/messages', (req, ctx) => ({ status: 200, body: { messages: listMessages(ctx.core.db, req.query.get('touser') ?? undefined) } }))
    .add('GET', '/sandbox/clock', (_req, ctx) => ({ status: 200, body: { now: ctx.core.clock.nowRfc3339() } }))
    .add('POST', '/sandbox/clock/advance', (req, ctx) => {
      const seconds = optionalJson(req).seconds;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new SandboxError(400, 'PARAM_ERROR', 'seconds must be a number ≥ 0 (the sandbox clock only moves forward)', { field: 'seconds', issue: 'must be a number ≥ 0' });
      }
      ctx.core.clock.advance(seconds);
      ctx.housekeeper.run(); // auto-closes and auto-settlements that just fell due happen before we answer
      ctx.notifier.kick(); // retries that just fell due go out now
      return { status: 200, body: { now: ctx.core.clock.nowRfc3339() } };
    })

    .add('GET', '/sandbox/notifications', (req, ctx) => {
      const status = req.query.get('status');
      if (status !== null && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
        throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status', location: 'query' });
      }
      const q = (k: string): string | undefined => req.query.get(k) ?? undefined;
      const filter = { outTradeNo: q('out_trade_no'), outRefundNo: q('out_refund_no'), eventType: q('event_type'), status: (status ?? undefined) as DeliveryStatus | undefined };
      const full = req.query.get('full') === '1';
      const rows = ctx.core.notifications.list(Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)));
      return { status: 200, body: { now: ctx.core.clock.nowRfc3339(), notifications: rows.map((n) => notificationView(n, ctx.core.notifications.attempts(n.id), full)) } };
    })
    .add('GET', '/sandbox/notifications/:id', (req, ctx) => {
      const n = ctx.core.notifications.get(req.params.id!);
      if (!n) throw new SandboxError(404, 'NOT_FOUND', `no notification ${req.params.id}`);
      return { status: 200, body: notificationView(n, ctx.core.notifications.attempts(n.id), true) };
    })
    // Manual resend (wxpay-v3.md §4 duplicates are normal): due now again.
    .add('POST', '/sandbox/notifications/:id/resend', (req, ctx) => {
      const id = req.params.id!;
      if (!ctx.core.notifications.resend(id, ctx.core.clock.now())) throw new SandboxError(404, 'NOT_FOUND', `no notification ${id}`);
      ctx.notifier.kick();
      return { status: 200, body: notificationView(ctx.core.notifications.get(id)!, ctx.core.notifications.attempts(id)) };
    })

    .add('GET', '/sandbox/faults', (_req, ctx) => ({ status: 200, body: { faults: ctx.core.faults.list().map(faultView) } }))
    .add('POST', '/sandbox/faults', (req, ctx) => {
      const fault = ctx.core.faults.add(parseFaultSpec(optionalJson(req), ctx.core.clock.now()));
      return { status: 200, body: faultView(fault) };
    })
    .add('DELETE', '/sandbox/faults', (_req, ctx) => ({ status: 200, body: { cleared: ctx.core.faults.clear() } }))
    .add('DELETE', '/sandbox/faults/:id', (req, ctx) => {
      if (!ctx.core.faults.remove(Number(req.params.id))) throw new SandboxError(404, 'NOT_FOUND', `no fault ${req.params.id}`);
      return { status: 200, body: { deleted: true } };
    })

    .add('GET', '/sandbox/requests', (req, ctx) => {
      const since = Number(req.query.get('since') ?? 0);
      return { status: 200, body: { requests: ctx.requestLog.list({ sinceSeq: Number.isFinite(since) ? since : 0 }) } };
    });
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
