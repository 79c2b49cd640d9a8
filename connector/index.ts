/** The connector: manifest rows, validation, providers, configuration. Production code; never imports sandbox/. */
import { PayError } from '../wxpay';
import { ResolvedConfig } from './config';
import { PaymentProvider } from './providers/provider';
import { V3Provider } from './providers/v3';

export * from './manifest';
export * from './connector';
export * from './config';
export * from './validation';
export type { PaymentProvider } from './providers/provider';
export { V3Provider } from './providers/v3';

/** Picks the backend named by the configuration. `sandbox` is the v3 backend with its base URL on loopback. */
export function createProvider(resolved: ResolvedConfig, opts: { fetch?: typeof fetch } = {}): PaymentProvider {
  const { config } = resolved;
  if ((config.provider === 'v3' || config.provider === 'sandbox') && resolved.v3) {
    const v3 = resolved.v3;
    return new V3Provider({ ...v3, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  }
  throw new PayError({ code: 'CONFIG_ERROR', message: `provider "${config.provider}" is not available yet`, detail: { field: 'provider', issue: 'unsupported' } });
}
