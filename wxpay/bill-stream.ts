import { PayError } from './errors';

/**
 * The trade bill read as a stream (wxpay-v3.md §1.7, wxpay-v2-cloudpay.md §4): bytes in, one row at a time out,
 * so a bill of any size is read in constant memory. The format: an optional UTF-8 BOM; CRLF or LF line ends; a
 * header line (column names, no backticks); data lines whose every field starts with a backtick; the summary
 * header (`总交易单数,…`) and one summary line. Which columns exist depends on the bill type (ALL / SUCCESS /
 * REFUND, WxJava #308 in peers.md §3.8), so columns are found by name in the header, never by position.
 *
 * Amounts are yuan with 2 decimals (the service fee 手续费 with 5): they are read as exact integers from their
 * digits — fen, or 10⁻⁵ yuan for fees — never through floating point. Every data row's amounts are added up and
 * the sums compared with the summary line (count and each total it has).
 *
 * A data line that cannot be read (wrong field count, an amount that is not one) is reported with its line
 * number through `malformed` and the rest is still read; what makes the whole file unreadable (no header, no
 * summary, an error body instead of a bill, a line longer than any bill line) throws BILL_FORMAT_ERROR.
 */

/** Data-row amount columns and their decimals (wxpay-v2-cloudpay.md §4: yuan with 2 decimals, the fee with 5). */
export const BILL_AMOUNT_SCALES: Readonly<Record<string, number>> = {
  应结订单金额: 2, 代金券金额: 2, 退款金额: 2, 充值券退款金额: 2, 手续费: 5, 订单金额: 2, 申请退款金额: 2,
};

/** Each summary total and the data-row column it adds up (总交易单数 counts the rows). */
export const BILL_SUMMARY_SOURCES: Readonly<Record<string, string>> = {
  应结订单总金额: '应结订单金额', 退款总金额: '退款金额', 充值券退款总金额: '充值券退款金额', 手续费总金额: '手续费',
  订单总金额: '订单金额', 申请退款总金额: '申请退款金额',
};

export const BILL_COUNT_COLUMN = '总交易单数';

/** Longer than any bill line (≈ 300 bytes): a file without line breaks is not a bill, and is not buffered whole. */
export const MAX_BILL_LINE_BYTES = 64 * 1024;

/** The data columns of this bill, as its header names them. */
export interface BillLayout {
  readonly columns: readonly string[];
  /** A column's index by its header name, or -1 when this bill type has no such column. */
  indexOf(name: string): number;
}

/**
 * One data row, valid only during the `row` callback (the bytes are the parser's): read what you need then.
 * Field values have their backtick removed.
 */
export interface BillRow {
  /** 1-based line number in the file (the header is line 1). */
  readonly line: number;
  /** The bytes of the current line; field `i` is `buffer[start(i), end(i))`. */
  readonly buffer: Buffer;
  start(i: number): number;
  end(i: number): number;
  text(i: number): string;
  /** Field `i` as an exact integer in 10^-scale yuan (scale 2 = fen); an empty field is 0. */
  amount(i: number, scale?: number): number;
}

export interface MalformedBillLine {
  line: number;
  reason: string;
  /** The line as read, clipped to 200 characters. */
  text: string;
}

export interface BillSink {
  header?(layout: BillLayout): void;
  row(row: BillRow): void;
  malformed?(m: MalformedBillLine): void;
}

/** What the whole file said once read: the summary line and how it compares with the rows. */
export interface BillCheck {
  columns: string[];
  /** Data rows read. */
  rows: number;
  /** Data rows that could not be read (each reported to `malformed`). */
  malformed: number;
  summaryColumns: string[];
  summary: Record<string, string>;
  /** Per summary column, what the rows add up to, in the column's units (count; fen; 10⁻⁵ yuan for fees). */
  computed: Record<string, number>;
  /** Summary figures that differ from the rows, each in words; empty when the bill adds up. */
  problems: string[];
  /** Whether every total could be checked: false when rows could not be read (their amounts are unknown). */
  complete: boolean;
  /** Bytes read (uncompressed). */
  bytes: number;
}

const NL = 10;
const CR = 13;
const COMMA = 44;
const TICK = 96;
const MINUS = 45;
const DOT = 46;
const EMPTY = Buffer.alloc(0);
/**
 * NaN as a module constant: the per-byte code below reads no globals (NaN, Math, Number), which cost a lookup on
 * every use wherever the global object is intercepted (vm contexts, e.g. under jest: ten times slower).
 */
const NOT_A_NUMBER = 0 / 0;
const SUMMARY_PREFIX = Buffer.from(BILL_COUNT_COLUMN, 'utf8');

/**
 * An exact decimal read from bytes, in 10^-scale units: optional `-`, digits, optional `.` and at most `scale`
 * decimals. NaN for anything else. Integer arithmetic on the digits only (at most 15 of them: exact in a double).
 */
export function decimalUnitsOf(b: Uint8Array, start: number, end: number, scale: number): number {
  let i = start;
  let negative = false;
  if (i < end && b[i] === MINUS) { negative = true; i++; }
  let value = 0;
  let digits = 0;
  let decimals = -1;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) {
      if (decimals >= 0 && ++decimals > scale) return NOT_A_NUMBER;
      value = value * 10 + (c - 48);
      if (++digits > 15) return NOT_A_NUMBER;
    } else if (c === DOT && decimals < 0 && digits > 0) {
      decimals = 0;
    } else {
      return NOT_A_NUMBER;
    }
  }
  if (digits === 0 || decimals === 0) return NOT_A_NUMBER;
  for (let d = decimals < 0 ? 0 : decimals; d < scale; d++) value *= 10;
  return negative ? -value : value;
}

/** {@link decimalUnitsOf} on text: "12.34" at scale 2 → 1234. */
export function decimalUnits(text: string, scale: number): number {
  const b = Buffer.from(text, 'utf8');
  return decimalUnitsOf(b, 0, b.length, scale);
}

/** The count of 总交易单数, written `45` or `45.0` (wxpay-v2-cloudpay.md §4, a sandbox quirk). */
function countOf(text: string): number {
  const tenths = decimalUnits(text, 1);
  return Number.isInteger(tenths) && tenths % 10 === 0 ? tenths / 10 : NaN;
}

function formatError(message: string): PayError {
  return new PayError({ code: 'BILL_FORMAT_ERROR', message, retryable: false });
}

const clip = (s: string): string => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

type State = 'header' | 'rows' | 'summary' | 'done';

/** Push-based: `push(chunk)` any number of times, then `finish()`. Rows go to the sink synchronously. */
export class BillStreamParser implements BillRow {
  line = 0;
  buffer: Buffer = EMPTY;
  private state: State = 'header';
  private carry: Buffer | null = null;
  private bytes = 0;
  private columns: string[] = [];
  private index = new Map<string, number>();
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  /** Data-row amount columns: index, scale, running sum. */
  private amounts: Array<{ name: string; index: number; scale: number; sum: number }> = [];
  private rowAmounts = new Float64Array(0);
  private rows = 0;
  private malformedRows = 0;
  private summaryColumns: string[] = [];
  private summary: Record<string, string> = {};

  constructor(private readonly sink: BillSink) {}

  start(i: number): number { return this.starts[i]!; }
  end(i: number): number { return this.ends[i]!; }
  text(i: number): string { return this.buffer.toString('utf8', this.starts[i]!, this.ends[i]!); }
  amount(i: number, scale = 2): number {
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    return s === e ? 0 : decimalUnitsOf(this.buffer, s, e, scale);
  }

  push(chunk: Uint8Array): void {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.bytes += b.length;
    let pos = 0;
    if (this.carry) {
      const nl = b.indexOf(NL);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, b]);
        this.checkLineLength(this.carry.length);
        return;
      }
      const joined = Buffer.concat([this.carry, b.subarray(0, nl)]);
      this.carry = null;
      this.checkLineLength(joined.length);
      this.onLine(joined, 0, joined.length);
      pos = nl + 1;
    }
    for (let nl = b.indexOf(NL, pos); nl >= 0; nl = b.indexOf(NL, pos)) {
      this.onLine(b, pos, nl);
      pos = nl + 1;
    }
    if (pos < b.length) {
      this.checkLineLength(b.length - pos);
      // A copy: the source may reuse its chunk.
      this.carry = Buffer.from(b.subarray(pos));
    }
  }

  finish(): BillCheck {
    if (this.carry) {
      const last = this.carry;
      this.carry = null;
      this.onLine(last, 0, last.length);
    }
    if (this.state === 'header') throw formatError(this.bytes === 0 ? 'the bill is empty (0 bytes)' : 'the bill has no header line');
    if (this.state !== 'done') throw formatError(`the bill ends at line ${this.line} without its summary (${this.state === 'rows' ? 'no 总交易单数 line' : 'no summary line'}): truncated?`);
    return this.check();
  }

  private checkLineLength(n: number): void {
    if (n > MAX_BILL_LINE_BYTES) throw formatError(`bill line ${this.line + 1} is longer than ${MAX_BILL_LINE_BYTES} bytes: not a bill`);
  }

  private onLine(b: Buffer, s: number, e: number): void {
    this.line++;
    if (e > s && b[e - 1] === CR) e--;
    if (this.line === 1 && e - s >= 3 && b[s] === 0xef && b[s + 1] === 0xbb && b[s + 2] === 0xbf) s += 3;
    if (e === s) return; // blank lines carry nothing (a final CRLF, LF-only files)
    this.buffer = b;
    switch (this.state) {
      case 'header': return this.onHeader(b, s, e);
      case 'rows':
        if (b[s] !== TICK && startsWith(b, s, e, SUMMARY_PREFIX)) return this.onSummaryHeader(b, s, e);
        return this.onRow(b, s, e);
      case 'summary': return this.onSummary(b, s, e);
      case 'done': throw formatError(`bill line ${this.line} follows the summary line: ${clip(b.toString('utf8', s, e))}`);
    }
  }

  private onHeader(b: Buffer, s: number, e: number): void {
    const text = b.toString('utf8', s, e);
    // Errors come back as XML (v2) or JSON (v3) where the bill should be (wxpay-v2-cloudpay.md §4).
    if (text.startsWith('<') || text.startsWith('{')) throw formatError(`not a bill: the body starts with ${clip(text)}`);
    this.columns = text.split(',').map((c) => (c.startsWith('`') ? c.slice(1) : c).trim());
    if (!this.columns.includes('商户订单号') || !this.columns.includes('交易状态')) {
      throw formatError(`the bill header names no 商户订单号 / 交易状态 column: ${clip(text)}`);
    }
    this.columns.forEach((c, i) => this.index.set(c, i));
    if (this.columns.length > this.starts.length) {
      this.starts = new Int32Array(this.columns.length + 1);
      this.ends = new Int32Array(this.columns.length + 1);
    }
    this.amounts = this.columns.flatMap((name, index) => (name in BILL_AMOUNT_SCALES ? [{ name, index, scale: BILL_AMOUNT_SCALES[name]!, sum: 0 }] : []));
    this.rowAmounts = new Float64Array(this.amounts.length);
    this.state = 'rows';
    const index = this.index;
    this.sink.header?.({ columns: this.columns, indexOf: (name) => index.get(name) ?? -1 });
  }

  /** Splits a backticked line on ",`" (tenpay's rule: a comma inside free text does not split a field). */
  private split(b: Buffer, s: number, e: number): number {
    if (b[s] !== TICK) return -1;
    const max = this.starts.length;
    let n = 0;
    this.starts[0] = s + 1;
    for (let i = s + 1; i < e; i++) {
      if (b[i] === COMMA && b[i + 1] === TICK) {
        if (n + 1 >= max) return n + 2;
        this.ends[n] = i;
        this.starts[++n] = i + 2;
        i++;
      }
    }
    this.ends[n] = e;
    return n + 1;
  }

  private onRow(b: Buffer, s: number, e: number): void {
    const fields = this.split(b, s, e);
    if (fields !== this.columns.length) {
      const why = fields < 0 ? 'does not start with a backtick' : `has ${fields} fields, the header has ${this.columns.length}`;
      return this.malformed(b, s, e, `bill line ${this.line} ${why}`);
    }
    const amounts = this.amounts;
    for (let k = 0; k < amounts.length; k++) {
      const a = amounts[k]!;
      const v = this.amount(a.index, a.scale);
      if (v !== v) return this.malformed(b, s, e, `bill line ${this.line}: ${a.name} is not an amount ("${this.text(a.index)}")`);
      this.rowAmounts[k] = v;
    }
    for (let k = 0; k < amounts.length; k++) amounts[k]!.sum += this.rowAmounts[k]!;
    this.rows++;
    this.sink.row(this);
  }

  private malformed(b: Buffer, s: number, e: number, reason: string): void {
    this.malformedRows++;
    if (!this.sink.malformed) throw formatError(reason);
    this.sink.malformed({ line: this.line, reason, text: clip(b.toString('utf8', s, e)) });
  }

  private onSummaryHeader(b: Buffer, s: number, e: number): void {
    this.summaryColumns = b.toString('utf8', s, e).split(',').map((c) => c.trim());
    this.state = 'summary';
  }

  private onSummary(b: Buffer, s: number, e: number): void {
    const fields = this.split(b, s, e);
    if (fields !== this.summaryColumns.length) {
      throw formatError(`bill summary line ${this.line} has ${fields < 0 ? 'no backticks' : `${fields} fields`}, its header has ${this.summaryColumns.length}`);
    }
    this.summaryColumns.forEach((c, i) => { this.summary[c] = this.text(i); });
    this.state = 'done';
  }

  private check(): BillCheck {
    const problems: string[] = [];
    const computed: Record<string, number> = {};
    const complete = this.malformedRows === 0;
    const countText = this.summary[BILL_COUNT_COLUMN];
    if (countText !== undefined) {
      const count = countOf(countText);
      computed[BILL_COUNT_COLUMN] = this.rows + this.malformedRows;
      if (count !== computed[BILL_COUNT_COLUMN]) problems.push(`${BILL_COUNT_COLUMN} is ${countText}, the bill has ${computed[BILL_COUNT_COLUMN]} data rows`);
    }
    for (const [total, source] of Object.entries(BILL_SUMMARY_SOURCES)) {
      const text = this.summary[total];
      const column = this.amounts.find((a) => a.name === source);
      if (text === undefined || !column) continue;
      computed[total] = column.sum;
      if (!complete) continue;
      const stated = text === '' ? 0 : decimalUnits(text, column.scale);
      if (stated !== column.sum) problems.push(`${total} is ${text}, the rows' ${source} add up to ${unitsText(column.sum, column.scale)}`);
    }
    return {
      columns: this.columns, rows: this.rows, malformed: this.malformedRows, summaryColumns: this.summaryColumns, summary: this.summary,
      computed, problems, complete, bytes: this.bytes,
    };
  }
}

/** 10^-scale units as decimal text: 1234 at scale 2 → "12.34". */
export function unitsText(units: number, scale: number): string {
  const sign = units < 0 ? '-' : '';
  const digits = String(Math.abs(units)).padStart(scale + 1, '0');
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

function startsWith(b: Buffer, s: number, e: number, prefix: Buffer): boolean {
  if (e - s < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[s + i] !== prefix[i]) return false;
  return true;
}

/** Source chunks are cut to this size, so a whole bill given as one Buffer still flows a piece at a time. */
const PIECE_BYTES = 1 << 20;

/**
 * Reads a bill from an async byte source (a download, a gunzip stream, a file) through a sink. `afterChunk` runs
 * after each piece has been parsed and is awaited before the next is read: the caller's asynchronous work (a
 * batch of lookups) holds the source back instead of piling up.
 */
export async function parseBillStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, sink: BillSink, opts: { afterChunk?: () => Promise<void> | void } = {}): Promise<BillCheck> {
  const parser = new BillStreamParser(sink);
  for await (const chunk of source) {
    for (let at = 0; at < chunk.byteLength; at += PIECE_BYTES) {
      parser.push(at === 0 && chunk.byteLength <= PIECE_BYTES ? chunk : chunk.subarray(at, at + PIECE_BYTES));
      if (opts.afterChunk) await opts.afterChunk();
    }
  }
  return parser.finish();
}
