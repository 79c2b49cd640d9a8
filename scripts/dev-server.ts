import fs from 'node:fs';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { httpStatusFor, PayError } from '../wxpay';
import { createConnector, createProvider, Connector } from '../connector';
import { resolveConfig, ResolvedConfig, CONFIG_FILE_NAME, functionNames } from '../config';
import { buildModelDefinitions } from '../datasources/models';
import { openSqliteStore } from '../datasources/sqlite-store';
import { createWeda, ModelStore, WedaSdk, WedaModelError, EnvType } from '../datasources/weda';
import { createLocalFunctionHost, LocalFunctionHost } from '../callbacks/local-host';
import { httpMessageSender } from '../callbacks/runtime/payer-message';
import { DEFAULT_RECONCILE_SCHEDULE, type CallbackOptions } from '../callbacks/runtime/options';
import { runOnSchedule, type DevClock, type ScheduledRun } from './dev-clock';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import { startSandbox, RunningSandbox, SandboxOptions, SandboxReadyInfo } from '../sandbox';
import { createPreviewHandler, loadTemplateApp } from '../app-template/preview-server';
import { createWorkbenchHandler } from '../workbench/server';
import { readRawBody, parseJsonBody, pathSegments, refuseDeepJson, requestUrl, sendJson } from './http-json';
import { holdRequestsUntilServed, listenOnDevPort } from './dev-port';
import type { WedaWxpayConfig } from '../schemas/types.generated';

/**
 * `npm start`: the whole flow on loopback. The sandbox plays WeChat Pay; the SQLite store plays WeDa's data
 * models; the connector is the production module, wired by configuration only (a base URL and key paths), and
 * the callback functions are the generated ones `npm run build` deploys, run in-process (callbacks/local-host.ts),
 * so what runs here is what runs on CloudBase.
 */
export interface DevServerOptions {
  dataDir: string;
  /** Sandbox port (default 0 = ephemeral). */
  port?: number;
  /**
   * The dev server's own port, which notify URLs carry: default the one remembered in `dataDir/dev-server.json`,
   * else any free port; the port taken is remembered, so it stays the same across restarts (scripts/dev-port.ts).
   */
  devPort?: number;
  /** A user's weda-wxpay.config.json: its models, field mapping and envType are honoured; its keys are not used. */
  configPath?: string;
  log?: (line: string) => void;
  seedGoods?: boolean;
  /** Seconds after which a PROCESSING refund settles SUCCESS on the sandbox clock (null = only by hand). */
  refundSettleSeconds?: number | null;
  /** How much of its logs the sandbox keeps (SandboxOptions.retention). */
  retention?: SandboxOptions['retention'];
  /** The CALS app served at /app (default: app-template/app.json); `weda-wxpay preview <app.json>` sets it. */
  previewApp?: unknown;
  /** The `callbacks` section (reconcile settings, payer message); default: the user config's. */
  callbacks?: CallbackOptions;
  /**
   * Which backend the connector uses against the sandbox: `v3` (signed HTTP) or `cloudpay` (the sandbox's
   * CloudPay emulation, callbacks invoked as functions). Default: `cloudpay` when the user config says so.
   */
  provider?: 'v3' | 'cloudpay';
  /**
   * Run the reconcile function when its timer (`callbacks.reconcile.schedule`) falls due on the sandbox clock, as
   * CloudBase runs it on its timer (default true; tests that run reconcile by hand turn it off).
   */
  reconcileOnSchedule?: boolean;
}

/** CloudBase environment id the dev server stands for in CloudPay's `envId`. */
export const LOCAL_ENV_ID = 'local-dev';

export interface DevReadyInfo extends SandboxReadyInfo {
  devServer: { baseUrl: string; app: string; provider: 'v3' | 'cloudpay'; connector: string; payNotify: string; refundNotify: string; functions: string; models: string; envType: EnvType };
}

export interface RunningDevServer {
  info: DevReadyInfo;
  sandbox: RunningSandbox;
  store: ModelStore;
  weda: WedaSdk;
  connector: Connector;
  resolved: ResolvedConfig;
  /** The sandbox clock, which the store, the functions and the connector all read. */
  clock: DevClock;
  /** The generated functions (pay-notify, refund-notify, reconcile, connector), as `POST /functions/<name>` reaches them. */
  functions: LocalFunctionHost;
  close(): Promise<void>;
}

export const SEED_GOODS = [
  { name: '微搭贴纸', description: '最便宜的测试商品', price: 1, stock: 100 },
  { name: '咖啡券', description: '一杯咖啡', price: 1800, stock: 50 },
  { name: '年度会员', description: '一年会员', price: 19900, stock: 10 },
];

export async function startDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const log = opts.log ?? (() => {});
  const userConfig = readUserConfig(opts.configPath);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  // The dev server's port is taken first: the sandbox re-drives queued notifications to it the moment it starts,
  // and they wait for the routes instead of finding the port closed.
  const server = http.createServer();
  const requests = holdRequestsUntilServed(server);
  const devPort = await listenOnDevPort(server, opts.dataDir, opts.devPort);
  let sandbox: RunningSandbox;
  let reconcileTimer: ScheduledRun | undefined;
  let openedStore: ModelStore | undefined;
  try {
    sandbox = await startSandbox({
      dataDir: path.join(opts.dataDir, 'sandbox'), port: opts.port ?? 0, log,
      ...(opts.refundSettleSeconds !== undefined ? { refundSettleSeconds: opts.refundSettleSeconds } : {}),
      ...(opts.retention ? { retention: opts.retention } : {}),
    });
  } catch (err) {
    await closeServer(server);
    throw err;
  }
  // One clock: the store's createdAt/updatedAt, the functions' times and reconcile's ages follow the sandbox's.
  const clock: DevClock = sandbox.clock;
  try {
    const baseUrl = `http://127.0.0.1:${devPort}`;
    const payNotifyUrl = `${baseUrl}/functions/pay-notify`;
    const refundNotifyUrl = `${baseUrl}/functions/refund-notify`;
    const provider = opts.provider ?? (userConfig?.provider === 'cloudpay' ? 'cloudpay' : 'v3');
    const devConfig = sandboxConfig(sandbox.info, payNotifyUrl, userConfig, refundNotifyUrl, provider);
    const resolved = resolveConfig(devConfig, { baseDir: opts.dataDir });
    // The local environment's data models, enforced: the generated ones under the configured names and field mapping.
    const store = openSqliteStore({ dataDir: path.join(opts.dataDir, 'models'), models: buildModelDefinitions(resolved.orders), now: clock.now });
    openedStore = store;
    // CloudPay pointed at the sandbox: the connector and the functions share this one `cloud.cloudPay` stand-in.
    const cloudPay = createHttpCloudPay(sandbox.info.baseUrl);
    const weda = createWeda({ store, connectors: { wxpay: (methodName, params) => connector.call(methodName, params) } });
    const connector = createConnector(createProvider(resolved, { cloudPay }), { retry: resolved.retry, models: { weda, binding: resolved.orders }, now: clock.now });
    if (resolved.cloudpay) {
      // CloudPay calls callbacks as cloud functions by name; here a "function" is this server's route.
      for (const name of [resolved.cloudpay.payCallbackFunction, resolved.cloudpay.refundCallbackFunction]) {
        if (!name) continue;
        const r = await fetch(`${sandbox.info.baseUrl}/sandbox/cloudpay/functions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ envId: LOCAL_ENV_ID, functionName: name, url: `${baseUrl}/functions/${name}` }) });
        if (!r.ok) throw new Error(`registering CloudPay function ${name} with the sandbox failed: ${r.status} ${await r.text()}`);
      }
    }
    const callbacks = opts.callbacks ?? userConfig?.callbacks;
    // Payer messages are recorded by the sandbox (GET {baseUrl}/sandbox/messages), next to its other logs.
    const functions = createLocalFunctionHost({
      config: { ...devConfig, ...(callbacks ? { callbacks } : {}) }, baseDir: opts.dataDir, weda, cloudPay, log, now: clock.now,
      sendSubscribeMessage: httpMessageSender(`${sandbox.info.baseUrl}/sandbox/messages`),
    });

    // The app preview talks to this server and the sandbox over HTTP, as the app talks to WeDa's.
    const preview = createPreviewHandler({ app: opts.previewApp ?? loadTemplateApp(), devServerUrl: baseUrl, sandboxUrl: sandbox.info.baseUrl });
    // `/` is the workbench (the preview beside the console); the console learns who runs and where the app is, and
    // where a refund made from it is notified (the app's refund callback).
    const workbench = createWorkbenchHandler({ appUrl: `${baseUrl}/app`, consoleUrl: sandbox.info.console });
    const refundCallback = resolved.cloudpay?.refundCallbackFunction;
    const consoleSettings = { provider, devServerUrl: baseUrl, refundNotifyUrl: !resolved.cloudpay ? refundNotifyUrl : refundCallback ? `cloudfunction://${LOCAL_ENV_ID}/${refundCallback}` : null };
    const told = await fetch(`${sandbox.info.baseUrl}/sandbox/settings`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(consoleSettings) });
    if (!told.ok) throw new Error(`telling the sandbox its settings failed: ${told.status} ${await told.text()}`);
    requests.serve((req, res) => {
      let url: URL;
      try {
        url = requestUrl(req, baseUrl);
        if (preview(req, res) || workbench(req, res)) return;
      } catch (err) {
        sendError(res, err);
        return;
      }
      route(req, res, url).catch((err) => sendError(res, err));
    });
    async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
      const parts = pathSegments(url.pathname);
      if (req.method === 'POST' && parts[0] === 'connector' && parts.length === 2) {
        const params = parseJsonBody(await readRawBody(req));
        return sendJson(res, 200, await connector.call(parts[1]!, params));
      }
      if (req.method === 'POST' && parts[0] === 'functions' && parts.length === 2) {
        let rawBody: Buffer;
        try {
          rawBody = await readRawBody(req);
        } catch (err) {
          // Refused before any function saw it (too large): one line, as a function's refusals leave.
          log(JSON.stringify({ source: 'dev-server', event: 'function.request_refused', refused: true, reason: (err as Error).message, outTradeNo: null, function: parts[1]!.slice(0, 64) }));
          throw err;
        }
        refuseDeepJson(rawBody);
        const answer = await functions.invoke(parts[1]!, { headers: req.headers, rawBody });
        return sendJson(res, answer.status, answer.body);
      }
      if (req.method === 'POST' && parts[0] === 'models' && parts.length === 3) {
        const envType = (url.searchParams.get('envType') ?? resolved.orders.envType) as EnvType;
        const params = parseJsonBody(await readRawBody(req)) as Record<string, unknown>;
        return sendJson(res, 200, await weda.callModel({ name: parts[1]!, methodName: parts[2]!, params, envType }));
      }
      if (req.method === 'GET' && url.pathname === '/') {
        return sendJson(res, 200, { app: `${baseUrl}/app`, console: sandbox.info.console, connector: `${baseUrl}/connector/{method}`, models: `${baseUrl}/models/{name}/{methodName}` });
      }
      sendJson(res, 404, { code: 'NOT_FOUND', message: `no route for ${req.method} ${url.pathname}` });
    }

    if (opts.seedGoods !== false) await seedGoods(weda, resolved);
    if (opts.reconcileOnSchedule !== false) {
      // What the timer trigger does on CloudBase: the reconcile function with a timer event, when it falls due.
      reconcileTimer = runOnSchedule({
        schedule: callbacks?.reconcile?.schedule ?? DEFAULT_RECONCILE_SCHEDULE, clock, log,
        run: async (at) => {
          const event = { Type: 'Timer', TriggerName: 'reconcile', Time: new Date(at).toISOString() };
          const answer = await functions.invoke('reconcile', { headers: {}, rawBody: Buffer.from(JSON.stringify(event)) });
          log(JSON.stringify({ event: 'reconcile.scheduled_run', status: answer.status, summary: answer.body }));
        },
      });
    }
    const info: DevReadyInfo = {
      ...sandbox.info,
      devServer: { baseUrl, app: `${baseUrl}/app`, provider, connector: `${baseUrl}/connector`, payNotify: payNotifyUrl, refundNotify: refundNotifyUrl, functions: `${baseUrl}/functions`, models: `${baseUrl}/models`, envType: resolved.orders.envType },
    };
    return {
      info, sandbox, store, weda, connector, resolved, clock, functions,
      async close() {
        await reconcileTimer?.stop();
        // The sandbox first: its sender stops before this port does, so no delivery fails for the shutdown alone
        // (one cut short is not an attempt, and goes out again after the next start).
        await sandbox.close();
        await closeServer(server);
        await store.close();
      },
    };
  } catch (err) {
    await reconcileTimer?.stop();
    await sandbox.close();
    await closeServer(server);
    await openedStore?.close();
    throw err;
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The configuration the dev server runs with: the user's data settings, the sandbox's keys and URLs. */
function sandboxConfig(info: SandboxReadyInfo, notifyUrl: string, user: Partial<WedaWxpayConfig> | undefined, refundNotifyUrl: string, provider: 'v3' | 'cloudpay'): WedaWxpayConfig {
  const functions = functionNames(user?.functions);
  return {
    provider: provider === 'cloudpay' ? 'cloudpay' : 'sandbox',
    appid: info.merchant.appid,
    mchid: info.merchant.mchid,
    ...(provider === 'cloudpay' ? {
      subMchId: info.merchant.mchid,
      cloudpay: { envId: LOCAL_ENV_ID, payCallbackFunction: user?.cloudpay?.payCallbackFunction ?? functions.payNotify, refundCallbackFunction: user?.cloudpay?.refundCallbackFunction ?? functions.refundNotify },
    } : {}),
    ...(user?.functions ? { functions: user.functions } : {}),
    envType: user?.envType ?? 'pre',
    ...(user?.models ? { models: user.models } : {}),
    ...(user?.fields ? { fields: user.fields } : {}),
    v3: {
      baseUrl: info.baseUrl,
      merchantSerialNo: info.merchant.serialNo,
      privateKeyPath: info.merchant.privateKeyPath,
      apiV3Key: info.merchant.apiV3Key,
      platformKeys: [
        { id: info.platform.publicKeyId, path: info.platform.publicKeyPath },
        { id: info.platform.certSerial, path: info.platform.certPath },
      ],
      notifyUrl,
      ...(refundNotifyUrl ? { refundNotifyUrl } : {}),
    },
  };
}

function readUserConfig(configPath: string | undefined): Partial<WedaWxpayConfig> | undefined {
  if (!configPath) return undefined;
  if (!fs.existsSync(configPath)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: not valid JSON (${(err as Error).message})` });
  }
}

/** Seeds a few goods once per environment, so the console has something to buy. */
async function seedGoods(weda: WedaSdk, resolved: ResolvedConfig): Promise<void> {
  const existing = await weda.callModel({ name: resolved.orders.goodsModel, methodName: 'wedaGetRecordsV2', params: { pageSize: 1, getCount: true }, envType: resolved.orders.envType });
  if (Number(existing?.total ?? existing?.records?.length ?? 0) > 0) return;
  for (const goods of SEED_GOODS) {
    await weda.callModel({ name: resolved.orders.goodsModel, methodName: 'wedaCreateV2', params: { data: goods }, envType: resolved.orders.envType });
  }
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) { res.destroy(); return; }
  if (err instanceof PayError) {
    return sendJson(res, httpStatusFor(err.code), err.toJSON());
  }
  if (err instanceof WedaModelError) return sendJson(res, 400, { code: err.code, message: err.message, requestId: err.requestId });
  const status = (err as { statusCode?: number }).statusCode ?? 500;
  sendJson(res, status, { code: status === 500 ? 'SYSTEM_ERROR' : 'INVALID_REQUEST', message: (err as Error).message });
}
