/**
 * Trade bills made up for tests and benchmarks, in the §1.7 format the sandbox writes (wxpay-v3.md §1.7: BOM,
 * CRLF, backticked fields, yuan), streamed as chunks so a million rows never sit in memory: payment and refund rows,
 * raw lines (to break one on purpose), and a summary that adds up unless told otherwise.
 */
import { BILL_HEADERS, BILL_SUMMARY_HEADER, fenToYuan } from '../../wxpay';

export interface PaymentLine {
  kind: 'payment';
  outTradeNo: string;
  totalFee: number;
  transactionId?: string;
  /** China time, "yyyy-MM-dd HH:mm:ss". */
  time?: string;
}

export interface RefundLine {
  kind: 'refund';
  outTradeNo: string;
  outRefundNo: string;
  refundFee: number;
  /** 退款状态 as the bill writes it (SUCCESS, PROCESSING, …). */
  status?: string;
  refundId?: string;
  time?: string;
}

/** A line written as given (counted in 总交易单数 as a row, its amounts not added). */
export interface RawLine {
  kind: 'raw';
  text: string;
}

export type BillLine = PaymentLine | RefundLine | RawLine;

export interface BillFileOptions {
  /** Rewrites the summary row's fields (to make it not add up). */
  summary?: (fields: string[]) => string[];
  /** Bytes per chunk yielded (default 64 KiB). */
  chunkBytes?: number;
}

const feeOf = (fen: number): number => Math.round((fen * 6) / 1000);

/** One ALL-bill data line and what it adds to the totals. */
export function billLine(l: PaymentLine | RefundLine): { text: string; settle: number; refund: number; fee: number; order: number; applied: number } {
  const common = (time: string, transactionId: string, state: string, settle: number) => [
    time, 'wxd678efh567hg6787', '1230000109', '0', '', transactionId, l.outTradeNo, 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', 'JSAPI', state, 'OTHERS', 'CNY', fenToYuan(settle), '0.00',
  ];
  if (l.kind === 'payment') {
    const fee = feeOf(l.totalFee);
    const fields = [
      ...common(l.time ?? '2024-08-05 10:00:00', l.transactionId ?? `4200000000${l.outTradeNo}`.slice(0, 28), 'SUCCESS', l.totalFee),
      '0', '0', '0.00', '0.00', '', '', '咖啡券', '', `${fenToYuan(fee)}000`, '0.60%', fenToYuan(l.totalFee), '0.00', '',
    ];
    return { text: `\`${fields.join(',`')}`, settle: l.totalFee, refund: 0, fee, order: l.totalFee, applied: 0 };
  }
  const fee = -feeOf(l.refundFee);
  const fields = [
    ...common(l.time ?? '2024-08-05 12:00:00', `4200000000${l.outTradeNo}`.slice(0, 28), 'REFUND', 0),
    l.refundId ?? `50000${l.outRefundNo}`.slice(0, 32), l.outRefundNo, fenToYuan(l.refundFee), '0.00', 'ORIGINAL', l.status ?? 'SUCCESS',
    '咖啡券', '', `${fenToYuan(fee)}000`, '0.60%', '0.00', fenToYuan(l.refundFee), '',
  ];
  return { text: `\`${fields.join(',`')}`, settle: 0, refund: l.refundFee, fee, order: 0, applied: l.refundFee };
}

/** The bill as chunks of bytes: BOM, header, the lines, the summary. */
export function* billChunks(lines: Iterable<BillLine>, opts: BillFileOptions = {}): Generator<Buffer> {
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  const t = { rows: 0, settle: 0, refund: 0, fee: 0, order: 0, applied: 0 };
  let parts: string[] = [`\uFEFF${BILL_HEADERS.ALL.join(',')}\r\n`];
  let size = parts[0]!.length;
  for (const l of lines) {
    t.rows++;
    let text: string;
    if (l.kind === 'raw') {
      text = l.text;
    } else {
      const line = billLine(l);
      text = line.text;
      t.settle += line.settle; t.refund += line.refund; t.fee += line.fee; t.order += line.order; t.applied += line.applied;
    }
    parts.push(text, '\r\n');
    size += text.length * 2;
    if (size >= chunkBytes) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  let summary = [String(t.rows), fenToYuan(t.settle), fenToYuan(t.refund), '0.00', fenToYuan(t.fee), fenToYuan(t.order), fenToYuan(t.applied)];
  if (opts.summary) summary = opts.summary(summary);
  parts.push(`${BILL_SUMMARY_HEADER.join(',')}\r\n\`${summary.join(',`')}\r\n`);
  yield Buffer.from(parts.join(''), 'utf8');
}

/** The whole bill in one Buffer (small bills). */
export function billBytes(lines: Iterable<BillLine>, opts: BillFileOptions = {}): Buffer {
  return Buffer.concat([...billChunks(lines, opts)]);
}

/** Order numbers and amounts of the big made-up bills (`${prefix}` + 12 digits; 1…100 000 fen). */
export const millionOrderNo = (i: number, prefix = 'WX'): string => `${prefix}${String(i).padStart(12, '0')}`;
export const millionAmount = (i: number): number => 1 + ((i * 7919) % 100_000);
