import { Argument, Command, InvalidArgumentError, Option } from 'commander';

/**
 * `weda-wxpay trigger …`: plays the WeChat user, the passing of time and the network against a running sandbox,
 * through its unsigned loopback control endpoints (DESIGN.md "Sandbox (contract)"). Every subcommand prints the
 * sandbox's JSON answer on stdout; an error answer or an unreachable sandbox prints a one-line reason on stderr
 * and exits non-zero.
 *
 * The sandbox is found by `--sandbox <baseUrl>`, else the environment variable WEDA_WXPAY_SANDBOX (the `baseUrl`
 * of the ready line).
 */

export const SANDBOX_ENV = 'WEDA_WXPAY_SANDBOX';

export interface TriggerIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Called with the exit code on failure (default: sets process.exitCode). */
  fail: (code: number) => void;
}

const defaultIo = (): TriggerIo => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  fail: (code) => { process.exitCode = code; },
});

/** A failure to report in one line; `code` becomes the exit status. */
class TriggerError extends Error {
  constructor(message: string, readonly code = 1) {
    super(message);
  }
}

const REFUND_STATUSES = ['SUCCESS', 'CLOSED', 'ABNORMAL'] as const;
const FAULT_KINDS = ['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'NOT_ENOUGH', 'LATENCY', 'DROP', 'DELAY', 'DUPLICATE', 'REORDER', 'PROBE'] as const;

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer ≥ 1');
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer ≥ 0');
  return n;
}

/** Adds `trigger` and its subcommands to the CLI. */
export function registerTrigger(program: Command, io: TriggerIo = defaultIo()): Command {
  const trigger = program.command('trigger')
    .description(`drive a running sandbox: pay, cancel, settle refunds, advance the clock, inject faults, resend notifications, reset (--sandbox <baseUrl> or ${SANDBOX_ENV})`);

  /** Each subcommand takes --sandbox itself, so it may come anywhere on the line. */
  const sub = (name: string, description: string): Command => trigger.command(name)
    .description(description)
    .option('--sandbox <baseUrl>', `sandbox base URL from the ready line (default: $${SANDBOX_ENV})`);

  const run = (action: (base: string, ...args: any[]) => Promise<unknown>) => async (...args: any[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    try {
      const base = sandboxBaseUrl(cmd.opts<{ sandbox?: string }>().sandbox, io.env);
      const result = await action(base, ...args);
      io.out(`${JSON.stringify(result, null, 2)}\n`);
    } catch (err) {
      const e = err instanceof TriggerError ? err : new TriggerError(err instanceof Error ? err.message : String(err));
      io.err(`weda-wxpay trigger ${cmd.name()}: ${e.message}\n`);
      io.fail(e.code);
    }
  };

  sub('pay', 'the user pays an order (or fails to, with --fail)')
    .argument('<outTradeNo>', 'the merchant order number')
    .option('--fail <kind>', 'a failed payment instead: NOT_ENOUGH | PAYERROR | USER_CANCEL (as the sandbox supports)')
    .action(run((base, outTradeNo: string, o: { fail?: string }) =>
      call(base, 'POST', `/sandbox/transactions/${encodeURIComponent(outTradeNo)}/pay`, { result: o.fail ?? 'SUCCESS' })));

  sub('cancel', 'the user closes the payment sheet without paying (the order stays NOTPAY)')
    .argument('<outTradeNo>', 'the merchant order number')
    .action(run((base, outTradeNo: string) => call(base, 'POST', `/sandbox/transactions/${encodeURIComponent(outTradeNo)}/cancel`, {})));

  sub('refund', 'settle a PROCESSING refund')
    .argument('<outRefundNo>', 'the merchant refund number')
    .addOption(new Option('--status <status>', 'the outcome').choices(REFUND_STATUSES).makeOptionMandatory())
    .action(run((base, outRefundNo: string, o: { status: string }) =>
      call(base, 'POST', `/sandbox/refunds/${encodeURIComponent(outRefundNo)}/settle`, { status: o.status })));

  sub('clock', 'advance the sandbox clock (due retries, refund settlements and expiries happen)')
    .argument('<seconds>', 'seconds to move forward', nonNegativeNumber)
    .action(run((base, seconds: number) => call(base, 'POST', '/sandbox/clock/advance', { seconds })));

  sub('fault', 'inject a fault: an API error or latency on /v3/* requests, or a notification fault')
    .addArgument(new Argument('<kind>', 'the fault').choices(FAULT_KINDS))
    .option('--count <n>', 'how many requests / notifications it hits (default 1)', positiveInteger)
    .option('--path <prefix>', 'API faults: request path prefix (default /v3/, every API)')
    .option('--method <verb>', 'API faults: only this HTTP method')
    .option('--ms <n>', 'LATENCY: added milliseconds', nonNegativeInteger)
    .option('--seconds <n>', 'DELAY: sandbox seconds before the first delivery', nonNegativeNumber)
    .option('--event-type <prefix>', 'notification faults: only events of this type prefix, e.g. REFUND.')
    .action(run((base, kind: string, o: { count?: number; path?: string; method?: string; ms?: number; seconds?: number; eventType?: string }) =>
      call(base, 'POST', '/sandbox/faults', {
        kind,
        ...(o.count !== undefined ? { count: o.count } : {}),
        ...(o.path !== undefined ? { path: o.path } : {}),
        ...(o.method !== undefined ? { method: o.method.toUpperCase() } : {}),
        ...(o.ms !== undefined ? { ms: o.ms } : {}),
        ...(o.seconds !== undefined ? { seconds: o.seconds } : {}),
        ...(o.eventType !== undefined ? { event_type: o.eventType } : {}),
      })));

  sub('reset', "start the sandbox over: forget its orders, refunds, notifications, faults, messages and request log, and set the clock back; its keys stay, and the dev server's model store (orders, goods) is not touched")
    .action(run((base) => call(base, 'POST', '/sandbox/reset', {})));

  sub('resend', 'deliver a notification (v3 or CloudPay callback) again now')
    .argument('<notificationId>', 'the id from `trigger notifications`')
    .action(run((base, id: string) => call(base, 'POST', `/sandbox/notifications/${encodeURIComponent(id)}/resend`, {})));

  sub('notifications', 'the delivery log: every notification, its attempts, status codes and next retry')
    .addOption(new Option('--status <status>', 'only these').choices(['pending', 'delivered', 'failed']))
    .option('--out-trade-no <no>', 'only this order')
    .option('--full', 'include what was sent on each attempt')
    .action(run((base, o: { status?: string; outTradeNo?: string; full?: boolean }) => {
      const q = new URLSearchParams();
      if (o.status) q.set('status', o.status);
      if (o.outTradeNo) q.set('out_trade_no', o.outTradeNo);
      if (o.full) q.set('full', '1');
      const qs = q.toString();
      return call(base, 'GET', `/sandbox/notifications${qs ? `?${qs}` : ''}`);
    }));

  return trigger;
}

/** `--sandbox`, else $WEDA_WXPAY_SANDBOX; a base URL like `http://127.0.0.1:PORT`. */
export function sandboxBaseUrl(option: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = option ?? env[SANDBOX_ENV];
  if (!raw) throw new TriggerError(`no sandbox given: pass --sandbox <baseUrl> or set ${SANDBOX_ENV} to the baseUrl of the sandbox's ready line`, 2);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TriggerError(`--sandbox ${JSON.stringify(raw)} is not a URL (expected e.g. http://127.0.0.1:PORT)`, 2);
  }
  if (url.protocol !== 'http:') throw new TriggerError(`--sandbox ${raw}: the sandbox serves plain http:// on loopback`, 2);
  return raw.replace(/\/+$/, '');
}

/** One control call; resolves to the JSON answer, or throws a TriggerError saying what the sandbox refused. */
async function call(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new TriggerError(`cannot reach the sandbox at ${base} (${cause}); is \`weda-wxpay sandbox\` (or \`npm start\`) running?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new TriggerError(`${method} ${path}: the sandbox answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = json as { code?: string; message?: string; detail?: { issue?: string } };
    const issue = e.detail?.issue && e.detail.issue !== e.message ? ` (${e.detail.issue})` : '';
    throw new TriggerError(`${method} ${path}: HTTP ${res.status} ${e.code ?? ''} ${e.message ?? ''}${issue}`.replace(/\s+/g, ' ').trim());
  }
  return json;
}
