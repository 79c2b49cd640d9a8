/** The `callbacks` section of the configuration (JSON Schema: schemas/deploy/callbacks.json). */
import type { PayerMessageSettings } from './payer-message';
import type { ReconcileSettings } from './reconcile';

export interface CallbackOptions {
  /** Ask queryOrder / queryRefund before a CloudPay event changes an order (default true). */
  confirmCloudPayEvents?: boolean;
  reconcile?: ReconcileSettings & { schedule?: string };
  payerMessage?: PayerMessageSettings;
  timeoutSeconds?: { payNotify?: number; refundNotify?: number; reconcile?: number; connector?: number };
  memorySize?: 128 | 256 | 512 | 1024 | 2048;
}

export const DEFAULT_RECONCILE_SCHEDULE = '0 */5 * * * * *';
