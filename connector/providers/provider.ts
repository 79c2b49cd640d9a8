import type {
  UnifiedOrderInput, UnifiedOrderOutput, QueryOrderInput, QueryOrderOutput, CloseOrderInput, CloseOrderOutput,
  RefundInput, RefundOutput, QueryRefundInput, QueryRefundOutput, DownloadBillInput, DownloadBillOutput,
} from '../../schemas/types.generated';
import type { BillSource } from '../bill';

/** Each provider method's input and output, as generated from its JSON Schemas (schemas/methods/). */
export interface ProviderMethodTypes {
  unifiedOrder: { input: UnifiedOrderInput; output: UnifiedOrderOutput };
  queryOrder: { input: QueryOrderInput; output: QueryOrderOutput };
  closeOrder: { input: CloseOrderInput; output: CloseOrderOutput };
  refund: { input: RefundInput; output: RefundOutput };
  queryRefund: { input: QueryRefundInput; output: QueryRefundOutput };
  downloadBill: { input: DownloadBillInput; output: DownloadBillOutput };
}

export type ProviderMethodName = keyof ProviderMethodTypes;

/** A mapped type, so that `provider[name](input)` type-checks for a generic `name` (see callProvider). */
export type ProviderMethods = {
  [N in ProviderMethodName]: (input: ProviderMethodTypes[N]['input']) => Promise<ProviderMethodTypes[N]['output']>;
};

/**
 * The one interface both backends implement (CloudPay and WeChat Pay APIv3). Inputs arrive validated
 * against the method's schema; outputs must match the method's output schema whichever backend runs. Besides the
 * manifest's methods, `openBill` hands a day's bill over as a byte stream (the bill reconciliation reads it whole).
 */
export interface PaymentProvider extends ProviderMethods, BillSource {
  readonly kind: 'v3' | 'cloudpay';
}

/** `provider[name](input)`, typed by the method name. */
export function callProvider<N extends ProviderMethodName>(provider: ProviderMethods, name: N, input: ProviderMethodTypes[N]['input']): Promise<ProviderMethodTypes[N]['output']> {
  return provider[name](input);
}
