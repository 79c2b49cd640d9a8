import http from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SandboxClock } from './clock';
import { handleControl } from './control-pipeline';
import { ControlContext, controlRouter } from './control-routes';
import { loadOrCreateKeys } from './keys';
import { NonceCache } from './auth';
import { certificatesBody } from './certificates';
import { attachCloudPay } from './cloudpay'; // CloudPay emulation (issue 4 item 5)
import { createCore } from './core';
import { Housekeeper } from './housekeeper';
import { Notifier } from './notifier';
import { DEFAULT_REFUND_SETTLE_SECONDS, NOTIFY_TIMEOUT_MS, RunningSandbox, SandboxOptions, SandboxReadyInfo, WECHAT_RETRY_SCHEDULE_SECONDS } from './options';
import { Payments } from './payments';
import { RequestLog } from './request-log';
import { openStateDb } from './state';
import { handleV3, V3PipelineDeps } from './v3-pipeline';
import { v3Router } from './v3-routes';

/**
 * Starts the sandbox: key material and SQLite state from `dataDir` (created on first start), the v3 API and the
 * control API on one loopback HTTP server, and the notifier. Resolves once listening, with the ready line.
 */
export async function startSandbox(opts: SandboxOptions): Promise<RunningSandbox> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const keys = loadOrCreateKeys(dataDir);
  const db = openStateDb(dataDir);
  try {
    const clock = new SandboxClock(db);
    const core = createCore({
      db,
      clock,
      mchid: keys.mchid,
      appid: keys.appid,
      settings: { refundSettleSeconds: validSettleSeconds(opts.refundSettleSeconds), refundNotifyUrl: opts.refundNotifyUrl ?? null },
    });
    const requestLog = new RequestLog(db);
    const schedule = validSchedule(opts.retryScheduleSeconds ?? WECHAT_RETRY_SCHEDULE_SECONDS);
    const serialMode = opts.notificationSerial ?? 'publicKey';
    if (serialMode !== 'publicKey' && serialMode !== 'certificate') throw new RangeError("notificationSerial must be 'publicKey' or 'certificate'");
    const housekeeper = new Housekeeper(core);
    const notifier = new Notifier({
      store: core.notifications,
      faults: core.faults,
      clock,
      apiV3Key: keys.apiV3Key,
      signingKey: keys.platform.privateKey,
      serial: serialMode === 'certificate' ? keys.platform.certSerial : keys.platform.publicKeyId,
      retryScheduleSeconds: schedule,
      timeoutMs: opts.notifyTimeoutMs ?? NOTIFY_TIMEOUT_MS,
      log,
      onTick: () => housekeeper.maybeRun(),
    });
    core.wake = (deadline?: number) => {
      if (deadline !== undefined) housekeeper.touch(deadline);
      notifier.kick();
    };
    housekeeper.run(); // whatever fell due while the sandbox was stopped
    const payments = new Payments(core);
    // CloudPay emulation: POST /cloudpay/{api}, /sandbox/cloudpay/*, callbacks as cloud functions (sandbox/cloudpay).
    const cloudpay = attachCloudPay({ core, payments, retryScheduleSeconds: schedule, timeoutMs: opts.notifyTimeoutMs ?? NOTIFY_TIMEOUT_MS, log });
    const platformCertPem = readFileSync(keys.platform.certPath, 'utf8');
    let baseUrl = '';

    const v3: V3PipelineDeps = {
      router: v3Router(),
      core,
      payments,
      housekeeper,
      merchant: { mchid: keys.mchid, serialNo: keys.merchant.serialNo, publicKey: keys.merchant.publicKey },
      platform: { privateKey: keys.platform.privateKey, certSerial: keys.platform.certSerial, publicKeyId: keys.platform.publicKeyId },
      defaultSerial: serialMode,
      nonces: new NonceCache(),
      certificates: () => certificatesBody([{ pem: platformCertPem, serial: keys.platform.certSerial }], keys.apiV3Key),
      baseUrl: () => baseUrl,
      requestLog,
      log,
    };
    const control: ControlContext = { core, payments, notifier, housekeeper, requestLog };
    const controlRoutes = controlRouter();

    const server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      const handled = cloudpay.handles(req.method ?? 'GET', url) ? cloudpay.handle(req, res, (r) => handleControl(req, r, controlRoutes, control, log)) // CloudPay
        : url.startsWith('/v3/') ? handleV3(req, res, v3)
        : url === '/sandbox' || url.startsWith('/sandbox/') ? handleControl(req, res, controlRoutes, control, log)
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
    notifier.start();
    cloudpay.start(); // CloudPay

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
        await notifier.stop();
        await cloudpay.stop(); // CloudPay
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        core.events.removeAllListeners();
        requestLog.flush(); // batched (request-log.ts)
        db.close();
        log('sandbox closed');
      })();
      return closing;
    };
    return { info, baseUrl, core, payments, close };
  } catch (err) {
    db.close();
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
  const body = JSON.stringify({ code: 'NOT_FOUND', message: 'the sandbox serves /v3/* (WeChat Pay API) and /sandbox/* (control, console)' });
  res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function validSettleSeconds(s: number | null | undefined): number | null {
  if (s === undefined) return DEFAULT_REFUND_SETTLE_SECONDS;
  if (s === null || s === 0) return null;
  if (!Number.isFinite(s) || s < 0) throw new RangeError('refundSettleSeconds must be a number ≥ 0 or null');
  return s;
}

function validSchedule(s: readonly number[]): readonly number[] {
  if (!s.every((n) => Number.isFinite(n) && n >= 0)) throw new RangeError('retryScheduleSeconds must be numbers ≥ 0');
  return [...s];
}
