import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BillRow, BILL_COUNT_COLUMN, BILL_HEADERS, BILL_SUMMARY_SOURCES, checkBillHash, decimalUnits, fenToYuan, parseBillStream, PayError, yuanToFen } from '../wxpay';
import type { DownloadBillInput, DownloadBillOutput } from '../schemas/types.generated';

/**
 * Bills as the connector hands them over. A provider opens a day's bill as a byte stream (`openBill`: v3 downloads
 * it, gzip, and checks its SHA-1 as the bytes pass; CloudPay answers it whole, asked gzip) and the rest reads it a
 * row at a time: `downloadBill` (one page of rows, the summary, the row count) and the bill reconciliation.
 *
 * Why pages: a cloud function's answer is limited (CloudBase docs: EXCEED_MAX_RESPONSE_SIZE, 1 MB; a synchronous
 * invocation's payload 6 MB) and a day can hold a million rows (~250 MB of text). So an answer holds at most
 * `limit` rows and never more than {@link BILL_PAGE_BUDGET_BYTES} of them; `nextOffset` says where the next page
 * starts. Each page reads the whole bill again — the summary and the hash are checked every time — and keeps only
 * its rows, so memory stays flat whatever the size.
 */

export type BillType = NonNullable<DownloadBillInput['billType']>;

export interface OpenBillRequest {
  /** yyyy-MM-dd. */
  billDate: string;
  billType: BillType;
}

/** What both providers implement besides the manifest methods: the bill's uncompressed bytes, integrity checked. */
export interface BillSource {
  openBill(req: OpenBillRequest): Promise<AsyncIterable<Buffer>>;
}

/** Rows in a page when `limit` is not given, and at most. */
export const DEFAULT_BILL_PAGE_ROWS = 500;
/** Bytes of JSON a page's rows may take: under CloudBase's 1 MB answer with room for the summary and the envelope. */
export const BILL_PAGE_BUDGET_BYTES = 900 * 1024;
/** `raw: true` is answered for bills up to this size (the text travels in the same answer). */
export const RAW_BILL_MAX_BYTES = 512 * 1024;

/**
 * Bill columns in the builder's words: camelCase keys, amounts in fen as integers (bills are in yuan,
 * wxpay-v3.md §1.7), backticks already stripped by the core parser. The service fee (手续费) has five
 * decimals — thousandths of a fen — so it stays the exact yuan text rather than a rounded number.
 */
const COLUMN_KEYS: Record<string, [string, 'text' | 'fen' | 'count']> = {
  交易时间: ['tradeTime', 'text'], 公众账号ID: ['appid', 'text'], 商户号: ['mchid', 'text'], 特约商户号: ['subMchid', 'text'],
  设备号: ['deviceInfo', 'text'], 微信订单号: ['transactionId', 'text'], 商户订单号: ['outTradeNo', 'text'], 用户标识: ['openid', 'text'],
  交易类型: ['tradeType', 'text'], 交易状态: ['tradeState', 'text'], 付款银行: ['bankType', 'text'], 货币种类: ['currency', 'text'],
  应结订单金额: ['settlementTotalFee', 'fen'], 代金券金额: ['couponFee', 'fen'], 退款申请时间: ['refundApplyTime', 'text'],
  退款成功时间: ['refundSuccessTime', 'text'], 微信退款单号: ['refundId', 'text'], 商户退款单号: ['outRefundNo', 'text'],
  退款金额: ['refundFee', 'fen'], 充值券退款金额: ['rechargeCouponRefundFee', 'fen'], 退款类型: ['refundType', 'text'],
  退款状态: ['refundStatus', 'text'], 商品名称: ['body', 'text'], 商户数据包: ['attach', 'text'], 手续费: ['serviceFeeYuan', 'text'],
  费率: ['rate', 'text'], 订单金额: ['totalFee', 'fen'], 申请退款金额: ['requestedRefundFee', 'fen'], 费率备注: ['rateRemark', 'text'],
  // summary
  [BILL_COUNT_COLUMN]: ['count', 'count'], 应结订单总金额: ['settlementTotalFee', 'fen'], 退款总金额: ['refundFee', 'fen'],
  充值券退款总金额: ['rechargeCouponRefundFee', 'fen'], 手续费总金额: ['serviceFeeYuan', 'text'], 订单总金额: ['totalFee', 'fen'],
  申请退款总金额: ['requestedRefundFee', 'fen'],
};

const columnKey = (column: string): [string, 'text' | 'fen' | 'count'] => COLUMN_KEYS[column] ?? [column, 'text'];

function convertSummary(row: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [column, value] of Object.entries(row)) {
    const [key, kind] = columnKey(column);
    if (kind === 'fen') out[key] = value === '' ? 0 : yuanToFen(value);
    else if (kind === 'count') out[key] = decimalUnits(value, 1) / 10;
    else out[key] = value;
  }
  return out;
}

/**
 * One page of a bill read from its bytes: rows `offset …` (at most `limit`, within the byte budget), the summary,
 * the row count. The whole bill is read, so a row that cannot be read or a summary that does not add up is a
 * BILL_FORMAT_ERROR whichever page is asked for.
 */
export async function billPage(bytes: AsyncIterable<Uint8Array>, input: DownloadBillInput & { billDate: string }): Promise<DownloadBillOutput> {
  const billType = input.billType ?? 'ALL';
  const offset = input.offset ?? 0;
  const limit = Math.min(input.limit ?? DEFAULT_BILL_PAGE_ROWS, DEFAULT_BILL_PAGE_ROWS * 2);
  const rows: Record<string, string | number>[] = [];
  let columns: Array<{ index: number; key: string; fen: boolean }> = [];
  let seen = 0;
  let budget = BILL_PAGE_BUDGET_BYTES;
  let nextOffset: number | undefined;
  const raw: Buffer[] = [];
  let rawBytes = 0;
  const source = input.raw ? keepRaw(bytes) : bytes;
  const check = await parseBillStream(source, {
    header: (layout) => {
      columns = layout.columns.map((name, index) => {
        const [key, kind] = columnKey(name);
        return { index, key, fen: kind === 'fen' };
      });
    },
    row: (row) => {
      const at = seen++;
      if (at < offset || nextOffset !== undefined) return;
      if (rows.length === limit) { nextOffset = at; return; }
      const out = rowObject(row, columns);
      const size = JSON.stringify(out).length + 1;
      if (size > budget) { nextOffset = at; return; }
      budget -= size;
      rows.push(out);
    },
  });
  if (check.problems.length) {
    throw new PayError({ code: 'BILL_FORMAT_ERROR', message: `the ${input.billDate} bill's summary does not add up to its rows: ${check.problems.join('; ')}`, retryable: false });
  }
  return {
    billDate: input.billDate,
    billType,
    rows,
    summary: convertSummary(check.summary),
    totalRows: check.rows,
    offset,
    ...(nextOffset !== undefined ? { nextOffset } : {}),
    ...(input.raw ? { raw: Buffer.concat(raw).toString('utf8') } : {}),
  };

  async function* keepRaw(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      rawBytes += chunk.byteLength;
      if (rawBytes > RAW_BILL_MAX_BYTES) {
        throw new PayError({ code: 'PARAM_ERROR', message: `raw: the ${input.billDate} bill is larger than ${RAW_BILL_MAX_BYTES} bytes, too large to answer whole; read its rows by page (offset, limit) without raw`, detail: { field: 'raw', issue: 'bill too large' } });
      }
      raw.push(Buffer.from(chunk));
      yield chunk;
    }
  }
}

function rowObject(row: BillRow, columns: ReadonlyArray<{ index: number; key: string; fen: boolean }>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const c of columns) out[c.key] = c.fen ? row.amount(c.index, 2) : row.text(c.index);
  return out;
}

const SUMMARY_COLUMNS = new Set([BILL_COUNT_COLUMN, ...Object.keys(BILL_SUMMARY_SOURCES)]);
/** camelCase key → header name, for data rows and for the summary (the two share some keys). */
const ROW_COLUMN_OF = new Map(Object.entries(COLUMN_KEYS).filter(([c]) => !SUMMARY_COLUMNS.has(c)).map(([c, [k]]) => [k, c]));
const SUMMARY_COLUMN_OF = new Map(Object.entries(COLUMN_KEYS).filter(([c]) => SUMMARY_COLUMNS.has(c)).map(([c, [k]]) => [k, c]));

/**
 * A page of {@link billPage} written back as bill lines (§1.7: backticks, yuan), so pages read from a connector
 * over HTTP go through the same stream parser as a download: the header (from the page's first row, else the bill
 * type's), the rows, and on the last page the summary.
 */
export function billLinesOfPage(page: DownloadBillOutput, part: { header: boolean; summary: boolean }): string {
  const lines: string[] = [];
  const yuanOr = (v: string | number, column: string): string => (typeof v === 'number' && columnKey(column)[1] === 'fen' ? fenToYuan(v) : String(v));
  if (part.header) lines.push(page.rows[0] ? Object.keys(page.rows[0]).map((k) => ROW_COLUMN_OF.get(k) ?? k).join(',') : BILL_HEADERS[page.billType].join(','));
  for (const row of page.rows) lines.push(`\`${Object.entries(row).map(([k, v]) => yuanOr(v, ROW_COLUMN_OF.get(k) ?? k)).join(',`')}`);
  if (part.summary) {
    const entries = Object.entries(page.summary).map(([k, v]) => [SUMMARY_COLUMN_OF.get(k) ?? k, v] as const);
    lines.push(entries.map(([c]) => c).join(','), `\`${entries.map(([c, v]) => yuanOr(v, c)).join(',`')}`);
  }
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

/** yyyyMMdd or yyyy-MM-dd → yyyy-MM-dd. */
export function isoBillDate(billDate: string): string {
  const digits = billDate.replace(/-/g, '');
  return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
}

/** Decompresses a gzip byte stream as it is read (wxpay-v3.md §1.7: GZIP bills are hashed after decompression). */
export function gunzipStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterable<Buffer> {
  // pipeline: an error on either side, or the reader stopping early, ends both.
  return pipeline(Readable.from(source), createGunzip(), () => {});
}

/**
 * Passes the bytes on and checks their SHA-1 against `hash_value` once the last has passed (wxpay-v3.md §1.6–1.7):
 * a reader acts on what it read only after the stream ended without this throwing.
 */
export async function* sha1Checked(source: AsyncIterable<Uint8Array>, expectedHex: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha1');
  for await (const chunk of source) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    hash.update(b);
    yield b;
  }
  checkBillHash(hash.digest('hex'), expectedHex);
}

/** Whether bytes begin with the gzip magic number (1f 8b). */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Decompresses a bill answered gzip, passes one answered plain as it is: asked GZIP, an answer is gzip by the doc
 * (wxpay-v3.md §1.7), but garbled gzip bills are a known trap (WeiXinMPSDK #670, peers.md §3.8), so the bytes say.
 */
export function plainBill(source: AsyncIterable<Uint8Array>): AsyncIterable<Buffer> {
  return (async function* sniffed() {
    const it = source[Symbol.asyncIterator]();
    let first = await it.next();
    while (!first.done && first.value.byteLength === 0) first = await it.next();
    if (first.done) return;
    const head = first.value;
    async function* again(): AsyncGenerator<Uint8Array> {
      try {
        yield head;
        for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
      } finally {
        // A reader that stops early lets the download go.
        await it.return?.();
      }
    }
    if (isGzip(head)) yield* gunzipStream(again());
    else for await (const chunk of again()) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  })();
}
