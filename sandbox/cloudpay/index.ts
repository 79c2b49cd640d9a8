import { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SandboxCore } from '../core';
import { Payments } from '../payments';
import { RefundRow } from '../refunds';
import { TransactionRow } from '../transactions';
import { CloudPayBackend } from './api';
import { CloudFunctionDeliverer } from './deliverer';
import { paymentEvent, refundEvent } from './events';
import { CloudPayHttp, Next } from './http';
import { refundBackend } from './refund-api';
import { cloudPayV2Key, CloudPayStore, migrateCloudPay, readSettings, writeSettings } from './store';

export interface CloudPayDeps {
  core: SandboxCore;
  payments: Payments;
  /** The sandbox's notification retry schedule: cloud-function deliveries retry on it too. */
  retryScheduleSeconds: readonly number[];
  /** The sandbox's notification timeout: a slower cloud function is a failure. */
  timeoutMs: number;
  log: (line: string) => void;
}

export interface CloudPayEmulation {
  /** Whether the HTTP request is CloudPay's to answer (see http.ts). */
  handles(method: string, url: string): boolean;
  /** Answers it; `next` runs the sandbox's own handling where CloudPay only adds to it (the notification log). */
  handle(req: IncomingMessage, res: ServerResponse, next: Next): Promise<void>;
  /** Starts invoking callback functions. */
  start(): void;
  /** Stops the deliverer and unsubscribes (call before closing the database). */
  stop(): Promise<void>;
  /** The sandbox's APIv2 key: CloudPay answers and the MD5 paySign are signed with it. */
  v2Key: string;
}

/**
 * CloudPay emulation (issue 4 item 5, wxpay-v2-cloudpay.md §5) on the sandbox's shared state: the six APIs over
 * HTTP, and the callbacks as cloud functions. Orders and refunds CloudPay places carry no v3 notify URL; when
 * one is paid or settled (whoever drove it: control API, console, auto-settlement) the core's domain events
 * make CloudPay queue the camelCase event for the function named at unifiedOrder / refund.
 */
export function attachCloudPay(d: CloudPayDeps): CloudPayEmulation {
  const { core } = d;
  migrateCloudPay(core.db);
  const store = new CloudPayStore(core.db);
  const v2Key = cloudPayV2Key(core.db);
  const settings = () => readSettings(core.db);
  const deliverer = new CloudFunctionDeliverer({ store, clock: core.clock, retryScheduleSeconds: d.retryScheduleSeconds, timeoutMs: d.timeoutMs, log: d.log });
  const backend = new CloudPayBackend({ core, payments: d.payments, store, v2Key, settings, refunds: refundBackend });
  const http = new CloudPayHttp({
    backend, store, deliverer, clock: core.clock, mchid: core.mchid, appid: core.appid, v2Key, faults: core.faults, settings, saveSettings: (s) => writeSettings(core.db, s), log: d.log,
  });

  const onPaid = (t: TransactionRow): void => {
    const order = store.findOrder(t.mchid, t.out_trade_no);
    if (!order) return; // not a CloudPay order: v3 notifies it
    const now = core.clock.now();
    store.enqueue({
      id: `cloudpay-${randomUUID()}`, kind: 'payment', env_id: order.env_id, function_name: order.function_name, out_trade_no: t.out_trade_no, out_refund_no: null,
      source_id: t.transaction_id, event_json: JSON.stringify(paymentEvent(t)), create_time: core.clock.nowRfc3339(), created_at: now,
    });
    deliverer.kick();
  };
  const onSettled = (r: RefundRow): void => {
    const refund = store.findRefund(r.mchid, r.out_refund_no);
    if (!refund) return;
    const now = core.clock.now();
    store.enqueue({
      id: `cloudpay-${randomUUID()}`, kind: 'refund', env_id: refund.env_id, function_name: refund.function_name, out_trade_no: r.out_trade_no, out_refund_no: r.out_refund_no,
      source_id: r.refund_id, event_json: JSON.stringify(refundEvent(r)), create_time: core.clock.nowRfc3339(), created_at: now,
    });
    deliverer.kick();
  };
  core.events.on('transaction.paid', onPaid);
  core.events.on('refund.settled', onSettled);

  return {
    v2Key,
    handles: (method, url) => http.handles(method, url),
    handle: (req, res, next) => http.handle(req, res, next),
    start: () => deliverer.start(),
    async stop() {
      core.events.off('transaction.paid', onPaid);
      core.events.off('refund.settled', onSettled);
      await deliverer.stop();
    },
  };
}
