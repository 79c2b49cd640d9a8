/**
 * The sandbox writes a busy day's bill page by page from SQLite into chunks (sandbox/domain/bills.ts): 12,000
 * payments and 3,000 refunds — several pages of each list, merged by time, several MiB of chunks — come out as one
 * bill in time order whose summary adds up, the same bytes on every download (frozen), gzip or not, and
 * the same bill through CloudPay's downloadBill.
 */
import { gunzipSync } from 'node:zlib';
import { BILL_HEADERS, billSha1, parseBill, toChinaDate } from '../wxpay';
import { RunningSandbox, startSandbox } from '../sandbox';
import { control, merchantSigner, tempDataDir, v3Request } from './helpers/sandbox-harness';
import { insertDayOfTrades } from './helpers/sandbox-trades';
import { buildAuthorization } from '../wxpay';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
let day: string;

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir });
  const now = Date.parse((await control(sandbox.info, 'GET', '/sandbox/clock')).json.now);
  day = toChinaDate(now - 2 * 86_400_000);
  insertDayOfTrades(data.dir, { mchid: sandbox.info.merchant.mchid, appid: sandbox.info.merchant.appid, day, payments: 12_000, refunds: 3_000 });
});
afterAll(async () => {
  await sandbox?.close();
  data?.remove();
});

async function download(query: string): Promise<{ hash: string; bytes: Buffer }> {
  const res = await v3Request(sandbox.info, 'GET', `/v3/bill/tradebill?${query}`);
  expect(res.status).toBe(200);
  const u = new URL(res.json.download_url);
  const file = await fetch(res.json.download_url, { headers: { Authorization: buildAuthorization(merchantSigner(sandbox.info), { method: 'GET', url: `${u.pathname}${u.search}` }) } });
  expect(file.status).toBe(200);
  const raw = Buffer.from(await file.arrayBuffer());
  return { hash: res.json.hash_value, bytes: query.includes('GZIP') ? gunzipSync(raw) : raw };
}

test('15,000 rows over several pages and chunks: one bill, in time order, adding up', async () => {
  const { hash, bytes } = await download(`bill_date=${day}`);
  expect(bytes.length).toBeGreaterThan(3 * 1024 * 1024); // more than one 1 MiB chunk
  expect(billSha1(bytes)).toBe(hash);
  const bill = parseBill(bytes); // throws unless the summary adds up
  expect(bill.header).toEqual([...BILL_HEADERS.ALL]);
  expect(bill.rows).toHaveLength(15_000);
  expect(bill.rows.filter((r) => r['交易状态'] === 'REFUND')).toHaveLength(3_000);
  const times = bill.rows.map((r) => r['交易时间']!);
  expect([...times].sort()).toEqual(times);
  // Each refund follows its payment by a minute; at equal times the payment comes first.
  const firstRefund = bill.rows.findIndex((r) => r['交易状态'] === 'REFUND');
  expect(bill.rows[firstRefund]).toMatchObject({ 商户订单号: 'DAY000000000000', 商户退款单号: 'RDAY000000000000', 退款状态: 'PROCESSING', 商品名称: '咖啡券' });
  expect(bill.summary['总交易单数']).toBe('15000');
});

test('frozen: the same bytes again, gzip or not; CloudPay serves the same bill', async () => {
  const plain = await download(`bill_date=${day}`);
  const gz = await download(`bill_date=${day}&tar_type=GZIP`);
  expect(gz.hash).toBe(plain.hash);
  expect(billSha1(gz.bytes)).toBe(plain.hash);
  const cloudpay = await fetch(`${sandbox.info.baseUrl}/cloudpay/downloadBill`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ subMchId: sandbox.info.merchant.mchid, nonceStr: 'n', billDate: day.replace(/-/g, '') }),
  });
  expect(billSha1(Buffer.from(((await cloudpay.json()) as { data: string }).data, 'utf8'))).toBe(plain.hash);
});
