/**
 * The bill reconciliation's answer: counts, the bill's own check, and the rows that differ — each with what the
 * bill says, what the data models say, and whether it was fixed or needs a person — as JSON and as a table.
 */

/**
 * What can differ between the day's bill and the data models (peers.md §3.8: lost callbacks, refunds stuck in
 * PROCESSING, bills that do not parse):
 * - `paid-not-recorded`: paid at WeChat Pay, unpaid in the orders model (a lost payment callback) — fixable;
 * - `unknown-order`: in the bill, no such order;
 * - `missing-from-bill`: paid in the orders model that day, not in the bill;
 * - `amount-mismatch`: the bill's order amount is not the order's;
 * - `refund-not-recorded`: a refund in the bill the refunds model has no record of (made in the merchant
 *   console, or a lost callback) — fixable;
 * - `refund-status-mismatch`: the bill's refund status is further on than the record's (fixable), or contradicts it;
 * - `refund-amount-mismatch`: the bill's refund amount is not the record's;
 * - `refund-missing-from-bill`: a refund WeChat Pay accepted (it has a refundId) created that day, not in the bill;
 * - `malformed-row`: a bill line that could not be read (its line number is given; the rest was reconciled).
 */
export const MISMATCH_KINDS = [
  'paid-not-recorded', 'unknown-order', 'missing-from-bill', 'amount-mismatch',
  'refund-not-recorded', 'refund-status-mismatch', 'refund-amount-mismatch', 'refund-missing-from-bill',
  'malformed-row',
] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

export interface MismatchItem {
  kind: MismatchKind;
  outTradeNo?: string;
  outRefundNo?: string;
  /** The bill line (1-based; the header is line 1). */
  line?: number;
  /** What the bill says (amounts in fen). */
  bill?: { amount?: number; status?: string; transactionId?: string; time?: string };
  /** What the data models say. */
  local?: { amount?: number; status?: number | string };
  /** `fixed`: applied through the callbacks' own updates; `fixable`: would be, with --apply; `human`: for a person. */
  action: 'fixed' | 'fixable' | 'human';
  /** The callbacks' outcome when a fix was tried (e.g. `paid`, `refunded`, `amount-mismatch`). */
  outcome?: string;
  note?: string;
}

export interface BillReconcileReport {
  billDate: string;
  /** Where the bill came from: `v3` (SHA-1 checked), `cloudpay`, `dev` (the dev server's connector). */
  source: string;
  bill: {
    /** False when WeChat Pay has no bill for the day (NO_STATEMENT_EXIST: no trades), read as a bill without rows. */
    exists: boolean;
    rows: number;
    payments: number;
    refunds: number;
    /** Rows neither payment nor refund (交易状态 REVOKED …): counted, not compared. */
    other: number;
    malformed: number;
    bytes: number;
    summary: Record<string, string>;
    /** The summary against the rows: empty when the bill adds up. */
    problems: string[];
    /** False when rows could not be read, so the totals could not all be checked. */
    complete: boolean;
  };
  local: { paidOrders: number; refunds: number };
  matched: { payments: number; refunds: number };
  counts: Partial<Record<MismatchKind, number>>;
  fixed: number;
  needsHuman: number;
  /** Whether fixes were applied (--apply), or why not. */
  applied: boolean;
  applyBlocked?: string;
  items: MismatchItem[];
  /** Items counted but not listed, per kind (the list keeps `maxItems` of each). */
  omitted: Partial<Record<MismatchKind, number>>;
  durationMs: number;
}

/** The report as a readable table: a header of counts, then one line per listed item. */
export function reportTable(r: BillReconcileReport): string {
  const out: string[] = [];
  const verified = r.bill.problems.length === 0 ? (r.bill.complete ? 'adds up' : 'rows unreadable, totals not all checked') : 'DOES NOT ADD UP';
  if (!r.bill.exists) out.push(`Bill ${r.billDate} (${r.source}): none — WeChat Pay had no trades that day (NO_STATEMENT_EXIST)`);
  else out.push(`Bill ${r.billDate} (${r.source}): ${r.bill.rows} rows (${r.bill.payments} payments, ${r.bill.refunds} refunds${r.bill.other ? `, ${r.bill.other} other` : ''}${r.bill.malformed ? `, ${r.bill.malformed} unreadable` : ''}), summary ${verified}`);
  for (const p of r.bill.problems) out.push(`  ! ${p}`);
  out.push(`Local: ${r.local.paidOrders} orders paid that day, ${r.local.refunds} refunds made that day · matched ${r.matched.payments} payments, ${r.matched.refunds} refunds`);
  const kinds = MISMATCH_KINDS.filter((k) => r.counts[k]);
  out.push(kinds.length ? `Differences: ${kinds.map((k) => `${k} ${r.counts[k]}`).join(', ')} · fixed ${r.fixed} · needs a person ${r.needsHuman}` : 'Differences: none');
  if (r.applyBlocked) out.push(`Not applied: ${r.applyBlocked}`);
  if (r.items.length) {
    const rows = r.items.map((i) => [
      i.kind, i.outTradeNo ?? '', i.outRefundNo ?? '', i.line === undefined ? '' : String(i.line),
      describe(i.bill), describe(i.local), i.outcome ? `${i.action} (${i.outcome})` : i.action, i.note ?? '',
    ]);
    out.push('', ...table(['KIND', 'ORDER', 'REFUND', 'LINE', 'BILL', 'LOCAL', 'ACTION', 'NOTE'], rows));
  }
  const omitted = Object.entries(r.omitted).filter(([, n]) => n);
  if (omitted.length) out.push(`(not listed: ${omitted.map(([k, n]) => `${n} more ${k}`).join(', ')})`);
  return `${out.join('\n')}\n`;
}

function describe(side: MismatchItem['bill'] | MismatchItem['local']): string {
  if (!side) return '';
  return Object.entries(side).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(' ');
}

function table(head: string[], rows: string[][]): string[] {
  const width = head.map((h, c) => Math.min(40, Math.max(h.length, ...rows.map((r) => r[c]!.length))));
  const line = (cells: string[]) => cells.map((v, c) => (v.length > width[c]! ? `${v.slice(0, width[c]! - 1)}…` : v.padEnd(width[c]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}
