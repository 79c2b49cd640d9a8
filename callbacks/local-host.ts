/**
 * The three callback functions hosted in-process, for the dev server (`npm start`): a request to
 * `POST /functions/<name>` reaches exactly the entry points a deployed function's index.js calls.
 * - With WeChat Pay v3 notification headers (or a v3 envelope body), the request is what the function's HTTP
 *   trigger would turn into an event: the answer is the function's HTTP answer (204 / 401 / 500 …).
 * - Otherwise the JSON body is the event of a direct invocation (a CloudPay payment or refund event, the
 *   timer's event for reconcile), and the answer is HTTP 200 with the function's return value — what the
 *   sandbox's CloudPay emulation reads (`{ errcode: 0 }` = delivered).
 * Function names: the kind (`pay-notify`, `refund-notify`, `reconcile`) and the configured names
 * (`functions.*`, `cloudpay.payCallbackFunction` / `refundCallbackFunction`).
 */
import type { Connector } from '../connector';
import type { ResolvedConfig } from '../config';
import * as runtime from './runtime';
import { FunctionKit } from './runtime/function-kit';
import type { HttpTriggerEvent } from './runtime/http-event';
import type { CallbackOptions } from './runtime/options';
import type { OrdersPort } from './runtime/orders';
import type { SendSubscribeMessage, SubscribeMessage } from './runtime/payer-message';
import type { FunctionKind } from './templates/common';

export interface LocalFunctionHostOptions {
  resolved: ResolvedConfig;
  connector: Connector;
  orders: OrdersPort;
  callbacks?: CallbackOptions;
  /** One line per callback event (JSON). */
  log: (line: string) => void;
  /** Where payer messages go; default: recorded in `messages`. */
  sendSubscribeMessage?: SendSubscribeMessage;
  now?: () => number;
}

export interface LocalRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface LocalAnswer {
  status: number;
  body?: unknown;
}

export interface LocalFunctionHost {
  /** The kind of function a URL name refers to, or undefined. */
  kindOf(name: string): FunctionKind | undefined;
  invoke(name: string, req: LocalRequest): Promise<LocalAnswer>;
  /** Payer messages recorded when no sender was given. */
  readonly messages: SubscribeMessage[];
}

export function createLocalFunctionHost(o: LocalFunctionHostOptions): LocalFunctionHost {
  const r = o.resolved;
  const names = new Map<string, FunctionKind>();
  const add = (kind: FunctionKind, ...aliases: Array<string | undefined>) => aliases.forEach((a) => a && names.set(a, kind));
  add('pay-notify', 'pay-notify', r.functions.payNotify, r.cloudpay?.payCallbackFunction);
  add('refund-notify', 'refund-notify', r.functions.refundNotify, r.cloudpay?.refundCallbackFunction);
  add('reconcile', 'reconcile', r.functions.reconcile);
  add('connector', 'connector', r.functions.connector);

  const messages: SubscribeMessage[] = [];
  const send: SendSubscribeMessage = o.sendSubscribeMessage ?? (async (m) => {
    messages.push(m);
    return { errCode: 0, errMsg: 'openapi.subscribeMessage.send:ok (recorded by the dev server)' };
  });
  const kits = new Map<FunctionKind, FunctionKit>();
  const kitFor = (kind: FunctionKind) => {
    let kit = kits.get(kind);
    if (!kit) {
      kit = new FunctionKit(
        { name: kind, config: r.config, ...(o.callbacks ? { callbacks: o.callbacks } : {}) },
        {
          resolved: r, connector: o.connector, sendSubscribeMessage: send,
          log: (event) => o.log(JSON.stringify({ source: kind, ...event })),
          ...(o.now ? { now: o.now } : {}),
        },
      );
      kits.set(kind, kit);
    }
    return kit;
  };

  return {
    messages,
    kindOf: (name) => names.get(name),
    async invoke(name, req) {
      const kind = names.get(name);
      if (!kind) return { status: 404, body: { code: 'NOT_FOUND', message: `no function ${name} (functions: ${[...names.keys()].join(', ')})` } };
      const kit = kitFor(kind);
      if ((kind === 'pay-notify' || kind === 'refund-notify') && isV3Notification(req)) {
        const event: HttpTriggerEvent = { httpMethod: 'POST', path: `/${name}`, headers: req.headers, body: req.rawBody.toString('base64'), isBase64Encoded: true };
        const result = kind === 'pay-notify' ? await runtime.v3PayNotify(event, o.orders, kit) : await runtime.v3RefundNotify(event, o.orders, kit);
        return { status: result.statusCode, ...(result.body ? { body: JSON.parse(result.body) } : {}) };
      }
      let event: unknown;
      try {
        event = req.rawBody.length ? JSON.parse(req.rawBody.toString('utf8')) : {};
      } catch {
        return { status: 400, body: { code: 'INVALID_REQUEST', message: 'the event must be JSON' } };
      }
      if (kind === 'pay-notify') return { status: 200, body: await runtime.cloudPayPayNotify(event, o.orders, kit) };
      if (kind === 'refund-notify') return { status: 200, body: await runtime.cloudPayRefundNotify(event, o.orders, kit) };
      if (kind === 'connector') return { status: 200, body: await runtime.connectorCall(event, kit) };
      return { status: 200, body: await runtime.reconcileOrders(event, o.orders, kit) };
    },
  };
}

/** WeChat Pay v3 POSTs an envelope with Wechatpay-* headers; a CloudPay invocation is a flat event. */
function isV3Notification(req: LocalRequest): boolean {
  if (Object.keys(req.headers).some((h) => h.toLowerCase().startsWith('wechatpay-'))) return true;
  try {
    const body = JSON.parse(req.rawBody.toString('utf8')) as Record<string, unknown>;
    return typeof body === 'object' && body !== null && 'resource' in body && 'event_type' in body;
  } catch {
    return false;
  }
}
