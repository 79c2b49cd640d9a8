import { SandboxClock } from './clock';
import { consolePage } from './console-page';
import { orderNotExist, SandboxError } from './errors';
import { parseJsonBody } from './http-util';
import { notificationView } from './notification-view';
import { DeliveryStatus, NotificationStore } from './notifications';
import { Notifier } from './notifier';
import { Payments, PayResult } from './payments';
import { RequestLog } from './request-log';
import { RouteRequest, Router } from './router';
import { TransactionStore, transactionResource } from './transactions';

export interface ControlContext {
  mchid: string;
  payments: Payments;
  transactions: TransactionStore;
  notifications: NotificationStore;
  notifier: Notifier;
  clock: SandboxClock;
  requestLog: RequestLog;
}

const PAY_RESULTS: readonly PayResult[] = ['SUCCESS'];
const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

/**
 * The sandbox's own control API (DESIGN.md "Sandbox (contract)"): unsigned, loopback only, JSON in and out.
 * It plays the WeChat user (pay), the passing of time (clock) and exposes what the sandbox did (logs).
 */
export function controlRouter(): Router<ControlContext> {
  return new Router<ControlContext>()
    .add('GET', '/sandbox/console', () => ({ status: 200, body: consolePage(), headers: { 'Content-Type': 'text/html; charset=utf-8' } }))

    // The user pays: → the Transaction object; TRANSACTION.SUCCESS goes to the order's notify_url.
    .add('POST', '/sandbox/transactions/:out_trade_no/pay', (req, ctx) => {
      const body = optionalJson(req);
      const result = body.result ?? 'SUCCESS';
      if (typeof result !== 'string' || !(PAY_RESULTS as readonly string[]).includes(result)) {
        throw new SandboxError(400, 'PARAM_ERROR', `result must be one of ${PAY_RESULTS.join(', ')}; failure kinds are not simulated yet`, { field: 'result', issue: `unsupported result ${JSON.stringify(result)}` });
      }
      return { status: 200, body: ctx.payments.pay(req.params.out_trade_no!, result as PayResult) };
    })
    .add('GET', '/sandbox/transactions', (_req, ctx) => ({ status: 200, body: { transactions: ctx.transactions.list().map(transactionResource) } }))
    .add('GET', '/sandbox/transactions/:out_trade_no', (req, ctx) => {
      const row = ctx.transactions.find(ctx.mchid, req.params.out_trade_no!);
      if (!row) throw orderNotExist();
      return { status: 200, body: transactionResource(row) };
    })

    .add('GET', '/sandbox/clock', (_req, ctx) => ({ status: 200, body: { now: ctx.clock.nowRfc3339() } }))
    .add('POST', '/sandbox/clock/advance', (req, ctx) => {
      const seconds = optionalJson(req).seconds;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new SandboxError(400, 'PARAM_ERROR', 'seconds must be a number ≥ 0 (the sandbox clock only moves forward)', { field: 'seconds', issue: 'must be a number ≥ 0' });
      }
      ctx.clock.advance(seconds);
      ctx.notifier.kick(); // retries that just fell due go out now
      return { status: 200, body: { now: ctx.clock.nowRfc3339() } };
    })

    .add('GET', '/sandbox/notifications', (req, ctx) => {
      const status = req.query.get('status');
      if (status !== null && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
        throw new SandboxError(400, 'PARAM_ERROR', `status must be one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status', location: 'query' });
      }
      const outTradeNo = req.query.get('out_trade_no');
      const full = req.query.get('full') === '1';
      const rows = ctx.notifications.list({ ...(outTradeNo !== null ? { outTradeNo } : {}), ...(status !== null ? { status: status as DeliveryStatus } : {}) });
      return { status: 200, body: { now: ctx.clock.nowRfc3339(), notifications: rows.map((n) => notificationView(n, ctx.notifications.attempts(n.id), full)) } };
    })
    // Manual resend (wxpay-v3.md §4 duplicates are normal): due now again.
    .add('POST', '/sandbox/notifications/:id/resend', (req, ctx) => {
      const id = req.params.id!;
      if (!ctx.notifications.resend(id, ctx.clock.now())) throw new SandboxError(404, 'NOT_FOUND', `no notification ${id}`);
      ctx.notifier.kick();
      return { status: 200, body: notificationView(ctx.notifications.get(id)!, ctx.notifications.attempts(id)) };
    })

    .add('GET', '/sandbox/requests', (req, ctx) => {
      const since = Number(req.query.get('since') ?? 0);
      return { status: 200, body: { requests: ctx.requestLog.list({ sinceSeq: Number.isFinite(since) ? since : 0 }) } };
    });
}

/** Control bodies are optional JSON objects. */
function optionalJson(req: RouteRequest): Record<string, unknown> {
  if (req.body.trim() === '') return {};
  const body = parseJsonBody(req.body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SandboxError(400, 'PARAM_ERROR', 'body must be a JSON object');
  return body as Record<string, unknown>;
}
