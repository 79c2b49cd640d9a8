import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { BILL_HEADERS, BILL_SUMMARY_HEADER, BillType, fenToYuan, toChinaDate, toChinaDateTime, toRfc3339Cst } from '../../wxpay';
import type { SandboxState } from '../state';
import type { BillKey, BillPaymentRow, BillRefundRow, BillWriter, StoredBill } from '../state/bills';
import type { TransactionRow } from '../state/transactions';
import { SandboxClock } from './clock';
import { SandboxError } from './errors';
import { newBillToken } from './ids';
import { Merchant } from './merchant';

/** The bill types the sandbox generates (wxpay-v3.md §1.6; the *_SPECIAL / RECHARGE_REFUND types are not modelled). */
export const SANDBOX_BILL_TYPES: readonly BillType[] = ['ALL', 'SUCCESS', 'REFUND'];
/** A download_url is valid 5 minutes of sandbox time (§1.6). */
export const BILL_TOKEN_TTL_MS = 5 * 60_000;
/** Fee rate the sandbox charges in bills: 0.6 %, the common rate for mini-program payments. */
const FEE_PER_MILLE = 6;
const FEE_RATE_TEXT = '0.60%';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const billParamError = (field: string, issue: string, value?: unknown): SandboxError =>
  new SandboxError(400, 'PARAM_ERROR', `参数错误：${field} ${issue}`, { field, location: 'query', issue, ...(value !== undefined ? { value } : {}) });

export interface BillsDeps {
  state: Pick<SandboxState, 'sql' | 'transactions' | 'refunds' | 'bills'>;
  clock: SandboxClock;
  merchant: Merchant;
}

/** Trade bills (wxpay-v3.md §1.6–1.7), for the v3 tradebill and download and for CloudPay's downloadBill alike. */
export class Bills {
  constructor(private readonly d: BillsDeps) {}

  /**
   * Checks `bill_date` against the sandbox clock in China time (§1.6): format yyyy-MM-dd and a real date, else
   * PARAM_ERROR; today or later → STATEMENT_CREATING (the bill for day D exists from D+1); more than 3 months ago →
   * PARAM_ERROR. (WeChat generates D's bill around 09:00–10:00 on D+1; the sandbox has it ready at midnight.)
   */
  checkDate(billDate: string): void {
    const m = DATE.exec(billDate);
    const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
    const asDate = new Date(Date.UTC(y, mo - 1, d));
    if (!m || asDate.getUTCFullYear() !== y || asDate.getUTCMonth() !== mo - 1 || asDate.getUTCDate() !== d) {
      throw billParamError('bill_date', 'must be a date formatted yyyy-MM-dd', billDate);
    }
    const today = toChinaDate(this.d.clock.now());
    if (billDate >= today) throw new SandboxError(400, 'STATEMENT_CREATING', '账单生成中，请稍后再试', { field: 'bill_date', location: 'query', issue: `the bill for ${billDate} is generated on the next day (sandbox today is ${today})` });
    const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
    const limit = new Date(Date.UTC(ty, tm - 1 - 3, td)).toISOString().slice(0, 10);
    if (billDate < limit) throw billParamError('bill_date', `must be within the last 3 months (on or after ${limit})`, billDate);
  }

  /**
   * A day's bill as stored: generated on first request and frozen afterwards (so hash_value and the file agree, and a
   * refund settling later does not rewrite history), after {@link Bills.checkDate}. For the CloudPay façade's
   * downloadBill as well as the v3 tradebill. No rows → 400 NO_STATEMENT_EXIST (and nothing is stored).
   */
  trade(opts: { billDate: string; billType?: BillType; mchid?: string }): StoredBill {
    const key: BillKey = { mchid: opts.mchid ?? this.d.merchant.mchid, billDate: opts.billDate, billType: opts.billType ?? 'ALL' };
    this.checkDate(opts.billDate);
    return this.d.state.bills.get(key) ?? this.d.state.sql.transaction(() => this.generate(key));
  }

  /** The stored bill's bytes, a chunk at a time (after {@link Bills.trade}). */
  chunks(key: BillKey): Iterable<Buffer> {
    return this.d.state.bills.chunks(key);
  }

  /** The stored bill whole, for answers that carry it whole (CloudPay's `{data}`, the console). */
  content(key: BillKey): Buffer {
    return this.d.state.bills.content(key);
  }

  /**
   * Writes the trade bill of one day (China time) for a merchant from the sandbox's own payments and refunds, in the
   * §1.7 format: UTF-8 BOM, CRLF, header row of `BILL_HEADERS[type]`, data rows with every field prefixed by a
   * backtick, amounts in yuan with 2 decimals (fee with 5), then `BILL_SUMMARY_HEADER` and its backticked row.
   * Payment rows (交易状态 SUCCESS, 交易时间 = success_time) come from orders paid that day; refund rows (交易状态
   * REFUND, 交易时间 = refund creation time) from refunds created that day, with their status at generation time.
   * Streams: the day's rows are read from SQLite a page at a time, in time order (the payments and the refunds are two
   * sorted lists, merged), written out in chunks as they fill, and hashed as they go — a day of a million trades is
   * never in memory. Runs inside the caller's transaction, so a day without rows leaves nothing behind.
   */
  private generate(key: BillKey): StoredBill {
    const { mchid, billDate, billType } = key;
    const header = BILL_HEADERS[billType];
    const dayStart = Date.parse(`${billDate}T00:00:00+08:00`);
    const out = new ChunkedOutput(this.d.state.bills.writer(key));
    out.line(header.join(','));
    const totals = { rows: 0, settle: 0, refund: 0, fee: 0, order: 0, applied: 0 };
    const emit = (fields: string[], line: { settle: number; refund: number; fee: number; order: number; applied: number }) => {
      if (fields.length !== header.length) throw new Error(`bill row has ${fields.length} fields, header ${header.length}`);
      out.line(`\`${fields.join(',`')}`);
      totals.rows++;
      totals.settle += line.settle; totals.refund += line.refund; totals.fee += line.fee; totals.order += line.order; totals.applied += line.applied;
    };
    const payments = billType === 'REFUND' ? emptyPages<BillPaymentRow>() : this.paymentPages(mchid, billDate);
    const refunds = billType === 'SUCCESS' ? emptyPages<BillRefundRow>() : this.refundPages(mchid, dayStart);
    const orderOf = this.orderLookup(mchid);
    let p = payments.next();
    let r = refunds.next();
    // Merged by time; at the same second the payment comes first (as a stable sort of payments then refunds).
    while (!p.done || !r.done) {
      if (!p.done && (r.done || p.value.success_time! <= r.value.create_time)) {
        const t = p.value;
        const fee = feeOf(t.amount_total);
        const base = commonFields(t, chinaDateTime(t.success_time!), 'SUCCESS', t.amount_total);
        const tail = [text(t.description), text(t.attach ?? ''), feeText(fee), FEE_RATE_TEXT, fenToYuan(t.amount_total)];
        emit(billType === 'SUCCESS' ? [...base, ...tail, ''] : [...base, '0', '0', '0.00', '0.00', '', '', ...tail, '0.00', ''],
          { settle: t.amount_total, refund: 0, fee, order: t.amount_total, applied: 0 });
        p = payments.next();
      } else if (!r.done) {
        const refund = r.value;
        const t = orderOf(refund.out_trade_no);
        const fee = -feeOf(refund.amount_refund);
        const refundCols = [refund.refund_id, refund.out_refund_no, fenToYuan(refund.amount_refund), '0.00', 'ORIGINAL', refund.status];
        const tail = [text(t?.description ?? ''), text(t?.attach ?? ''), feeText(fee), FEE_RATE_TEXT, '0.00', fenToYuan(refund.amount_refund), ''];
        emit(billType === 'REFUND'
          ? [...commonFields(t, chinaDateTime(t?.success_time ?? refund.create_time), 'REFUND', 0, refund), chinaDateTime(refund.create_time), refund.success_time ? chinaDateTime(refund.success_time) : '', ...refundCols, ...tail]
          : [...commonFields(t, chinaDateTime(refund.create_time), 'REFUND', 0, refund), ...refundCols, ...tail],
        { settle: 0, refund: refund.amount_refund, fee, order: 0, applied: refund.amount_refund });
        r = refunds.next();
      }
    }
    if (totals.rows === 0) {
      throw new SandboxError(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在', { field: 'bill_date', location: 'query', issue: `no ${billType === 'ALL' ? '' : `${billType} `}trades on ${billDate} (China time) in the sandbox` });
    }
    out.line(BILL_SUMMARY_HEADER.join(','));
    out.line(`\`${[String(totals.rows), fenToYuan(totals.settle), fenToYuan(totals.refund), '0.00', fenToYuan(totals.fee), fenToYuan(totals.order), fenToYuan(totals.applied)].join(',`')}`);
    const bill = out.close();
    out.writer.commit(bill, this.d.clock.now());
    return bill;
  }

  /** The day's payments in bill order, a page at a time (success_time is RFC 3339 in +08:00: text order is time order). */
  private *paymentPages(mchid: string, billDate: string): Generator<BillPaymentRow> {
    const from = `${billDate}T00:00:00+08:00`;
    const to = `${billDate}T24:00:00+08:00`; // sorts after every time of that day and before the next day
    let after: { time: string; outTradeNo: string } | null = null;
    for (;;) {
      const page = this.d.state.bills.paymentsPage(mchid, from, to, after, PAGE_ROWS);
      yield* page;
      if (page.length < PAGE_ROWS) return;
      const last = page[page.length - 1]!;
      after = { time: last.success_time!, outTradeNo: last.out_trade_no };
    }
  }

  /** The day's refunds in creation order, a page at a time. */
  private *refundPages(mchid: string, dayStart: number): Generator<BillRefundRow> {
    let after: { createdAt: number; rowid: number } | null = null;
    for (;;) {
      const page = this.d.state.bills.refundsPage(mchid, dayStart, dayStart + 86_400_000, after, PAGE_ROWS);
      yield* page;
      if (page.length < PAGE_ROWS) return;
      const last = page[page.length - 1]!;
      after = { createdAt: last.created_at, rowid: last.rowid };
    }
  }

  /** A refund row's order (its description, payer…), remembered for the next refunds of the same order. */
  private orderLookup(mchid: string): (outTradeNo: string) => TransactionRow | undefined {
    const seen = new Map<string, TransactionRow | undefined>();
    return (outTradeNo) => {
      if (!seen.has(outTradeNo)) {
        if (seen.size >= PAGE_ROWS) seen.clear();
        seen.set(outTradeNo, this.d.state.transactions.find(mchid, outTradeNo));
      }
      return seen.get(outTradeNo);
    };
  }

  /**
   * `GET /v3/bill/tradebill` (§1.6): `{hash_type:"SHA1", hash_value, download_url}`; the URL carries a token valid
   * 5 sandbox minutes, pointing at `GET /v3/billdownload/file` on `baseUrl`.
   */
  request(opts: { billDate: string; billType?: BillType; gzip?: boolean; baseUrl: string; mchid?: string }): { hash_type: 'SHA1'; hash_value: string; download_url: string } {
    const mchid = opts.mchid ?? this.d.merchant.mchid;
    const billType = opts.billType ?? 'ALL';
    const bill = this.trade({ billDate: opts.billDate, billType, mchid });
    const now = this.d.clock.now();
    const token = newBillToken();
    this.d.state.bills.pruneTokens(now);
    this.d.state.bills.addToken({ token, mchid, bill_date: opts.billDate, bill_type: billType, gzip: opts.gzip ? 1 : 0, expires_at: now + BILL_TOKEN_TTL_MS });
    return { hash_type: 'SHA1', hash_value: bill.sha1, download_url: `${opts.baseUrl}/v3/billdownload/file?token=${token}${opts.gzip ? '&tartype=gzip' : ''}` };
  }

  /**
   * `GET /v3/billdownload/file?token=` (§1.7): the file's bytes as a stream (gzip-compressed when asked for), read a
   * chunk at a time from the state; or 400 if the token is unknown/expired.
   */
  download(token: string | null, mchid = this.d.merchant.mchid): { body: Readable; size?: number; gzip: boolean } {
    if (!token) throw billParamError('token', 'is required');
    const t = this.d.state.bills.token(token);
    if (!t || t.mchid !== mchid) throw billParamError('token', 'is not a download token this merchant was given', token);
    if (t.expires_at <= this.d.clock.now()) throw new SandboxError(400, 'PARAM_ERROR', '下载链接已过期，请重新获取', { field: 'token', location: 'query', issue: `the download_url expired at ${toRfc3339Cst(t.expires_at)} (valid 5 minutes); call /v3/bill/tradebill again` });
    const key: BillKey = { mchid: t.mchid, billDate: t.bill_date, billType: t.bill_type };
    const bill = this.d.state.bills.get(key);
    if (!bill) throw billParamError('token', 'names a bill that no longer exists', token);
    const plain = Readable.from(this.d.state.bills.chunks(key), { objectMode: false });
    return t.gzip ? { body: plain.pipe(createGzip()), gzip: true } : { body: plain, size: bill.size, gzip: false };
  }
}

export function checkBillType(value: string | null | undefined): BillType {
  const t = value ?? 'ALL';
  if (!(SANDBOX_BILL_TYPES as readonly string[]).includes(t)) throw billParamError('bill_type', `must be one of ${SANDBOX_BILL_TYPES.join(', ')}`, value);
  return t as BillType;
}

/** 交易时间 … 代金券金额 (the first 14 columns, shared by every bill type). */
function commonFields(t: BillPaymentRow | undefined, time: string, state: 'SUCCESS' | 'REFUND', settle: number, r?: BillRefundRow): string[] {
  return [
    time,
    t?.appid ?? '',
    t?.mchid ?? r?.mchid ?? '',
    '0', // 特约商户号: 0 for a direct merchant
    t?.device_id ?? '',
    t?.transaction_id ?? r?.transaction_id ?? '',
    t?.out_trade_no ?? r?.out_trade_no ?? '',
    t?.payer_openid ?? '',
    t?.trade_type ?? 'JSAPI',
    state,
    t?.bank_type ?? 'OTHERS',
    t?.currency ?? 'CNY',
    fenToYuan(settle),
    '0.00',
  ];
}

/** Free text cannot break the CSV: ',' → '，', backtick → ''', line breaks → space. */
function text(s: string): string {
  return s.replace(/,/g, '，').replace(/`/g, "'").replace(/[\r\n]+/g, ' ');
}

function feeOf(fen: number): number {
  return Math.round((fen * FEE_PER_MILLE) / 1000);
}

/** Fees are printed with 5 decimals in bills (`0.01000`). */
function feeText(fen: number): string {
  return `${fenToYuan(fen)}000`;
}

/** Rows per page read from SQLite while a bill is written. */
const PAGE_ROWS = 5000;
/** Bytes per stored chunk. */
const CHUNK_BYTES = 1 << 20;

function* emptyPages<T>(): Generator<T> {}

/** "2024-08-05T10:00:00+08:00" → "2024-08-05 10:00:00" (the bill's China time), without a Date for the usual shape. */
function chinaDateTime(rfc3339: string): string {
  return rfc3339.length === 25 && rfc3339.endsWith('+08:00') ? `${rfc3339.slice(0, 10)} ${rfc3339.slice(11, 19)}` : toChinaDateTime(Date.parse(rfc3339));
}

/** Bill text written in chunks as it fills: the bytes are hashed and handed to the state, never held whole. */
class ChunkedOutput {
  private parts: string[] = [];
  private pending = 0;
  private size = 0;
  private readonly hash = createHash('sha1');

  constructor(readonly writer: BillWriter) {
    this.parts.push('\uFEFF');
  }

  line(text: string): void {
    this.parts.push(text, '\r\n');
    this.pending += text.length * 3 + 2; // an upper bound of its UTF-8 bytes
    if (this.pending >= CHUNK_BYTES) this.flush();
  }

  close(): StoredBill {
    this.flush();
    return { sha1: this.hash.digest('hex'), size: this.size };
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const bytes = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    this.hash.update(bytes);
    this.size += bytes.length;
    this.writer.append(bytes);
  }
}
