import http from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudPay } from '../cloudpay';
import { CloudFunctionTransport } from '../delivery/cloud-function-transport';
import { HttpTransport } from '../delivery/http-transport';
import { NOTIFY_TIMEOUT_MS, Sender, WECHAT_RETRY_SCHEDULE_SECONDS } from '../delivery/sender';
import { Bills } from '../domain/bills';
import { SandboxClock } from '../domain/clock';
import { DomainEvents } from '../domain/events';
import { Housekeeper } from '../domain/housekeeper';
import { Messages } from '../domain/messages';
import { Payments } from '../domain/payments';
import { DEFAULT_REFUND_SETTLE_SECONDS, Refunds } from '../domain/refunds';
import { DEFAULT_RETENTION, LogRetention, openState, RetentionLimits } from '../state';
import { loadOrCreateKeys } from '../state/keys';
import { NonceCache } from './auth';
import { certificatesBody } from './certificates';
import { handleCloudPay } from './cloudpay-pipeline';
import { handleControl } from './control-pipeline';
import { ControlContext, controlRouter, emptySettings } from './control-routes';
import { RunningSandbox, SandboxOptions, SandboxReadyInfo } from './options';
import { splitUrl } from './router';
import { handleV3, V3PipelineDeps } from './v3-pipeline';
import { v3Router } from './v3-routes';

/**
 * Starts the sandbox: key material and SQLite state from `dataDir` (created on first start), the v3 API, the
 * CloudPay API and the control API on one loopback HTTP server, and the outbox's sender. Resolves once listening,
 * with the ready line. This is where the layers are assembled, each part given what it needs at construction:
 * state → domain (clock, events, payments, refunds, bills, housekeeper) → delivery (sender) and the CloudPay façade
 * → HTTP.
 */
export async function startSandbox(opts: SandboxOptions): Promise<RunningSandbox> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const keys = loadOrCreateKeys(dataDir);
  const schedule = validSchedule(opts.retryScheduleSeconds ?? WECHAT_RETRY_SCHEDULE_SECONDS);
  const settleSeconds = validSettleSeconds(opts.refundSettleSeconds);
  const serialMode = opts.notificationSerial ?? 'publicKey';
  if (serialMode !== 'publicKey' && serialMode !== 'certificate') throw new RangeError("notificationSerial must be 'publicKey' or 'certificate'");
  const timeoutMs = opts.notifyTimeoutMs ?? NOTIFY_TIMEOUT_MS;
  const retentionLimits = validRetention(opts.retention ?? {});
  const state = openState(dataDir);
  try {
    const merchant = { mchid: keys.mchid, appid: keys.appid };
    const clock = new SandboxClock(state.meta);
    const events = new DomainEvents();
    const sender = new Sender({
      outbox: state.outbox,
      faults: state.faults,
      clock,
      transports: {
        http: new HttpTransport({
          apiV3Key: keys.apiV3Key,
          signingKey: keys.platform.privateKey,
          serial: serialMode === 'certificate' ? keys.platform.certSerial : keys.platform.publicKeyId,
        }),
        'cloud-function': new CloudFunctionTransport(state.cloudpay),
      },
      retryScheduleSeconds: schedule,
      timeoutMs,
      log,
    });
    const wake = (): void => sender.kick();
    const payments = new Payments({ state, clock, merchant, events, wake });
    const refunds = new Refunds({ state, clock, merchant, events, wake, settleSeconds, notifyUrl: opts.refundNotifyUrl ?? null });
    const bills = new Bills({ state, clock, merchant });
    const messages = new Messages({ store: state.messages, clock });
    const housekeeper = new Housekeeper({ state, clock, refunds, events, log });
    const cloudpay = new CloudPay({ state, clock, merchant, payments, refunds, bills, events, wake, log });
    housekeeper.run(); // whatever fell due while the sandbox was stopped (CloudPay already listening)
    const retention = new LogRetention({
      outbox: state.outbox, requests: state.requests, limits: retentionLimits, now: () => clock.now(), log,
      ...(opts.retention?.everyMs !== undefined ? { everyMs: opts.retention.everyMs } : {}),
    });
    /** `POST /sandbox/reset`: the sandbox as on its first start, keys kept (see SandboxState.clear). */
    const reset = (): Promise<void> => sender.whilePaused(() => {
      state.sql.transaction(() => {
        state.clear();
        clock.reset();
      });
      housekeeper.run(); // forget deadlines of orders and refunds that are gone
      log('sandbox reset: orders, refunds, notifications, faults, messages, the request log and the clock offset cleared');
    });

    const platformCertPem = readFileSync(keys.platform.certPath, 'utf8');
    let baseUrl = '';
    const v3: V3PipelineDeps = {
      router: v3Router(),
      clock,
      faults: state.faults,
      payments,
      refunds,
      bills,
      housekeeper,
      merchant: { mchid: keys.mchid, serialNo: keys.merchant.serialNo, publicKey: keys.merchant.publicKey },
      platform: { privateKey: keys.platform.privateKey, certSerial: keys.platform.certSerial, publicKeyId: keys.platform.publicKeyId },
      defaultSerial: serialMode,
      nonces: new NonceCache(),
      certificates: () => certificatesBody([{ pem: platformCertPem, serial: keys.platform.certSerial }], keys.apiV3Key),
      baseUrl: () => baseUrl,
      requestLog: state.requests,
      log,
    };
    const control: ControlContext = { state, clock, mchid: merchant.mchid, payments, refunds, bills, settings: emptySettings(), messages, housekeeper, cloudpay, wake, reset };
    const controlRoutes = controlRouter();

    const server = http.createServer((req, res) => {
      const { path: p } = splitUrl(req.url ?? '/');
      const handled = p.startsWith('/v3/') ? handleV3(req, res, v3)
        : p.startsWith('/cloudpay/') ? handleCloudPay(req, res, { cloudpay, housekeeper, clock, requestLog: state.requests, log })
          : p === '/sandbox' || p.startsWith('/sandbox/') ? handleControl(req, res, controlRoutes, control, log)
            : notFound(res);
      handled.catch((err: unknown) => {
        log(`http: ${String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    const host = opts.host ?? '127.0.0.1';
    await listen(server, opts.port ?? 0, host);
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    sender.start();
    housekeeper.start();
    retention.start();

    const info: SandboxReadyInfo = {
      event: 'ready',
      baseUrl,
      console: `${baseUrl}/sandbox/console`,
      merchant: { mchid: keys.mchid, appid: keys.appid, serialNo: keys.merchant.serialNo, privateKeyPath: keys.merchant.privateKeyPath, apiV3Key: keys.apiV3Key },
      platform: { publicKeyId: keys.platform.publicKeyId, publicKeyPath: keys.platform.publicKeyPath, certSerial: keys.platform.certSerial, certPath: keys.platform.certPath },
    };
    log(`sandbox ready at ${baseUrl} (data ${dataDir})`);

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        housekeeper.stop();
        cloudpay.close();
        await Promise.all([sender.stop(), retention.stop()]);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        state.close();
        log('sandbox closed');
      })();
      return closing;
    };
    return { info, baseUrl, clock: { now: () => clock.now() }, close };
  } catch (err) {
    state.close();
    throw err;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function notFound(res: http.ServerResponse): Promise<void> {
  const body = JSON.stringify({ code: 'NOT_FOUND', message: 'the sandbox serves /v3/* (WeChat Pay API), /cloudpay/* (CloudPay) and /sandbox/* (control, console)' });
  res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function validSettleSeconds(s: number | null | undefined): number | null {
  if (s === undefined) return DEFAULT_REFUND_SETTLE_SECONDS;
  if (s === null || s === 0) return null;
  if (!Number.isFinite(s) || s < 0) throw new RangeError('refundSettleSeconds must be a number ≥ 0 or null');
  return s;
}

function validRetention(r: NonNullable<SandboxOptions['retention']>): RetentionLimits {
  const limits = { days: r.days ?? DEFAULT_RETENTION.days, attempts: r.attempts ?? DEFAULT_RETENTION.attempts, requests: r.requests ?? DEFAULT_RETENTION.requests };
  if (!Number.isFinite(limits.days) || limits.days <= 0) throw new RangeError('retention.days must be a number > 0');
  for (const k of ['attempts', 'requests'] as const) {
    if (!Number.isInteger(limits[k]) || limits[k] < 1) throw new RangeError(`retention.${k} must be an integer ≥ 1`);
  }
  if (r.everyMs !== undefined && (!Number.isFinite(r.everyMs) || r.everyMs <= 0)) throw new RangeError('retention.everyMs must be a number > 0');
  return limits;
}

function validSchedule(s: readonly number[]): readonly number[] {
  if (!s.every((n) => Number.isFinite(n) && n >= 0)) throw new RangeError('retryScheduleSeconds must be numbers ≥ 0');
  return [...s];
}
