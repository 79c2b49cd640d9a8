/**
 * The day's bill against the data models (peers.md §3.8), at any size, in bounded memory:
 *
 * 1. The orders paid that day (by `paidAt`, which is WeChat Pay's success_time) and the refunds made that day are
 *    loaded into two compact indexes (number → amount, status): ~50 bytes per order.
 * 2. The bill is read as a stream, a row at a time. A row whose order (refund) is in the index is compared on the
 *    spot — the bill's bytes are looked up as they are, nothing is allocated; the others are collected and looked up
 *    200 at a time by number (`$in`) while the download waits.
 * 3. What the index holds and the bill never named is missing from the bill.
 * 4. With `fix` (--apply), and only once the whole bill has been read and checked — its SHA-1 (v3), its summary
 *    against its rows — the safe fixes go through `fix`, which is the callbacks' own compare-and-set updates
 *    (applyPaymentSuccess / applyRefundOutcome); the rest is listed for a person.
 *
 * Amounts are fen throughout, read from the bill's digits (wxpay/bill-stream.ts).
 */
import { BillRow, BillCheck, BillLayout, BillSink, isPayError, MalformedBillLine, toChinaDateTime } from '../wxpay';
import { canMoveRefund, type RefundRowStatus } from '../datasources/order-status';
import { KeyIndex } from './key-index';
import { BillLedger, LEDGER_PAGE_SIZE } from './ledger';
import { BillReconcileReport, MismatchItem, MismatchKind } from './report';

/** A payment as the bill states it, to be recorded by the pay-notify rules. */
export interface BillPayment {
  outTradeNo: string;
  transactionId: string;
  /** 订单金额, fen. */
  totalFee: number;
  /** 交易时间 (China time) in ms. */
  paidAt: number;
}

/** A refund as the bill states it, to be recorded by the refund-notify rules. */
export interface BillRefund {
  outTradeNo: string;
  outRefundNo: string;
  refundId?: string;
  refundFee: number;
  status: RefundRowStatus;
}

/** The callbacks' updates, wrapped: each answers the outcome's kind (`paid`, `duplicate`, `refunded`, …). */
export interface BillFixer {
  payment(p: BillPayment): Promise<string>;
  refund(r: BillRefund): Promise<string>;
}

/** A bill read row by row: the stream parser over the downloaded bytes, or pages rebuilt into the same lines. */
export type BillReader = (sink: BillSink, afterChunk: () => Promise<void>) => Promise<BillCheck>;

export interface ProgressSink {
  phase(name: string, total?: number): void;
  advance(n: number): void;
  done(): void;
}

export interface ReconcileBillOptions {
  /** yyyy-MM-dd, China time. */
  billDate: string;
  /** `v3`, `cloudpay`, `dev`: said in the report. */
  source: string;
  read: BillReader;
  ledger: BillLedger;
  /** Applies the safe fixes; without it they are only listed (`fixable`). */
  fix?: BillFixer;
  progress?: ProgressSink;
  /** Items listed per kind (the rest are counted), default 1000. */
  maxItems?: number;
  /** Fixes applied per run, default 50 000; beyond, a run after this one takes the rest. */
  maxFixes?: number;
}

/** Outcomes of the callbacks' updates that mean "the models now agree with the bill". */
const SETTLED = new Set(['paid', 'duplicate', 'refunded', 'partly-refunded', 'reverted', 'recorded', 'pending']);

const REFUND_STATUS_CODES: readonly RefundRowStatus[] = ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'];
const refundCode = (s: RefundRowStatus): number => REFUND_STATUS_CODES.indexOf(s) + 1;
const refundStatusOf = (code: number): RefundRowStatus => REFUND_STATUS_CODES[code - 1]!;

/** Refund statuses as bills write them (v3 names; v2 REFUNDCLOSE / CHANGE, wxpay-v3.md §7). */
function billRefundStatus(text: string): RefundRowStatus | undefined {
  if (text === 'SUCCESS' || text === 'PROCESSING' || text === 'CLOSED' || text === 'ABNORMAL') return text;
  if (text === 'REFUNDCLOSE') return 'CLOSED';
  if (text === 'CHANGE') return 'ABNORMAL';
  return undefined;
}

/**
 * Whether WeChat Pay itself moves a refund from `from` to `to` (wxpay-v3.md §1.4: PROCESSING ends SUCCESS, CLOSED or
 * ABNORMAL; ABNORMAL is then resolved SUCCESS or CLOSED): a record that far on is a refund the bill froze earlier.
 */
function wechatMoves(from: RefundRowStatus, to: RefundRowStatus): boolean {
  if (from === 'PROCESSING') return to !== 'PROCESSING';
  return from === 'ABNORMAL' && (to === 'SUCCESS' || to === 'CLOSED');
}

/** "2024-08-05 10:00:00" (China time) → ms. */
function chinaTimeMs(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}+08:00`);
}

/** What an answer of NO_STATEMENT_EXIST reads as: a bill without rows. */
const NO_BILL: BillCheck = { columns: [], rows: 0, malformed: 0, summaryColumns: [], summary: {}, computed: {}, problems: [], complete: true, bytes: 0 };

const SUCCESS_BYTES = Buffer.from('SUCCESS');
const REFUND_BYTES = Buffer.from('REFUND');

function fieldIs(row: BillRow, i: number, word: Buffer): boolean {
  const s = row.start(i);
  if (row.end(i) - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (row.buffer[s + k] !== word[k]) return false;
  return true;
}

interface Columns {
  time: number; transactionId: number; outTradeNo: number; tradeState: number; totalFee: number;
  refundId: number; outRefundNo: number; refundFee: number; refundStatus: number;
}

export async function reconcileBill(o: ReconcileBillOptions): Promise<BillReconcileReport> {
  const started = Date.now();
  const maxItems = o.maxItems ?? 1000;
  const maxFixes = o.maxFixes ?? 50_000;
  const progress = o.progress;
  const from = Date.parse(`${o.billDate}T00:00:00+08:00`);
  const to = from + 86_400_000;
  if (!Number.isFinite(from)) throw new Error(`billDate must be yyyy-MM-dd (got ${o.billDate})`);

  const report: BillReconcileReport = {
    billDate: o.billDate, source: o.source,
    bill: { exists: true, rows: 0, payments: 0, refunds: 0, other: 0, malformed: 0, bytes: 0, summary: {}, problems: [], complete: true },
    local: { paidOrders: 0, refunds: 0 }, matched: { payments: 0, refunds: 0 },
    counts: {}, fixed: 0, needsHuman: 0, applied: false, items: [], omitted: {}, durationMs: 0,
  };
  const listed = new Map<MismatchKind, number>();
  const fixes: Array<{ item: MismatchItem; payment?: BillPayment; refund?: BillRefund }> = [];
  /** Counts the item, keeps its fix, lists it while its kind has room; answers whether it is listed. */
  const add = (item: MismatchItem, fix?: { payment?: BillPayment; refund?: BillRefund }): boolean => {
    report.counts[item.kind] = (report.counts[item.kind] ?? 0) + 1;
    if (fix) {
      if (fixes.length < maxFixes) fixes.push({ item, ...fix });
      else { item.action = 'human'; item.note = `more than ${maxFixes} fixes in one run: run again for the rest`; }
    }
    const n = listed.get(item.kind) ?? 0;
    if (n < maxItems) {
      listed.set(item.kind, n + 1);
      report.items.push(item);
      return true;
    }
    // Unlisted fixes are still applied (their items stay reachable through `fixes`).
    report.omitted[item.kind] = (report.omitted[item.kind] ?? 0) + 1;
    return false;
  };

  // 1. The day in the data models.
  const orders = new KeyIndex(1 << 14);
  // Counted only for someone watching (a count is one more pass over the day's orders).
  progress?.phase('orders paid that day', await o.ledger.countPaidOrders(from, to));
  for await (const page of o.ledger.paidOrders(from, to)) {
    for (const order of page) orders.add(order.orderNo, order.amount, order.status);
    progress?.advance(page.length);
  }
  report.local.paidOrders = orders.size;
  const refunds = new KeyIndex(1 << 10);
  progress?.phase('refunds made that day');
  for await (const page of o.ledger.refundsCreated(from, to)) {
    // Only refunds WeChat Pay accepted (it gave them a refundId) are in its bill.
    for (const r of page) {
      if (!r.refundId) continue;
      refunds.add(r.refundNo, r.amount, refundCode(r.status));
    }
    progress?.advance(page.length);
  }
  report.local.refunds = refunds.size;

  // 2. The bill, a row at a time.
  let cols: Columns | undefined;
  const pendingPayments: Array<BillPayment & { line: number }> = [];
  const pendingRefunds: Array<BillRefund & { line: number }> = [];
  progress?.phase('bill rows', orders.size + refunds.size);

  const comparePayment = (row: BillRow, c: Columns): void => {
    report.bill.payments++;
    const e = orders.lookup(row.buffer, row.start(c.outTradeNo), row.end(c.outTradeNo));
    const totalFee = row.amount(c.totalFee);
    if (e < 0) {
      pendingPayments.push({ outTradeNo: row.text(c.outTradeNo), transactionId: row.text(c.transactionId), totalFee, paidAt: chinaTimeMs(row.text(c.time)), line: row.line });
      return;
    }
    orders.seen[e] = 1;
    if (orders.amount[e] !== totalFee) {
      add({ kind: 'amount-mismatch', outTradeNo: orders.key(e), line: row.line, bill: { amount: totalFee, transactionId: row.text(c.transactionId) }, local: { amount: orders.amount[e]!, status: orders.status[e]! }, action: 'human' });
    } else {
      report.matched.payments++;
    }
  };

  const compareRefund = (row: BillRow, c: Columns): void => {
    report.bill.refunds++;
    const statusText = row.text(c.refundStatus);
    const status = billRefundStatus(statusText);
    const refundFee = row.amount(c.refundFee);
    const e = refunds.lookup(row.buffer, row.start(c.outRefundNo), row.end(c.outRefundNo));
    const facts: BillRefund & { line: number } = {
      outTradeNo: row.text(c.outTradeNo), outRefundNo: row.text(c.outRefundNo), refundFee, status: status ?? 'PROCESSING', line: row.line,
      ...(c.refundId >= 0 && row.end(c.refundId) > row.start(c.refundId) ? { refundId: row.text(c.refundId) } : {}),
    };
    if (!status) {
      add({ kind: 'refund-status-mismatch', outTradeNo: facts.outTradeNo, outRefundNo: facts.outRefundNo, line: row.line, bill: { amount: refundFee, status: statusText }, action: 'human', note: 'a refund status the bill should not have' });
      if (e >= 0) refunds.seen[e] = 1;
      return;
    }
    if (e < 0) {
      pendingRefunds.push(facts);
      return;
    }
    refunds.seen[e] = 1;
    compareRefundRecord(facts, { amount: refunds.amount[e]!, status: refundStatusOf(refunds.status[e]!) });
  };

  /** A bill refund row against its record. The bill's status is frozen when the bill is made: a record further on is fine. */
  const compareRefundRecord = (bill: BillRefund & { line: number }, local: { amount: number; status: RefundRowStatus }): void => {
    const ids = { outTradeNo: bill.outTradeNo, outRefundNo: bill.outRefundNo, line: bill.line };
    if (local.amount !== bill.refundFee) {
      add({ kind: 'refund-amount-mismatch', ...ids, bill: { amount: bill.refundFee, status: bill.status }, local, action: 'human' });
    } else if (local.status === bill.status || wechatMoves(bill.status, local.status)) {
      report.matched.refunds++;
    } else if (canMoveRefund(local.status, bill.status)) {
      add({ kind: 'refund-status-mismatch', ...ids, bill: { amount: bill.refundFee, status: bill.status }, local, action: 'fixable' }, { refund: stripLine(bill) });
    } else {
      add({ kind: 'refund-status-mismatch', ...ids, bill: { amount: bill.refundFee, status: bill.status }, local, action: 'human', note: 'the record and the bill disagree on how the refund ended' });
    }
  };

  /** Looks the collected rows up, a full page at a time while the bill streams (`all` at its end). */
  const flushPayments = async (all: boolean): Promise<void> => {
    while (pendingPayments.length >= (all ? 1 : LEDGER_PAGE_SIZE)) {
      const batch = pendingPayments.splice(0, LEDGER_PAGE_SIZE);
      const found = new Map((await o.ledger.ordersByNo([...new Set(batch.map((p) => p.outTradeNo))])).map((x) => [x.orderNo, x]));
      for (const p of batch) {
        const order = found.get(p.outTradeNo);
        const ids = { outTradeNo: p.outTradeNo, line: p.line };
        const bill = { amount: p.totalFee, transactionId: p.transactionId, time: toChinaDateTime(p.paidAt) };
        if (!order) add({ kind: 'unknown-order', ...ids, bill, action: 'human' });
        else if (order.amount !== p.totalFee) add({ kind: 'amount-mismatch', ...ids, bill, local: { amount: order.amount, status: order.status }, action: 'human' });
        else if (order.status === 1) add({ kind: 'paid-not-recorded', ...ids, bill, local: { amount: order.amount, status: order.status }, action: 'fixable' }, { payment: stripLine(p) });
        else report.matched.payments++; // paid here too, on another day by its paidAt
      }
    }
  };

  const flushRefunds = async (all: boolean): Promise<void> => {
    while (pendingRefunds.length >= (all ? 1 : LEDGER_PAGE_SIZE)) {
      const batch = pendingRefunds.splice(0, LEDGER_PAGE_SIZE);
      const found = new Map((await o.ledger.refundsByNo([...new Set(batch.map((r) => r.outRefundNo))])).map((x) => [x.refundNo, x]));
      for (const r of batch) {
        const record = found.get(r.outRefundNo);
        if (!record) add({ kind: 'refund-not-recorded', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, line: r.line, bill: { amount: r.refundFee, status: r.status }, action: 'fixable' }, { refund: stripLine(r) });
        else compareRefundRecord(r, { amount: record.amount, status: record.status });
      }
    }
  };

  let sinceProgress = 0;
  const check = await o.read({
    header: (layout: BillLayout) => {
      const at = (name: string, required = true): number => {
        const i = layout.indexOf(name);
        if (i < 0 && required) throw new Error(`the bill has no ${name} column (columns: ${layout.columns.join(',')})`);
        return i;
      };
      cols = {
        time: at('交易时间'), transactionId: at('微信订单号'), outTradeNo: at('商户订单号'), tradeState: at('交易状态'), totalFee: at('订单金额'),
        refundId: at('微信退款单号', false), outRefundNo: at('商户退款单号', false), refundFee: at('退款金额', false), refundStatus: at('退款状态', false),
      };
    },
    row: (row: BillRow) => {
      const c = cols!;
      sinceProgress++;
      if (fieldIs(row, c.tradeState, SUCCESS_BYTES)) comparePayment(row, c);
      else if (fieldIs(row, c.tradeState, REFUND_BYTES) && c.outRefundNo >= 0) compareRefund(row, c);
      else report.bill.other++;
    },
    malformed: (m: MalformedBillLine) => {
      add({ kind: 'malformed-row', line: m.line, action: 'human', note: `${m.reason}: ${m.text}` });
    },
  }, async () => {
    await flushPayments(false);
    await flushRefunds(false);
    if (sinceProgress) { progress?.advance(sinceProgress); sinceProgress = 0; }
  }).catch((err: unknown) => {
    // No trades that day at WeChat Pay (wxpay-v3.md §1.6): an empty bill, so whatever was paid here is missing from it.
    if (!isPayError(err, 'NO_STATEMENT_EXIST')) throw err;
    report.bill.exists = false;
    return NO_BILL;
  });
  await flushPayments(true);
  await flushRefunds(true);
  Object.assign(report.bill, { rows: check.rows, malformed: check.malformed, bytes: check.bytes, summary: check.summary, problems: check.problems, complete: check.complete });

  // 3. Paid here, not in the bill.
  for (let e = 0; e < orders.size; e++) {
    if (!orders.seen[e]) add({ kind: 'missing-from-bill', outTradeNo: orders.key(e), local: { amount: orders.amount[e]!, status: orders.status[e]! }, action: 'human' });
  }
  const missingRefunds: MismatchItem[] = [];
  for (let e = 0; e < refunds.size; e++) {
    if (refunds.seen[e]) continue;
    const item: MismatchItem = { kind: 'refund-missing-from-bill', outRefundNo: refunds.key(e), local: { amount: refunds.amount[e]!, status: refundStatusOf(refunds.status[e]!) }, action: 'human' };
    if (add(item)) missingRefunds.push(item);
  }
  // Their orders, for the listed ones (the index keeps only what the comparison needs).
  for (let i = 0; i < missingRefunds.length; i += LEDGER_PAGE_SIZE) {
    const batch = missingRefunds.slice(i, i + LEDGER_PAGE_SIZE);
    const found = new Map((await o.ledger.refundsByNo(batch.map((x) => x.outRefundNo!))).map((x) => [x.refundNo, x.orderNo]));
    for (const item of batch) {
      const orderNo = found.get(item.outRefundNo!);
      if (orderNo) item.outTradeNo = orderNo;
    }
  }

  // 4. The fixes, once the bill has proved whole.
  if (o.fix && fixes.length) {
    if (check.problems.length) {
      report.applyBlocked = `the bill's summary does not add up to its rows (${check.problems.join('; ')}): nothing is changed on its word`;
    } else {
      report.applied = true;
      progress?.phase('fixes', fixes.length);
      // Payments first: a refund of an order this run marks paid then finds it paid.
      for (const f of [...fixes.filter((x) => x.payment), ...fixes.filter((x) => x.refund)]) {
        try {
          f.item.outcome = f.payment ? await o.fix.payment(f.payment) : await o.fix.refund(f.refund!);
          f.item.action = SETTLED.has(f.item.outcome) ? 'fixed' : 'human';
        } catch (err) {
          f.item.action = 'human';
          f.item.note = `the fix failed: ${(err as Error).message}`;
        }
        progress?.advance(1);
      }
    }
  } else if (o.fix) {
    report.applied = true;
  }
  report.fixed = fixes.filter((f) => f.item.action === 'fixed').length;
  report.needsHuman = Object.values(report.counts).reduce((s, n) => s + (n ?? 0), 0) - fixes.filter((f) => f.item.action !== 'human').length;
  progress?.done();
  report.durationMs = Date.now() - started;
  return report;
}

function stripLine<T extends { line: number }>(x: T): Omit<T, 'line'> {
  const { line: _line, ...rest } = x;
  return rest;
}
