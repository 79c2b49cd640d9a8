import { gzipSync } from 'node:zlib';
import { BILL_HEADERS, BILL_SUMMARY_HEADER, billSha1, BillType, fenToYuan, toChinaDate, toChinaDateTime, toRfc3339Cst } from '../../wxpay';
import type { SandboxState } from '../state';
import type { StoredBill } from '../state/bills';
import type { RefundRow } from '../state/refunds';
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
  state: Pick<SandboxState, 'transactions' | 'refunds' | 'bills'>;
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
   * The trade bill of one day (China time) for a merchant, built from the sandbox's own payments and refunds in
   * the §1.7 format: UTF-8 BOM, CRLF, header row of `BILL_HEADERS[type]`, data rows with every field prefixed by a
   * backtick, amounts in yuan with 2 decimals (fee with 5), then `BILL_SUMMARY_HEADER` and its backticked row.
   * Payment rows (交易状态 SUCCESS, 交易时间 = success_time) come from orders paid that day; refund rows (交易状态
   * REFUND, 交易时间 = refund creation time) from refunds created that day, with their status at generation time.
   * No rows → 400 NO_STATEMENT_EXIST. Only reads: does not check the date (see {@link Bills.checkDate}) nor store anything.
   */
  build(opts: { billDate: string; billType: BillType; mchid?: string }): StoredBill {
    const mchid = opts.mchid ?? this.d.merchant.mchid;
    const from = `${opts.billDate}T00:00:00+08:00`;
    const to = `${opts.billDate}T24:00:00+08:00`; // sorts after every time of that day and before the next day
    const payments = opts.billType === 'REFUND' ? [] : this.d.state.transactions.paidBetween(mchid, from, to);
    const refunds = opts.billType === 'SUCCESS' ? [] : this.d.state.refunds.createdBetween(mchid, from, to);
    if (payments.length + refunds.length === 0) {
      throw new SandboxError(400, 'NO_STATEMENT_EXIST', '请求的账单文件不存在', { field: 'bill_date', location: 'query', issue: `no ${opts.billType === 'ALL' ? '' : `${opts.billType} `}trades on ${opts.billDate} (China time) in the sandbox` });
    }
    const orderOf = new Map<string, TransactionRow | undefined>();
    const order = (r: RefundRow): TransactionRow | undefined => {
      if (!orderOf.has(r.out_trade_no)) orderOf.set(r.out_trade_no, this.d.state.transactions.find(mchid, r.out_trade_no));
      return orderOf.get(r.out_trade_no);
    };

    type Line = { at: string; fields: string[]; settle: number; refund: number; fee: number; order: number; applied: number };
    const lines: Line[] = [];
    for (const t of payments) {
      const fee = feeOf(t.amount_total);
      const base = commonFields(t, toChinaDateTime(Date.parse(t.success_time!)), 'SUCCESS', t.amount_total);
      const tail = [text(t.description), text(t.attach ?? ''), feeText(fee), FEE_RATE_TEXT, fenToYuan(t.amount_total)];
      const fields = opts.billType === 'SUCCESS'
        ? [...base, ...tail, '']
        : [...base, '0', '0', '0.00', '0.00', '', '', ...tail, '0.00', ''];
      lines.push({ at: t.success_time!, fields, settle: t.amount_total, refund: 0, fee, order: t.amount_total, applied: 0 });
    }
    for (const r of refunds) {
      const t = order(r);
      const fee = -feeOf(r.amount_refund);
      const refundCols = [r.refund_id, r.out_refund_no, fenToYuan(r.amount_refund), '0.00', 'ORIGINAL', r.status];
      const tail = [text(t?.description ?? ''), text(t?.attach ?? ''), feeText(fee), FEE_RATE_TEXT, '0.00', fenToYuan(r.amount_refund), ''];
      const fields = opts.billType === 'REFUND'
        ? [...commonFields(t, toChinaDateTime(Date.parse(t?.success_time ?? r.create_time)), 'REFUND', 0, r), toChinaDateTime(Date.parse(r.create_time)), r.success_time ? toChinaDateTime(Date.parse(r.success_time)) : '', ...refundCols, ...tail]
        : [...commonFields(t, toChinaDateTime(Date.parse(r.create_time)), 'REFUND', 0, r), ...refundCols, ...tail];
      lines.push({ at: r.create_time, fields, settle: 0, refund: r.amount_refund, fee, order: 0, applied: r.amount_refund });
    }
    lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

    const header = BILL_HEADERS[opts.billType];
    const sum = (k: 'settle' | 'refund' | 'fee' | 'order' | 'applied'): number => lines.reduce((s, l) => s + l[k], 0);
    const summary = [String(lines.length), fenToYuan(sum('settle')), fenToYuan(sum('refund')), '0.00', fenToYuan(sum('fee')), fenToYuan(sum('order')), fenToYuan(sum('applied'))];
    const out = [
      header.join(','),
      ...lines.map((l) => {
        if (l.fields.length !== header.length) throw new Error(`bill row has ${l.fields.length} fields, header ${header.length}`);
        return l.fields.map((f) => `\`${f}`).join(',');
      }),
      BILL_SUMMARY_HEADER.join(','),
      summary.map((f) => `\`${f}`).join(','),
    ];
    const content = Buffer.from(`\uFEFF${out.join('\r\n')}\r\n`, 'utf8');
    return { content, sha1: billSha1(content) };
  }

  /**
   * A day's bill as stored: generated on first request and frozen afterwards (so hash_value and the file agree, and a
   * refund settling later does not rewrite history), after {@link Bills.checkDate}. For the CloudPay façade's
   * downloadBill as well as the v3 tradebill.
   */
  trade(opts: { billDate: string; billType?: BillType; mchid?: string }): StoredBill {
    const mchid = opts.mchid ?? this.d.merchant.mchid;
    const billType = opts.billType ?? 'ALL';
    this.checkDate(opts.billDate);
    const stored = this.d.state.bills.get(mchid, opts.billDate, billType);
    if (stored) return stored;
    const built = this.build({ billDate: opts.billDate, billType, mchid });
    this.d.state.bills.put(mchid, opts.billDate, billType, built, this.d.clock.now());
    return this.d.state.bills.get(mchid, opts.billDate, billType)!;
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

  /** `GET /v3/billdownload/file?token=` (§1.7): the file bytes (gzip-compressed when asked for), or 400 if the token is unknown/expired. */
  download(token: string | null, mchid = this.d.merchant.mchid): { body: Buffer; gzip: boolean } {
    if (!token) throw billParamError('token', 'is required');
    const t = this.d.state.bills.token(token);
    if (!t || t.mchid !== mchid) throw billParamError('token', 'is not a download token this merchant was given', token);
    if (t.expires_at <= this.d.clock.now()) throw new SandboxError(400, 'PARAM_ERROR', '下载链接已过期，请重新获取', { field: 'token', location: 'query', issue: `the download_url expired at ${toRfc3339Cst(t.expires_at)} (valid 5 minutes); call /v3/bill/tradebill again` });
    const bill = this.d.state.bills.get(t.mchid, t.bill_date, t.bill_type);
    if (!bill) throw billParamError('token', 'names a bill that no longer exists', token);
    return { body: t.gzip ? gzipSync(bill.content) : bill.content, gzip: t.gzip === 1 };
  }
}

export function checkBillType(value: string | null | undefined): BillType {
  const t = value ?? 'ALL';
  if (!(SANDBOX_BILL_TYPES as readonly string[]).includes(t)) throw billParamError('bill_type', `must be one of ${SANDBOX_BILL_TYPES.join(', ')}`, value);
  return t as BillType;
}

/** 交易时间 … 代金券金额 (the first 14 columns, shared by every bill type). */
function commonFields(t: TransactionRow | undefined, time: string, state: 'SUCCESS' | 'REFUND', settle: number, r?: RefundRow): string[] {
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

