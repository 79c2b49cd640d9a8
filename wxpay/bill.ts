import { createHash } from 'node:crypto';
import { PayError } from './errors';
import { BillStreamParser, decimalUnits, unitsText } from './bill-stream';

/**
 * Trade bills (wxpay-v3.md §1.6–1.7, wxpay-v2-cloudpay.md §4): header row, data rows whose every field starts
 * with a backtick, a summary header row and one summary row. UTF-8, optional BOM, CRLF or LF. Amounts in yuan.
 */
export const BILL_HEADERS = {
  ALL: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
  SUCCESS: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '费率备注'],
  REFUND: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '退款申请时间', '退款成功时间', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
} as const;
export const BILL_SUMMARY_HEADER = ['总交易单数', '应结订单总金额', '退款总金额', '充值券退款总金额', '手续费总金额', '订单总金额', '申请退款总金额'] as const;

export type BillType = keyof typeof BILL_HEADERS;

/** SHA-1 of the *uncompressed* bill bytes, lower-case hex, as `hash_value` (§1.6). */
export function billSha1(bytes: Buffer | string): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** Throws BILL_HASH_MISMATCH unless the bill's SHA-1 (hex, of the uncompressed bytes) is `hash_value` (§1.6). */
export function checkBillHash(actualHex: string, expectedHex: string): void {
  const actual = actualHex.toLowerCase();
  if (actual !== expectedHex.toLowerCase()) {
    throw new PayError({ code: 'BILL_HASH_MISMATCH', message: `bill SHA-1 ${actual} does not match hash_value ${expectedHex}`, detail: { field: 'hash_value', issue: 'SHA-1 mismatch' }, retryable: true });
  }
}

export interface ParsedBill {
  header: string[];
  rows: Record<string, string>[];
  summaryHeader: string[];
  summary: Record<string, string>;
}

/**
 * Parses a whole bill held in memory (a small one: a download of any size goes through `parseBillStream`, which
 * this uses too). Strips the BOM and every leading backtick; keeps values as text. A row that cannot be read, or
 * a summary that does not add up to the rows, is a BILL_FORMAT_ERROR naming the line or the figure.
 */
export function parseBill(text: string | Buffer): ParsedBill {
  const rows: Record<string, string>[] = [];
  let columns: readonly string[] = [];
  const parser = new BillStreamParser({
    header: (layout) => { columns = layout.columns; },
    row: (row) => {
      const out: Record<string, string> = {};
      for (let i = 0; i < columns.length; i++) out[columns[i]!] = row.text(i);
      rows.push(out);
    },
  });
  parser.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  const check = parser.finish();
  if (check.problems.length) throw new PayError({ code: 'BILL_FORMAT_ERROR', message: `the bill summary does not add up: ${check.problems.join('; ')}` });
  return { header: check.columns, rows, summaryHeader: check.summaryColumns, summary: check.summary };
}

/** "12.34" yuan → 1234 fen, exactly (integer arithmetic on the digits). Accepts "45.0", "0", "-0.01". */
export function yuanToFen(yuan: string): number {
  const fen = decimalUnits(yuan.trim(), 2);
  if (Number.isNaN(fen)) throw new PayError({ code: 'BILL_FORMAT_ERROR', message: `not a yuan amount: "${yuan}"` });
  return fen;
}

/** 1234 fen → "12.34" yuan, for writing bills. */
export function fenToYuan(fen: number): string {
  return unitsText(fen, 2);
}
