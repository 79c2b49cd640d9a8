/**
 * The local WeChat Pay v3 sandbox (DESIGN.md "Sandbox (contract)"): a signed, stateful double of the v3 API
 * that standard SDKs cannot tell from the real thing. Uses `wxpay/` for the protocol, never `connector/`.
 *
 * In-process façades (the CloudPay emulation) reuse the same state through `RunningSandbox.core` /
 * `RunningSandbox.payments` and the domain functions exported below; they never go through HTTP.
 */
export type { SandboxOptions, SandboxReadyInfo, RunningSandbox } from './options';
export { WECHAT_RETRY_SCHEDULE_SECONDS, DEFAULT_REFUND_SETTLE_SECONDS } from './options';
export { startSandbox } from './server';

export type { SandboxCore, SandboxEvents, SandboxSettings } from './core';
export { SandboxError } from './errors';
export { Payments, PAY_RESULTS, effectiveExpiry, expiryOf } from './payments';
export type { PayResult } from './payments';
export type { JsapiPrepayRequest } from './prepay-validation';
export { canonicalJson, validateJsapiPrepay } from './prepay-validation';
export { transactionResource } from './transactions';
export type { TradeState, TransactionRow } from './transactions';
export {
  createRefund, getRefund, settleRefund, settleDueRefunds, refundResource, refundNotificationResource, validateRefundRequest,
  REFUND_OUTCOMES, MAX_REFUNDS_PER_ORDER,
} from './refunds';
export type { RefundInput, RefundOutcome, RefundRow, RefundStatus } from './refunds';
export { buildBill, tradeBill, requestTradeBill, downloadBillFile, checkBillDate, checkBillType, SANDBOX_BILL_TYPES } from './bills';
export type { StoredBill } from './bills';
