/**
 * The local WeChat Pay sandbox (DESIGN.md "Sandbox (contract)"): a signed, stateful double of the v3 API that
 * standard SDKs cannot tell from the real thing, with a CloudPay emulation on the same state. Uses `wxpay/` for the
 * protocol, never `connector/`. Layout and import directions: README.md.
 *
 * The public entry: start a sandbox, and the types of its options and ready line. The domain's rules and wire
 * objects are exported too, for tools that want to reason about the sandbox's answers without HTTP.
 */
export type { SandboxOptions, SandboxReadyInfo, RunningSandbox } from './http/options';
export { startSandbox } from './http/server';
export { WECHAT_RETRY_SCHEDULE_SECONDS, NOTIFY_TIMEOUT_MS } from './delivery/sender';
export { MAX_CLOCK_OFFSET_SECONDS } from './domain/clock';
export { DEFAULT_RETENTION } from './state/retention';
export type { RetentionLimits } from './state/retention';

export { SandboxError } from './domain/errors';
export type { SandboxEvents } from './domain/events';
export { Payments, PAY_RESULTS, NATIVE_PAYER_OPENID, effectiveExpiry, expiryOf } from './domain/payments';
export type { PayResult } from './domain/payments';
export type { JsapiPrepayRequest, NativePrepayRequest } from './domain/prepay-validation';
export { canonicalJson, validateJsapiPrepay, validateNativePrepay } from './domain/prepay-validation';
export { Refunds, validateRefundRequest, REFUND_OUTCOMES, MAX_REFUNDS_PER_ORDER, DEFAULT_REFUND_SETTLE_SECONDS } from './domain/refunds';
export type { RefundInput } from './domain/refunds';
export { Bills, checkBillType, SANDBOX_BILL_TYPES } from './domain/bills';
export { transactionResource, refundResource, refundNotificationResource } from './domain/resources';
export type { TradeState, TransactionRow } from './state/transactions';
export type { RefundOutcome, RefundRow, RefundStatus } from './state/refunds';
export type { StoredBill } from './state/bills';
export type { DeliveryChannel, DeliveryStatus } from './state/outbox';
