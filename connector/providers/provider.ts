import type {
  UnifiedOrderInput, UnifiedOrderOutput, QueryOrderInput, QueryOrderOutput, CloseOrderInput, CloseOrderOutput,
  RefundInput, RefundOutput, QueryRefundInput, QueryRefundOutput, DownloadBillInput, DownloadBillOutput,
} from '../../schemas/types.generated';

/**
 * The one interface both backends implement (CloudPay and WeChat Pay APIv3). Inputs arrive validated
 * against the method's schema; outputs must match the method's output schema whichever backend runs.
 */
export interface PaymentProvider {
  readonly kind: 'v3' | 'cloudpay';
  unifiedOrder(input: UnifiedOrderInput): Promise<UnifiedOrderOutput>;
  queryOrder(input: QueryOrderInput): Promise<QueryOrderOutput>;
  closeOrder(input: CloseOrderInput): Promise<CloseOrderOutput>;
  refund(input: RefundInput): Promise<RefundOutput>;
  queryRefund(input: QueryRefundInput): Promise<QueryRefundOutput>;
  downloadBill(input: DownloadBillInput): Promise<DownloadBillOutput>;
}
