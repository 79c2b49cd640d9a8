/**
 * Opening a day's bill on both backends against the sandbox (wxpay-v3.md §1.6–1.7, wxpay-v2-cloudpay.md §4): v3 asks
 * for gzip and checks the SHA-1 of the decompressed bytes as they stream (a bad hash fails at the end, before anyone
 * acts on the rows), CloudPay asks for gzip too; NO_STATEMENT_EXIST; and downloadBill answering pages
 * (offset → nextOffset) whose rows join up to the whole bill.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createConnector, CloudPayProvider, V3Provider, type Connector } from '../connector';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import type { PaymentProvider } from '../connector/providers/provider';
import { billSha1, parseBill } from '../wxpay';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

let t: TestDev;
let billDate: string;
const paid: string[] = [];
let refundNo: string;
const fetched: string[] = [];

/** The v3 provider of the dev server's configuration, with a fetch that can rewrite the bill download. */
function v3Provider(rewriteDownload?: (plain: Buffer) => Buffer): V3Provider {
  return new V3Provider({
    ...t.dev.resolved.v3!,
    fetch: async (input, init) => {
      const url = String(input);
      fetched.push(url);
      const res = await fetch(input, init);
      if (!rewriteDownload || !url.includes('/v3/billdownload/file')) return res;
      const body = Buffer.from(await res.arrayBuffer());
      return new Response(gzipSync(rewriteDownload(gunzipSync(body))), { status: res.status, headers: res.headers });
    },
  });
}

let backends: Record<'v3' | 'cloudpay', { provider: PaymentProvider; connector: Connector }>;

beforeAll(async () => {
  t = await startTestDev({ seedGoods: false });
  const cloudpay = new CloudPayProvider({ cloudPay: createHttpCloudPay(t.dev.info.baseUrl), subMchId: t.dev.info.merchant.mchid, envId: 'local-env', payCallbackFunction: 'wxpay-pay-notify' });
  const v3 = v3Provider();
  backends = { v3: { provider: v3, connector: createConnector(v3) }, cloudpay: { provider: cloudpay, connector: createConnector(cloudpay) } };
  for (const totalFee of [1, 2, 3, 4, 5]) {
    const outTradeNo = newOrderNo('D');
    await t.dev.connector.call('unifiedOrder', { body: '账单下载', outTradeNo, totalFee, openid: 'o-dl' });
    await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
    paid.push(outTradeNo);
  }
  refundNo = `RD${paid[4]}`.slice(0, 32);
  await t.dev.connector.call('refund', { outTradeNo: paid[4], outRefundNo: refundNo, totalFee: 5, refundFee: 2 });
  billDate = String((await t.get(`${t.dev.info.baseUrl}/sandbox/clock`)).body.now).slice(0, 10);
  await t.post(`${t.dev.info.baseUrl}/sandbox/clock/advance`, { seconds: 36 * 3600 });
});
afterAll(async () => { await t?.close(); });

async function bytesOf(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

test('v3 asks for the bill gzip, decompresses it as it streams and checks its SHA-1: the bytes are the bill', async () => {
  fetched.length = 0;
  const plain = await bytesOf(await backends.v3.provider.openBill({ billDate, billType: 'ALL' }));
  expect(fetched[0]).toMatch(/\/v3\/bill\/tradebill\?bill_date=\d{4}-\d{2}-\d{2}&bill_type=ALL&tar_type=GZIP$/);
  expect(fetched[1]).toMatch(/\/v3\/billdownload\/file\?token=[\w-]+&tartype=gzip$/);
  const control = await fetch(`${t.dev.info.baseUrl}/sandbox/tradebill?bill_date=${billDate}`);
  expect(billSha1(plain)).toBe(billSha1(Buffer.from(await control.arrayBuffer())));
  expect(parseBill(plain).rows).toHaveLength(6);
});

test('a bill that does not match its hash_value: BILL_HASH_MISMATCH once the stream ends (retryable)', async () => {
  // One amount changed in transit (in the decompressed text, then compressed again).
  const tampered = v3Provider((plain) => Buffer.from(plain.toString('utf8').replace('`0.05,', '`0.06,'), 'utf8'));
  const rows: unknown[] = [];
  const read = async () => { for await (const chunk of await tampered.openBill({ billDate, billType: 'ALL' })) rows.push(chunk); };
  await expect(read()).rejects.toMatchObject({ code: 'BILL_HASH_MISMATCH', retryable: true, message: expect.stringMatching(/does not match hash_value/) });
  expect(rows.length).toBeGreaterThan(0); // the bytes did flow: the check is at the end
  await expect(createConnector(tampered).call('downloadBill', { billDate })).rejects.toMatchObject({ code: 'BILL_HASH_MISMATCH' });
});

describe.each(['v3', 'cloudpay'] as const)('%s', (name) => {
  test('pages: offset → nextOffset, the pages join up to the whole bill, the summary and row count on every page', async () => {
    const whole: any = await backends[name].connector.call('downloadBill', { billDate });
    expect(whole).toMatchObject({ totalRows: 6, offset: 0, summary: { count: 6 } });
    expect(whole.rows).toHaveLength(6);
    expect(whole.nextOffset).toBeUndefined();
    const pages: any[] = [];
    for (let offset: number | undefined = 0; offset !== undefined;) {
      const page: any = await backends[name].connector.call('downloadBill', { billDate, offset, limit: 4 });
      expect(page).toMatchObject({ totalRows: 6, offset, summary: whole.summary });
      pages.push(page);
      offset = page.nextOffset;
    }
    expect(pages.map((p) => [p.offset, p.rows.length, p.nextOffset])).toEqual([[0, 4, 4], [4, 2, undefined]]);
    expect(pages.flatMap((p) => p.rows)).toEqual(whole.rows);
    const past: any = await backends[name].connector.call('downloadBill', { billDate, offset: 10 });
    expect([past.rows, past.nextOffset, past.totalRows]).toEqual([[], undefined, 6]);
  });

  test('a day without trades is NO_STATEMENT_EXIST, not retryable', async () => {
    const dayBefore = new Date(Date.parse(`${billDate}T12:00:00+08:00`) - 86400_000).toISOString().slice(0, 10);
    await expect(backends[name].provider.openBill({ billDate: dayBefore, billType: 'ALL' })).rejects.toMatchObject({ code: 'NO_STATEMENT_EXIST', retryable: false });
  });
});

test('CloudPay is asked for gzip ({data} a Buffer) and reads the same bill', async () => {
  const calls: Array<Record<string, unknown>> = [];
  const http = createHttpCloudPay(t.dev.info.baseUrl);
  const spy = new CloudPayProvider({
    cloudPay: { ...http, downloadBill: async (p) => { calls.push(p); const r = await http.downloadBill(p); calls.push({ gzip: Buffer.isBuffer(r.data) && r.data[0] === 0x1f }); return r; } },
    subMchId: t.dev.info.merchant.mchid, envId: 'local-env', payCallbackFunction: 'wxpay-pay-notify',
  });
  const plain = await bytesOf(await spy.openBill({ billDate, billType: 'ALL' }));
  expect(calls[0]).toMatchObject({ billDate: billDate.replace(/-/g, ''), billType: 'ALL', tarType: 'GZIP' });
  expect(calls[1]).toEqual({ gzip: true });
  expect(parseBill(plain).rows.map((r) => r['商户订单号']).filter((no) => paid.includes(no!))).toHaveLength(6);
});
