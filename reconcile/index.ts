/**
 * The bill reconciliation: the day's trade bill against the orders and refunds data models, streamed at any size.
 * Layer: above connector/ (it reads bills through the providers) and datasources/ (the models, by `callModel`);
 * below callbacks/ (whose runtime runs it in the reconcile function and hands it the callbacks' own updates as
 * `BillFixer`) and scripts/ (`weda-wxpay reconcile`).
 */
export { reconcileBill } from './compare';
export type { BillFixer, BillPayment, BillRefund, BillReader, ProgressSink, ReconcileBillOptions } from './compare';
export { modelLedger, LEDGER_PAGE_SIZE } from './ledger';
export type { BillLedger, LedgerOrder, LedgerRefund } from './ledger';
export { MISMATCH_KINDS, reportTable } from './report';
export type { BillReconcileReport, MismatchItem, MismatchKind } from './report';
export { openedBill, pagedBill, streamedBill } from './sources';
export { terminalProgress } from './progress';
