/**
 * What a generated function needs besides its orders model: the configuration resolved once per function
 * instance (secrets read from environment variables), the connector (queryOrder / closeOrder / queryRefund),
 * the v3 notification verifier, the payer-message sender, and a log. Each piece is created on first use,
 * so a function only loads what its events need.
 *
 * On CloudBase, CloudPay and subscribe messages go through wx-server-sdk. A local host passes the same things
 * as `KitOverrides` (callbacks/local-host.ts), or a local run sets the switches `WEDA_WXPAY_STORE` (see
 * store-from-env.ts), `WEDA_WXPAY_CLOUDPAY_URL` (CloudPay calls go to `POST {url}/cloudpay/{api}`, the sandbox's
 * CloudPay surface) and `WEDA_WXPAY_MESSAGES_URL` (subscribe messages are POSTed to a recorder instead of sent).
 */
import { WechatpayVerifier } from '../../wxpay';
import { createConnector, createProvider, type CloudPayApi, type Connector } from '../../connector';
import { createHttpCloudPay } from '../../connector/providers/cloudpay-http';
import { configSettings, resolveConfig, type ConfigSettings, type ResolvedConfig } from '../../config';
import type { WedaWxpayConfig } from '../../schemas/types.generated';
import type { CallModelParams, WedaSdk } from '../../datasources/weda';
import { CallbackLog, jsonLineLog } from './answers';
import type { CallbackOptions } from './options';
import { httpMessageSender, payerNotifier, wxServerSdkMessageSender, type PayerNotifier, type SendSubscribeMessage } from './payer-message';
import { wedaFromEnv } from './store-from-env';

export interface FunctionSpec {
  /** The function's name (for logs). */
  name: string;
  /** The configuration as deployed: secrets only as environment variable names. */
  config: WedaWxpayConfig;
  callbacks?: CallbackOptions;
}

/** What the function's environment provides, when it is not CloudBase's (the local function host). */
export interface KitOverrides {
  /** The function's environment variables (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** `cloud.cloudPay` (default: over HTTP if WEDA_WXPAY_CLOUDPAY_URL is set, else wx-server-sdk's). */
  cloudPay?: CloudPayApi;
  /** The data models the connector's server methods use (default: the function's own, `wedaFromEnv`). */
  weda?: WedaSdk;
  /** `cloud.openapi.subscribeMessage.send` (default: WEDA_WXPAY_MESSAGES_URL if set, else wx-server-sdk's). */
  sendSubscribeMessage?: SendSubscribeMessage;
  /** Default: one JSON line per event on stdout (CloudBase keeps function logs). */
  log?: CallbackLog;
  /**
   * The business clock: order ages and the times the functions write (default Date.now). A local host passes the
   * sandbox's, so advancing the sandbox clock ages the orders too.
   */
  now?: () => number;
}

/** What a v3 notification is opened and checked with: made once per function instance. */
export interface V3Settings {
  readonly verifier: WechatpayVerifier;
  readonly apiV3Key: string;
  readonly mchid: string;
  readonly appid: string;
}

export class FunctionKit {
  readonly log: CallbackLog;
  private settingsOf?: ConfigSettings;
  private resolvedConfig?: ResolvedConfig;
  private connectorInstance?: Connector;
  private v3Settings?: V3Settings;
  private notifier?: PayerNotifier | null;

  readonly now: () => number;

  constructor(readonly spec: FunctionSpec, private readonly o: KitOverrides = {}) {
    this.log = o.log ?? jsonLineLog(spec.name);
    this.now = o.now ?? Date.now;
  }

  get env(): NodeJS.ProcessEnv {
    return this.o.env ?? process.env;
  }

  get options(): CallbackOptions {
    return this.spec.callbacks ?? {};
  }

  /** The configuration with its defaults, no key material read. */
  settings(): ConfigSettings {
    this.settingsOf ??= this.resolvedConfig ?? configSettings(this.spec.config);
    return this.settingsOf;
  }

  resolved(): ResolvedConfig {
    this.resolvedConfig ??= resolveConfig(this.spec.config, { baseDir: process.cwd(), env: this.env });
    return this.resolvedConfig;
  }

  connector(): Connector {
    if (!this.connectorInstance) {
      const resolved = this.resolved();
      const cloudPay = this.o.cloudPay ?? (this.env.WEDA_WXPAY_CLOUDPAY_URL ? createHttpCloudPay(this.env.WEDA_WXPAY_CLOUDPAY_URL) : undefined);
      const provider = createProvider(resolved, cloudPay ? { cloudPay } : {});
      // checkout / requestRefund / closeOrder read and write this function's data models (opened on first use).
      const weda = this.o.weda ?? { callModel: (p: CallModelParams) => wedaFromEnv(this.env).callModel(p) };
      this.connectorInstance = createConnector(provider, { retry: resolved.retry, models: { weda, binding: resolved.orders }, now: this.now });
    }
    return this.connectorInstance;
  }

  /** v3 only: the WeChat Pay public keys / platform certificates notifications are checked against. */
  v3(): V3Settings {
    if (this.v3Settings) return this.v3Settings;
    const v3 = this.resolved().v3;
    if (!v3) throw new Error(`provider "${this.spec.config.provider}" receives no v3 notifications (configure provider v3)`);
    this.v3Settings = { verifier: new WechatpayVerifier({ keys: v3.platformKeys }), apiV3Key: v3.apiV3Key, mchid: v3.mchid, appid: v3.appid };
    return this.v3Settings;
  }

  /** The configured merchant number, to ignore other merchants' CloudPay events. */
  subMchId(): string | undefined {
    return this.settings().merchantNo;
  }

  /** Undefined unless `callbacks.payerMessage` is configured. */
  notifyPayer(): PayerNotifier | undefined {
    if (this.notifier === undefined) {
      const s = this.options.payerMessage;
      if (!s) {
        this.notifier = null;
      } else {
        const send = this.o.sendSubscribeMessage
          ?? (this.env.WEDA_WXPAY_MESSAGES_URL ? httpMessageSender(this.env.WEDA_WXPAY_MESSAGES_URL) : wxServerSdkMessageSender());
        this.notifier = payerNotifier(s, send, this.spec.config.envType, this.log);
      }
    }
    return this.notifier ?? undefined;
  }

  confirmCloudPayEvents(): boolean {
    return this.options.confirmCloudPayEvents !== false;
  }

  checkCloudPaySource(): boolean {
    return this.options.checkCloudPaySource !== false;
  }
}
