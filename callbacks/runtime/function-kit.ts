/**
 * What a generated function needs besides its orders model: the configuration resolved once per function
 * instance (secrets read from environment variables), the connector (queryOrder / closeOrder / queryRefund),
 * the v3 notification verifier, the payer-message sender, and a log. Each piece is created on first use,
 * so a function only loads what its events need.
 *
 * Local switches (never set on CloudBase): `WEDA_WXPAY_STORE` (see store-from-env.ts),
 * `WEDA_WXPAY_CLOUDPAY_URL` (CloudPay calls go to the sandbox's `POST {url}/cloudpay/{api}` instead of
 * wx-server-sdk), `WEDA_WXPAY_MESSAGES_URL` (subscribe messages are POSTed to a recorder instead of sent).
 */
import { WechatpayVerifier } from '../../wxpay';
import { createConnector, createProvider, type CloudPayApi, type Connector } from '../../connector';
import { resolveConfig, type ResolvedConfig } from '../../config';
import type { WedaWxpayConfig } from '../../schemas/types.generated';
import type { CallModelParams } from '../../datasources/weda';
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

export interface KitOverrides {
  env?: NodeJS.ProcessEnv;
  /** An already resolved configuration (the dev server's, pointing at the sandbox). */
  resolved?: ResolvedConfig;
  /** An already built connector (the dev server's). */
  connector?: Connector;
  cloudPay?: CloudPayApi;
  fetch?: typeof fetch;
  sendSubscribeMessage?: SendSubscribeMessage;
  log?: CallbackLog;
  now?: () => number;
}

export class FunctionKit {
  readonly log: CallbackLog;
  private resolvedConfig?: ResolvedConfig;
  private connectorInstance?: Connector;
  private verifierInstance?: WechatpayVerifier;
  private notifier?: PayerNotifier | null;

  constructor(readonly spec: FunctionSpec, private readonly o: KitOverrides = {}) {
    this.log = o.log ?? jsonLineLog(spec.name);
  }

  get env(): NodeJS.ProcessEnv {
    return this.o.env ?? process.env;
  }

  get options(): CallbackOptions {
    return this.spec.callbacks ?? {};
  }

  get now(): () => number {
    return this.o.now ?? Date.now;
  }

  resolved(): ResolvedConfig {
    this.resolvedConfig ??= this.o.resolved ?? resolveConfig(this.spec.config, { baseDir: process.cwd(), env: this.env });
    return this.resolvedConfig;
  }

  connector(): Connector {
    if (!this.connectorInstance && this.o.connector) this.connectorInstance = this.o.connector;
    if (!this.connectorInstance) {
      const resolved = this.resolved();
      const cloudPay = this.o.cloudPay ?? (this.env.WEDA_WXPAY_CLOUDPAY_URL ? httpCloudPay(this.env.WEDA_WXPAY_CLOUDPAY_URL, this.o.fetch) : undefined);
      const provider = createProvider(resolved, { ...(this.o.fetch ? { fetch: this.o.fetch } : {}), ...(cloudPay ? { cloudPay } : {}) });
      // checkout / requestRefund read and write this function's data models (opened on first use).
      const weda = { callModel: (p: CallModelParams) => wedaFromEnv(this.env).callModel(p) };
      this.connectorInstance = createConnector(provider, { retry: resolved.retry, models: { weda, binding: resolved.orders } });
    }
    return this.connectorInstance;
  }

  /** v3 only: the WeChat Pay public keys / platform certificates notifications are checked against. */
  v3(): { verifier: WechatpayVerifier; apiV3Key: string; mchid: string; appid: string } {
    const v3 = this.resolved().v3;
    if (!v3) throw new Error(`provider "${this.spec.config.provider}" receives no v3 notifications (configure provider v3)`);
    this.verifierInstance ??= new WechatpayVerifier({ keys: v3.platformKeys });
    return { verifier: this.verifierInstance, apiV3Key: v3.apiV3Key, mchid: v3.mchid, appid: v3.appid };
  }

  /** The configured merchant number, to ignore other merchants' CloudPay events. */
  subMchId(): string | undefined {
    return this.spec.config.subMchId ?? this.spec.config.mchid;
  }

  /** Undefined unless `callbacks.payerMessage` is configured. */
  notifyPayer(): PayerNotifier | undefined {
    if (this.notifier === undefined) {
      const s = this.options.payerMessage;
      if (!s) {
        this.notifier = null;
      } else {
        const send = this.o.sendSubscribeMessage
          ?? (this.env.WEDA_WXPAY_MESSAGES_URL ? httpMessageSender(this.env.WEDA_WXPAY_MESSAGES_URL, this.o.fetch) : wxServerSdkMessageSender());
        this.notifier = payerNotifier(s, send, this.spec.config.envType, this.log);
      }
    }
    return this.notifier ?? undefined;
  }

  confirmCloudPayEvents(): boolean {
    return this.options.confirmCloudPayEvents !== false;
  }
}

/**
 * `cloud.cloudPay` over the sandbox's CloudPay emulation (`POST {baseUrl}/cloudpay/{api}`, answers shaped as
 * wx-server-sdk resolves them). Local runs only; production uses wx-server-sdk.
 */
export function httpCloudPay(baseUrl: string, fetchImpl: typeof fetch = fetch): CloudPayApi {
  const base = baseUrl.replace(/\/+$/, '');
  const call = (api: string) => async (params: Record<string, unknown>) => {
    const res = await fetchImpl(`${base}/cloudpay/${api}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(params ?? {}), signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`cloudPay.${api}:fail HTTP ${res.status} with a non-JSON answer`);
    }
    if (!res.ok || typeof body !== 'object' || body === null) {
      const b = (body ?? {}) as { errMsg?: string; message?: string };
      throw new Error(`cloudPay.${api}:fail ${b.errMsg ?? b.message ?? `HTTP ${res.status}`}`);
    }
    return body as Record<string, unknown>;
  };
  return {
    unifiedOrder: call('unifiedOrder'), queryOrder: call('queryOrder'), closeOrder: call('closeOrder'),
    refund: call('refund'), queryRefund: call('queryRefund'), downloadBill: call('downloadBill'),
  };
}
