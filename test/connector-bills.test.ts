/**
 * downloadBill on both backends: the sandbox writes the day's bill from its own payments and refunds; the
 * connector returns rows with amounts in fen (integers), backticks stripped, the summary, the raw text on
 * request — and for v3 the SHA-1 is checked. A day without trades says NO_STATEMENT_EXIST.
 */
import { createConnector, CloudPayProvider, Connector } from '../connector';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

let t: TestDev;
let backends: Record<'v3' | 'cloudpay', Connector>;
let billDate: string;
const paid: Array<{ outTradeNo: string; totalFee: number }> = [];
let refundNo: string;

beforeAll(async () => {
  t = await startTestDev({ seedGoods: false });
  backends = {
    v3: t.dev.connector,
    cloudpay: createConnector(new CloudPayProvider({ cloudPay: createHttpCloudPay(t.dev.info.baseUrl), subMchId: t.dev.info.merchant.mchid, envId: 'local-env', payCallbackFunction: 'wxpay-pay-notify' })),
  };
  for (const totalFee of [1, 1800, 19900]) {
    const outTradeNo = newOrderNo('B');
    await t.dev.connector.call('unifiedOrder', { body: '账单测试', outTradeNo, totalFee, openid: 'o-bill' });
    await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
    paid.push({ outTradeNo, totalFee });
  }
  refundNo = `RB${paid[1]!.outTradeNo}`.slice(0, 32);
  await t.dev.connector.call('refund', { outTradeNo: paid[1]!.outTradeNo, outRefundNo: refundNo, totalFee: 1800, refundFee: 500 });
  await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${refundNo}/settle`, { status: 'SUCCESS' });
  const clock = await t.get(`${t.dev.info.baseUrl}/sandbox/clock`);
  billDate = String(clock.body.now).slice(0, 10);
  // Bills for day D exist from the next morning (wxpay-v3.md §1.6).
  await t.post(`${t.dev.info.baseUrl}/sandbox/clock/advance`, { seconds: 36 * 3600 });
});
afterAll(async () => { await t?.close(); });

describe.each(['v3', 'cloudpay'] as const)('%s', (name) => {
  it('ALL: every payment and the refund, amounts in fen', async () => {
    const bill: any = await backends[name].call('downloadBill', { billDate, billType: 'ALL' });
    expect(bill.billDate).toBe(billDate);
    const mine = bill.rows.filter((r: any) => paid.some((p) => p.outTradeNo === r.outTradeNo));
    const payments = mine.filter((r: any) => r.tradeState === 'SUCCESS');
    expect(payments.map((r: any) => r.totalFee).sort((a: number, b: number) => a - b)).toEqual([1, 1800, 19900]);
    for (const r of mine) {
      expect(Number.isInteger(r.totalFee) && Number.isInteger(r.refundFee)).toBe(true);
      expect(JSON.stringify(r)).not.toContain('`');
    }
    const refund = mine.find((r: any) => r.tradeState === 'REFUND');
    expect(refund).toMatchObject({ outRefundNo: refundNo, refundFee: 500, refundStatus: 'SUCCESS' });
    expect(bill.summary.count).toBe(bill.rows.length);
    expect(bill.summary.refundFee).toBe(500);
    expect(bill.raw).toBeUndefined();
  });

  it('SUCCESS and REFUND types, and the raw text on request', async () => {
    const success: any = await backends[name].call('downloadBill', { billDate: billDate.replace(/-/g, ''), billType: 'SUCCESS', raw: true });
    expect(success.rows.every((r: any) => r.tradeState === 'SUCCESS')).toBe(true);
    expect(success.raw).toContain('`');
    const refunds: any = await backends[name].call('downloadBill', { billDate, billType: 'REFUND' });
    expect(refunds.rows.map((r: any) => r.outRefundNo)).toEqual([refundNo]);
  });

  it('a recent day without trades is NO_STATEMENT_EXIST; a date older than 3 months is PARAM_ERROR', async () => {
    const dayBefore = new Date(Date.parse(`${billDate}T12:00:00+08:00`) - 86400_000).toISOString().slice(0, 10);
    await expect(backends[name].call('downloadBill', { billDate: dayBefore })).rejects.toMatchObject({ code: 'NO_STATEMENT_EXIST', retryable: false });
    await expect(backends[name].call('downloadBill', { billDate: '2020-01-01' })).rejects.toMatchObject({ code: 'PARAM_ERROR' });
  });
});
