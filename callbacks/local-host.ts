/**
 * The generated functions, run in-process for the dev server (`npm start`). When the host is created, the
 * functions are generated from the configuration by the generator `npm run build` uses (generate.ts), and a
 * request to `POST /functions/<name>` calls that generated index.js's `exports.main(event, context)`: what runs
 * locally is the code that deploys, its written-out `orders` object and `weda.callModel` calls included.
 *
 * A generated index.js requires only `./weda-wxpay-runtime`. Here that is the runtime module itself (the source
 * of the bundle the build writes next to index.js), with what CloudBase's environment would give swapped in:
 * - `createWeda()` answers the `weda` passed in (callModel on the local store), where on CloudBase it opens the
 *   environment's data models;
 * - `functionKit(spec)` is given the function's environment: its environment variables (the secrets, as
 *   cloudbaserc.json `envVariables` provide them), the same `weda` for the connector's server methods,
 *   `cloud.cloudPay`, `cloud.openapi.subscribeMessage.send`, a log, and the clock (the sandbox's).
 *
 * Requests:
 * - With WeChat Pay v3 notification headers (or a v3 envelope body), or a body that is not JSON (a v2 XML
 *   notification), a request to pay-notify / refund-notify is what the function's HTTP trigger would turn into an
 *   event: the answer is the function's HTTP answer (204 / 400 / 401 / 500 …).
 * - Otherwise the JSON body is the event of a direct invocation (a CloudPay payment or refund event, the timer's
 *   event for reconcile, `{method, params}` for the connector; `{}` for an empty body), and the answer is HTTP 200
 *   with the function's return value — what the sandbox's CloudPay emulation reads (`{ errcode: 0 }` = delivered).
 * - A function that throws is answered 500 without the exception's text, which goes to the log.
 * Function names: the kind (`pay-notify`, `refund-notify`, `reconcile`, `connector`), the configured names
 * (`functions.*`) and the CloudPay callback names (`cloudpay.payCallbackFunction` / `refundCallbackFunction`).
 */
import path from 'node:path';
import type { CloudPayApi } from '../connector';
import type { WedaSdk } from '../datasources/weda';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { deploySecrets, generateFunctions, type GeneratedFunction } from './generate';
import * as runtime from './runtime';
import type { FunctionSpec } from './runtime/function-kit';
import { isHttpTriggerEvent, type HttpTriggerEvent, type HttpTriggerResult } from './runtime/http-event';
import type { SendSubscribeMessage } from './runtime/payer-message';
import { RUNTIME_MODULE, type FunctionKind } from './templates/common';

export interface LocalFunctionHostOptions {
  /** weda-wxpay.config.json, its `callbacks` section included. */
  config: WedaWxpayConfig;
  /** Where the configuration's key file paths are relative to. */
  baseDir: string;
  /** `weda.callModel` on the local store. */
  weda: WedaSdk;
  /** `cloud.cloudPay`; without it the functions use WEDA_WXPAY_CLOUDPAY_URL from `env`, else wx-server-sdk. */
  cloudPay?: CloudPayApi;
  /** `cloud.openapi.subscribeMessage.send`; without it WEDA_WXPAY_MESSAGES_URL from `env`, else wx-server-sdk. */
  sendSubscribeMessage?: SendSubscribeMessage;
  /** Environment variables besides the secrets (which are read from the configuration's key files and values). */
  env?: NodeJS.ProcessEnv;
  /** One line per callback event (JSON). */
  log: (line: string) => void;
  /** The business clock the functions age orders by and write times with (the sandbox's; default Date.now). */
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
  invoke(name: string, req: LocalRequest): Promise<LocalAnswer>;
}

type Main = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

interface LoadedFunction {
  kind: FunctionKind;
  name: string;
  main: Main;
}

export function createLocalFunctionHost(o: LocalFunctionHostOptions): LocalFunctionHost {
  const env = { ...deploySecrets(o.config, { baseDir: o.baseDir }), ...(o.env ?? {}) };
  const functionRuntime: typeof runtime = {
    ...runtime,
    createWeda: () => o.weda,
    functionKit: (spec: FunctionSpec) => runtime.functionKit(spec, {
      env,
      weda: o.weda,
      ...(o.now ? { now: o.now } : {}),
      ...(o.cloudPay ? { cloudPay: o.cloudPay } : {}),
      ...(o.sendSubscribeMessage ? { sendSubscribeMessage: o.sendSubscribeMessage } : {}),
      log: (event) => o.log(JSON.stringify(logLine(spec.name, event))),
    }),
  };
  const loaded = generateFunctions({ config: o.config }).map((fn) => load(fn, functionRuntime));

  const byName = new Map<string, LoadedFunction>();
  const add = (kind: FunctionKind, ...aliases: Array<string | undefined>) => {
    const fn = loaded.find((f) => f.kind === kind)!;
    for (const a of aliases) if (a) byName.set(a, fn);
  };
  for (const fn of loaded) add(fn.kind, fn.kind, fn.name);
  add('pay-notify', o.config.cloudpay?.payCallbackFunction);
  add('refund-notify', o.config.cloudpay?.refundCallbackFunction);

  return {
    async invoke(name, req) {
      const fn = byName.get(name);
      if (!fn) {
        o.log(JSON.stringify({ source: 'local-host', event: 'function.not_found', refused: true, reason: `no function ${name.slice(0, 64)}`, outTradeNo: null }));
        return { status: 404, body: { code: 'NOT_FOUND', message: `no function ${name} (functions: ${[...byName.keys()].join(', ')})` } };
      }
      const context = { function_name: fn.name };
      const notify = fn.kind === 'pay-notify' || fn.kind === 'refund-notify';
      const event = notify ? notifyEvent(name, req) : invocationEvent(req);
      if (event === undefined) {
        o.log(JSON.stringify({ source: fn.name, event: 'function.event_refused', refused: true, reason: 'the event is not JSON', outTradeNo: null }));
        return { status: 400, body: { code: 'INVALID_REQUEST', message: 'the event must be JSON' } };
      }
      let result: unknown;
      try {
        result = await fn.main(event, context);
      } catch (err) {
        // What CloudBase shows for a function that threw: a failure, not the exception's text (that is logged).
        o.log(JSON.stringify({ source: fn.name, event: 'function.failed', refused: true, reason: err instanceof Error ? err.message : String(err), outTradeNo: null }));
        return { status: 500, body: { code: 'SYSTEM_ERROR', message: `${fn.name} failed; see its log` } };
      }
      // A notify function answers an HTTP-trigger event with an HTTP answer (as its generated main decides).
      if (!notify || !isHttpTriggerEvent(event)) return { status: 200, body: result };
      const http = result as HttpTriggerResult;
      const answer: LocalAnswer = { status: http.statusCode };
      if (http.body) answer.body = JSON.parse(http.body);
      return answer;
    },
  };
}

/** A `Wechatpay-*` header name, whatever its case. */
const SIGNATURE_HEADER = /^wechatpay-/i;

/**
 * `{ source, ...event }`, which V8 builds slowly (a spread after another property), copied instead into a fresh
 * object in the same key order; an event with a `__proto__` key (assignment would set the prototype instead)
 * still goes through the spread.
 */
function logLine(source: string, event: Record<string, unknown>): Record<string, unknown> {
  if (Object.prototype.hasOwnProperty.call(event, '__proto__')) return { source, ...event };
  return Object.assign({ source } as Record<string, unknown>, event);
}

/** A direct invocation's event: the JSON body, `{}` for none; undefined when the body is not JSON. */
function invocationEvent(req: LocalRequest): unknown {
  if (req.rawBody.length === 0) return {};
  try {
    return JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * What reaches a notify function: through its HTTP trigger (the notify URL) what WeChat Pay POSTs — a v3
 * notification (Wechatpay-* headers, or a v3 envelope body), or any body that cannot be an invocation's event
 * (not JSON: XML, text); otherwise the JSON body is a direct invocation's event (a CloudPay event), `{}` for an
 * empty body. Either way the function decides what to do with it, not this route.
 */
function notifyEvent(name: string, req: LocalRequest): unknown {
  // Signed (Wechatpay-* headers): the trigger's, whatever the body; it is not parsed here to find that out.
  let signed = false;
  for (const h in req.headers) {
    if (Object.prototype.hasOwnProperty.call(req.headers, h) && SIGNATURE_HEADER.test(h)) {
      signed = true;
      break;
    }
  }
  const event = signed ? undefined : invocationEvent(req);
  const viaTrigger = signed
    || event === undefined
    || (typeof event === 'object' && event !== null && 'resource' in event && 'event_type' in event);
  if (!viaTrigger) return event;
  const trigger: HttpTriggerEvent = { httpMethod: 'POST', path: `/${name}`, headers: req.headers, body: req.rawBody.toString('base64'), isBase64Encoded: true };
  return trigger;
}

/** Evaluates a generated index.js as CommonJS, its one `require` answered with `functionRuntime`. */
function load(fn: GeneratedFunction, functionRuntime: typeof runtime): LoadedFunction {
  const filename = path.join('functions', fn.name, 'index.js');
  const module = { exports: {} as { main?: unknown } };
  const requireRuntime = (id: string): unknown => {
    if (id === RUNTIME_MODULE) return functionRuntime;
    throw new Error(`${filename} requires ${id}; a generated function requires only ${RUNTIME_MODULE}`);
  };
  // The source URL names the function in stack traces.
  const evaluate = new Function('exports', 'require', 'module', '__filename', '__dirname', `${fn.source}\n//# sourceURL=${filename}`);
  evaluate(module.exports, requireRuntime, module, filename, path.dirname(filename));
  const main = module.exports.main;
  if (typeof main !== 'function') throw new Error(`${filename} exports no main function`);
  return { kind: fn.kind, name: fn.name, main: main as Main };
}

