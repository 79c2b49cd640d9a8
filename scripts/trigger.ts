import { Argument, Command, InvalidArgumentError, Option } from 'commander';

/**
 * `weda-wxpay trigger …`: plays the WeChat user, the passing of time and the network against a running sandbox,
 * through its unsigned loopback control endpoints (DESIGN.md "Sandbox (contract)"), and the reconcile timer against
 * the dev server of `npm start`. Every subcommand prints the JSON answer on stdout; an error answer or an
 * unreachable server prints a one-line reason on stderr and exits non-zero.
 *
 * The sandbox is found by `--sandbox <baseUrl>`, else the environment variable WEDA_WXPAY_SANDBOX (the `baseUrl`
 * of the ready line); the dev server by `--dev <baseUrl>`, else WEDA_WXPAY_DEV (`devServer.baseUrl` of the
 * ready line of `npm start`).
 *
 * `trigger notifications --follow` streams instead, as `stripe listen` does: one line per delivery attempt as it
 * happens (`--json`: one JSON object per line), until Ctrl-C.
 */

export const SANDBOX_ENV = 'WEDA_WXPAY_SANDBOX';
export const DEV_ENV = 'WEDA_WXPAY_DEV';

export interface TriggerIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Called with the exit code on failure (default: sets process.exitCode). */
  fail: (code: number) => void;
  /** Ends `notifications --follow` (default: never; Ctrl-C ends the process). */
  stop?: AbortSignal;
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

  const runOn = (baseOf: (cmd: Command) => string, action: (base: string, ...args: any[]) => Promise<unknown>) => async (...args: any[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    try {
      const base = baseOf(cmd);
      const result = await action(base, ...args);
      io.out(`${JSON.stringify(result, null, 2)}\n`);
    } catch (err) {
      const e = err instanceof TriggerError ? err : new TriggerError(err instanceof Error ? err.message : String(err));
      io.err(`weda-wxpay trigger ${cmd.name()}: ${e.message}\n`);
      io.fail(e.code);
    }
  };
  const run = (action: (base: string, ...args: any[]) => Promise<unknown>) => runOn((cmd) => sandboxBaseUrl(cmd.opts<{ sandbox?: string }>().sandbox, io.env), action);

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

  type LogOptions = { status?: string; outTradeNo?: string; full?: boolean; follow?: boolean; json?: boolean; interval: number };
  const logQuery = (o: LogOptions, full: boolean): string => {
    const q = new URLSearchParams();
    if (o.status) q.set('status', o.status);
    if (o.outTradeNo) q.set('out_trade_no', o.outTradeNo);
    if (full) q.set('full', '1');
    const qs = q.toString();
    return `/sandbox/notifications${qs ? `?${qs}` : ''}`;
  };
  const list = run((base, o: LogOptions) => call(base, 'GET', logQuery(o, o.full === true)));
  sub('notifications', 'the delivery log: every notification, its attempts, status codes and next retry; --follow streams new attempts')
    .addOption(new Option('--status <status>', 'only these').choices(['pending', 'delivered', 'failed']))
    .option('--out-trade-no <no>', 'only this order')
    .option('--full', 'include what was sent on each attempt')
    .option('--follow', 'print each new delivery attempt as it happens, until Ctrl-C')
    .option('--json', 'with --follow: one JSON object per line')
    .option('--interval <ms>', 'with --follow: how often to look, in milliseconds', positiveInteger, 500)
    .action(async (o: LogOptions, cmd: Command) => {
      if (!o.follow) return list(o, cmd);
      try {
        const base = sandboxBaseUrl(cmd.opts<{ sandbox?: string }>().sandbox, io.env);
        await follow(base, logQuery(o, false), { json: o.json === true, intervalMs: o.interval, stop: io.stop ?? untilInterrupted() }, io);
      } catch (err) {
        const e = err instanceof TriggerError ? err : new TriggerError(err instanceof Error ? err.message : String(err));
        io.err(`weda-wxpay trigger notifications: ${e.message}\n`);
        io.fail(e.code);
      }
    });

  trigger.command('reconcile')
    .description(`run the reconcile function now, as its timer would, on the sandbox clock (the dev server of \`npm start\`: --dev <baseUrl> or ${DEV_ENV})`)
    .option('--dev <baseUrl>', `dev server base URL, devServer.baseUrl of the ready line of \`npm start\` (default: $${DEV_ENV})`)
    .action(runOn((cmd) => devBaseUrl(cmd.opts<{ dev?: string }>().dev, io.env), (base) =>
      // The event a CloudBase timer trigger passes; the dev server answers the function's summary.
      call(base, 'POST', '/functions/reconcile', { Type: 'Timer', TriggerName: 'reconcile', Time: new Date().toISOString() }, DEV_SERVER)));

  return trigger;
}

/** A delivery attempt as the log lists it (sandbox/delivery/view.ts). */
interface LoggedAttempt {
  attempt: number;
  at: string;
  statusCode: number | null;
  acked: boolean;
  latencyMs: number;
  error?: string;
  fault?: string;
}

interface LoggedNotification {
  id: string;
  kind: string;
  channel: string;
  event_type: string;
  url: string;
  out_trade_no: string | null;
  out_refund_no?: string;
  status: string;
  nextRetryAt: string | null;
  attempts: LoggedAttempt[];
}

/** One line of `--follow --json`: the attempt and the notification it belongs to. */
interface FollowedAttempt {
  at: string;
  id: string;
  kind: string;
  channel: string;
  event_type: string;
  out_trade_no: string | null;
  out_refund_no?: string;
  url: string;
  attempt: number;
  statusCode: number | null;
  acked: boolean;
  latencyMs: number;
  /** When the next attempt is due; null once acked or given up, or when a later attempt was made since. */
  retryAt: string | null;
  /** The notification's status when this attempt was seen (failed = no more retries). */
  status: string;
  error?: string;
  fault?: string;
}

/**
 * Polls the delivery log and prints every attempt not seen before — those made before it started excepted — until
 * `stop` aborts. An unreachable sandbox at the start is an error; later, a failed poll is reported once and
 * polling goes on.
 */
async function follow(base: string, logPath: string, opts: { json: boolean; intervalMs: number; stop: AbortSignal }, io: TriggerIo): Promise<void> {
  const seen = new Set<string>();
  const poll = async (): Promise<LoggedNotification[]> => ((await call(base, 'GET', logPath)) as { notifications: LoggedNotification[] }).notifications;
  for (const n of await poll()) for (const a of n.attempts) seen.add(`${n.id}#${a.attempt}`);
  io.err(`following notifications at ${base} (Ctrl-C to stop)\n`);
  let lost = false;
  while (!opts.stop.aborted) {
    await sleep(opts.intervalMs, opts.stop);
    if (opts.stop.aborted) break;
    let log: LoggedNotification[];
    try {
      log = await poll();
    } catch (err) {
      if (!lost) io.err(`${(err as Error).message}; still trying\n`);
      lost = true;
      continue;
    }
    if (lost) io.err('the sandbox answers again\n');
    lost = false;
    for (const n of log) {
      for (const a of n.attempts) {
        const key = `${n.id}#${a.attempt}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const line = followed(n, a);
        io.out(opts.json ? `${JSON.stringify(line)}\n` : `${followLine(line)}\n`);
      }
    }
  }
}

function followed(n: LoggedNotification, a: LoggedAttempt): FollowedAttempt {
  const latest = a.attempt === n.attempts[n.attempts.length - 1]?.attempt;
  return {
    at: a.at,
    id: n.id,
    kind: n.kind,
    channel: n.channel,
    event_type: n.event_type,
    out_trade_no: n.out_trade_no,
    ...(n.out_refund_no ? { out_refund_no: n.out_refund_no } : {}),
    url: n.url,
    attempt: a.attempt,
    statusCode: a.statusCode,
    acked: a.acked,
    latencyMs: a.latencyMs,
    retryAt: latest && !a.acked && n.status === 'pending' ? n.nextRetryAt : null,
    status: n.status,
    ...(a.error ? { error: a.error } : {}),
    ...(a.fault ? { fault: a.fault } : {}),
  };
}

/** `2024-05-01 12:00:00  TRANSACTION.SUCCESS  T123  http  http://…/notify  → 500  retry at 2024-05-01 12:00:15` */
function followLine(f: FollowedAttempt): string {
  const clock = (t: string): string => t.replace('T', ' ').replace('+08:00', '');
  const answer = f.statusCode ?? `no answer${f.error ? ` (${f.error})` : ''}`;
  const outcome = f.acked ? 'acked'
    : f.retryAt ? `retry at ${clock(f.retryAt)}`
      : f.status === 'failed' ? 'not acked, no more retries'
        : 'not acked';
  const no = f.out_refund_no ?? f.out_trade_no ?? '-';
  return [clock(f.at), f.event_type, no, f.channel, f.url, `→ ${answer}${f.fault ? ` [${f.fault}]` : ''}`, outcome].join('  ');
}

/** Ctrl-C ends following cleanly (exit status 0) rather than killing the process mid-line. */
function untilInterrupted(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Server {
  what: string;
  option: string;
  env: string;
  readyLine: string;
  running: string;
}

const SANDBOX: Server = { what: 'sandbox', option: '--sandbox', env: SANDBOX_ENV, readyLine: "the baseUrl of the sandbox's ready line", running: '`weda-wxpay sandbox` (or `npm start`)' };
const DEV_SERVER: Server = { what: 'dev server', option: '--dev', env: DEV_ENV, readyLine: 'devServer.baseUrl of the ready line of `npm start`', running: '`npm start`' };

/** `--sandbox`, else $WEDA_WXPAY_SANDBOX; a base URL like `http://127.0.0.1:PORT`. */
export function sandboxBaseUrl(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return baseUrl(SANDBOX, option, env);
}

/** `--dev`, else $WEDA_WXPAY_DEV: the dev server of `npm start`. */
export function devBaseUrl(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return baseUrl(DEV_SERVER, option, env);
}

function baseUrl(server: Server, option: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = option ?? env[server.env];
  if (!raw) throw new TriggerError(`no ${server.what} given: pass ${server.option} <baseUrl> or set ${server.env} to ${server.readyLine}`, 2);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TriggerError(`${server.option} ${JSON.stringify(raw)} is not a URL (expected e.g. http://127.0.0.1:PORT)`, 2);
  }
  if (url.protocol !== 'http:') throw new TriggerError(`${server.option} ${raw}: the ${server.what} serves plain http:// on loopback`, 2);
  return raw.replace(/\/+$/, '');
}

/** One call; resolves to the JSON answer, or throws a TriggerError saying what the server refused. */
async function call(base: string, method: string, path: string, body?: unknown, server: Server = SANDBOX): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
      signal: AbortSignal.timeout(server === DEV_SERVER ? 120_000 : 30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new TriggerError(`cannot reach the ${server.what} at ${base} (${cause}); is ${server.running} running?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new TriggerError(`${method} ${path}: the ${server.what} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = json as { code?: string; message?: string; detail?: { issue?: string } };
    const issue = e.detail?.issue && e.detail.issue !== e.message ? ` (${e.detail.issue})` : '';
    throw new TriggerError(`${method} ${path}: HTTP ${res.status} ${e.code ?? ''} ${e.message ?? ''}${issue}`.replace(/\s+/g, ' ').trim());
  }
  return json;
}
