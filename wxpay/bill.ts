import { createHash } from 'node:crypto';
import { PayError } from './errors';

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

export function assertBillHash(bytes: Buffer, expectedHex: string): void {
  const actual = billSha1(bytes);
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

/** Parses bill text: strips the BOM and the leading backtick of every field; keeps values as text. */
export function parseBill(text: string): ParsedBill {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 3) throw new PayError({ code: 'BILL_FORMAT_ERROR', message: 'bill has fewer than 3 lines (header, summary header, summary)' });
  const header = splitFields(lines[0]!);
  // The summary header is the last line that does not start with a backtick.
  let summaryAt = -1;
  for (let i = lines.length - 1; i > 0; i--) {
    if (!lines[i]!.startsWith('`')) { summaryAt = i; break; }
  }
  if (summaryAt < 0 || summaryAt !== lines.length - 2) throw new PayError({ code: 'BILL_FORMAT_ERROR', message: 'bill summary header not found before the last line' });
  const rows = lines.slice(1, summaryAt).map((line, i) => zip(header, splitFields(line), i + 2));
  const summaryHeader = splitFields(lines[summaryAt]!);
  const summary = zip(summaryHeader, splitFields(lines[summaryAt + 1]!), summaryAt + 2);
  return { header, rows, summaryHeader, summary };
}

function splitFields(line: string): string[] {
  return line.split(',').map((f) => (f.startsWith('`') ? f.slice(1) : f));
}

function zip(keys: string[], values: string[], lineNo: number): Record<string, string> {
  if (values.length !== keys.length) {
    throw new PayError({ code: 'BILL_FORMAT_ERROR', message: `bill line ${lineNo} has ${values.length} fields, header has ${keys.length}` });
  }
  const out: Record<string, string> = {};
  keys.forEach((k, i) => { out[k] = values[i]!; });
  return out;
}

/** "12.34" yuan → 1234 fen, exactly (no floating point). Accepts "45.0", "0", "-0.01". */
export function yuanToFen(yuan: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(yuan.trim());
  if (!m) throw new PayError({ code: 'BILL_FORMAT_ERROR', message: `not a yuan amount: "${yuan}"` });
  const fen = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}

/** 1234 fen → "12.34" yuan, for writing bills. */
export function fenToYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
