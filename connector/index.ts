/** The connector: manifest rows, validation, providers, configuration. Production code; never imports sandbox/. */
import { PayError } from '../wxpay';
import type { ResolvedConfig } from '../config';
import { PaymentProvider } from './providers/provider';
import { V3Provider } from './providers/v3';
import { CloudPayApi, CloudPayProvider } from './providers/cloudpay';

export * from './manifest';
export * from './connector';
export type { PaymentProvider } from './providers/provider';
export { V3Provider } from './providers/v3';
export { CloudPayProvider } from './providers/cloudpay';
export type { CloudPayApi } from './providers/cloudpay';
export type { ModelsPort } from './server-methods';
export * from './errors';
export * from './export';
export * from './cloud-function';

/**
 * Picks the backend named by the configuration. `sandbox` is the v3 backend with its base URL on loopback.
 * `cloudpay` uses the injected `cloudPay` object (the sandbox's locally), else `wx-server-sdk`'s in a
 * CloudBase function.
 */
export function createProvider(resolved: ResolvedConfig, opts: { fetch?: typeof fetch; cloudPay?: CloudPayApi } = {}): PaymentProvider {
  const { config } = resolved;
  if ((config.provider === 'v3' || config.provider === 'sandbox') && resolved.v3) {
    return new V3Provider({ ...resolved.v3, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  }
  if (config.provider === 'cloudpay' && resolved.cloudpay) {
    return new CloudPayProvider({ ...resolved.cloudpay, cloudPay: opts.cloudPay ?? wxServerSdkCloudPay(resolved.cloudpay.envId) });
  }
  throw new PayError({ code: 'CONFIG_ERROR', message: `provider "${config.provider}" is missing its settings`, detail: { field: 'provider', issue: 'unsupported' } });
}

/** `cloud.cloudPay` of wx-server-sdk, loaded only where it exists (a CloudBase function that depends on it). */
function wxServerSdkCloudPay(envId: string): CloudPayApi {
  let cloud: { init(o: { env: string }): void; cloudPay: CloudPayApi };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cloud = require('wx-server-sdk');
  } catch {
    throw new PayError({ code: 'CONFIG_ERROR', message: 'provider "cloudpay" needs wx-server-sdk (add it to the connector function\'s dependencies) or an injected cloudPay object', detail: { field: 'provider', issue: 'wx-server-sdk missing' } });
  }
  cloud.init({ env: envId });
  return cloud.cloudPay;
}
