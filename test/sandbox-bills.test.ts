/**
 * Trade bills (wxpay-v3.md §1.6–1.7): `GET /v3/bill/tradebill` → hash + download_url; the download is signed
 * by the client but answered unsigned, optionally gzip, with SHA-1 over the plain file; the CSV is the §1.7 format
 * (BOM, CRLF, backticks, yuan) built from the sandbox's own trades of that China-time day; the documented errors.
 */
import { gunzipSync } from 'node:zlib';
import { BILL_HEADERS, BILL_SUMMARY_HEADER, billSha1, buildAuthorization, parseBill, yuanToFen } from '../wxpay';
import { RunningSandbox, SandboxReadyInfo, startSandbox } from '../sandbox';
import { advance, control, merchantSigner, paidOrder, refund, refundBody, tempDataDir, v3Request } from './helpers/sandbox-harness';
import { readReference } from './helpers/paths';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
/** The China-time day the trades below happened on, and the orders. */
let tradeDay: string;
let orders: any[];
let refunds: any[];

const NOTIFY = 'https://merchant.example.com/notify';

/** Signed GET of a download_url; returns the raw bytes and headers. */
async function download(info: SandboxReadyInfo, downloadUrl: string, sign = true): Promise<{ status: number; headers: Record<string, string>; bytes: Buffer }> {
  const u = new URL(downloadUrl);
  const pathAndQuery = `${u.pathname}${u.search}`;
  const headers: Record<string, string> = sign ? { Authorization: buildAuthorization(merchantSigner(info), { method: 'GET', url: pathAndQuery }) } : {};
  const res = await fetch(downloadUrl, { headers });
  return { status: res.status, headers: Object.fromEntries(res.headers), bytes: Buffer.from(await res.arrayBuffer()) };
}

const tradebill = (query: string) => v3Request(sandbox.info, 'GET', `/v3/bill/tradebill${query ? `?${query}` : ''}`);

/** Sandbox "today" in China time. */
async function today(): Promise<string> {
  return (await control(sandbox.info, 'GET', '/sandbox/clock')).json.now.slice(0, 10);
}

/** Moves the sandbox clock to 11:00 China time on the day after `day`. */
async function advanceToDayAfter(day: string): Promise<void> {
  const now = Date.parse((await control(sandbox.info, 'GET', '/sandbox/clock')).json.now);
  const target = Date.parse(`${day}T11:00:00+08:00`) + 86_400_000;
  await advance(sandbox.info, Math.max(0, (target - now) / 1000));
}

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
  // Keep the trades clear of midnight: move to 01:00 China time tomorrow if today is nearly over.
  const now = Date.parse((await control(sandbox.info, 'GET', '/sandbox/clock')).json.now);
  const cstHour = new Date(now + 8 * 3600_000).getUTCHours();
  if (cstHour >= 23) await advance(sandbox.info, 2 * 3600);
  orders = [
    await paidOrder(sandbox.info, NOTIFY, { amount: { total: 1234, currency: 'CNY' }, description: 'Cake, chocolate', attach: 'cart=1' }),
    await paidOrder(sandbox.info, NOTIFY, { amount: { total: 1, currency: 'CNY' } }),
    await paidOrder(sandbox.info, NOTIFY, { amount: { total: 5000, currency: 'CNY' }, scene_info: { payer_client_ip: '127.0.0.1', device_id: 'POS-1' } }),
  ];
  tradeDay = orders[0].success_time.slice(0, 10);
  refunds = [
    (await refund(sandbox.info, refundBody(orders[2], 1500))).json,
    (await refund(sandbox.info, refundBody(orders[2], 500))).json,
  ];
  await control(sandbox.info, 'POST', `/sandbox/refunds/${refunds[0].out_refund_no}/settle`, { status: 'SUCCESS' });
  // An order left unpaid is not in any bill.
  await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', { appid: sandbox.info.merchant.appid, mchid: sandbox.info.merchant.mchid, description: 'unpaid', out_trade_no: `UNPAID${Date.now()}`, notify_url: NOTIFY, amount: { total: 9 }, payer: { openid: 'o1' } });
});

afterAll(async () => {
  await sandbox?.close();
  data?.remove();
});

test("today's bill is not generated yet: STATEMENT_CREATING; tomorrow's too", async () => {
  const res = await tradebill(`bill_date=${await today()}`);
  expect([res.status, res.json.code]).toEqual([400, 'STATEMENT_CREATING']);
  const future = await tradebill('bill_date=2999-01-01');
  expect([future.status, future.json.code]).toEqual([400, 'STATEMENT_CREATING']);
});

describe('the next day', () => {
  beforeAll(() => advanceToDayAfter(tradeDay));

  test('ALL: hash + download_url; the download is unsigned, its SHA-1 equals hash_value, and the CSV has the §1.7 shape and our trades', async () => {
    const res = await tradebill(`bill_date=${tradeDay}&bill_type=ALL`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ hash_type: 'SHA1', hash_value: expect.stringMatching(/^[0-9a-f]{40}$/), download_url: expect.stringMatching(/\/v3\/billdownload\/file\?token=[\w-]+$/) });
    expect(res.json.download_url.startsWith(sandbox.baseUrl)).toBe(true);

    const file = await download(sandbox.info, res.json.download_url);
    expect(file.status).toBe(200);
    expect(Object.keys(file.headers).filter((h) => h.startsWith('wechatpay-'))).toEqual([]);
    expect(billSha1(file.bytes)).toBe(res.json.hash_value);

    const text = file.bytes.toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/\n/);
    const lines = text.slice(1).split('\r\n').filter(Boolean);
    // Same header and summary header as the real sample bill.
    const sample = readReference('wxpay-v3-bill.ALL.sample.csv').toString('utf8').replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
    expect(lines[0]).toBe(sample[0]);
    expect(lines[lines.length - 2]).toBe(sample[sample.length - 2]);
    for (const line of [...lines.slice(1, -2), lines[lines.length - 1]!]) expect(line.split(',').every((f) => f.startsWith('`'))).toBe(true);

    const bill = parseBill(text);
    expect(bill.header).toEqual([...BILL_HEADERS.ALL]);
    expect(bill.summaryHeader).toEqual([...BILL_SUMMARY_HEADER]);
    expect(bill.rows).toHaveLength(5); // 3 payments + 2 refunds
    const payments = bill.rows.filter((r) => r['交易状态'] === 'SUCCESS');
    const refundRows = bill.rows.filter((r) => r['交易状态'] === 'REFUND');
    expect(payments.map((r) => r['商户订单号']).sort()).toEqual(orders.map((o) => o.out_trade_no).sort());
    const cake = payments.find((r) => r['商户订单号'] === orders[0].out_trade_no)!;
    expect(cake).toMatchObject({
      交易时间: orders[0].success_time.slice(0, 19).replace('T', ' '), 公众账号ID: sandbox.info.merchant.appid, 商户号: sandbox.info.merchant.mchid, 特约商户号: '0',
      微信订单号: orders[0].transaction_id, 用户标识: orders[0].payer.openid, 交易类型: 'JSAPI', 付款银行: 'OTHERS', 货币种类: 'CNY',
      应结订单金额: '12.34', 代金券金额: '0.00', 微信退款单号: '0', 商户退款单号: '0', 退款金额: '0.00', 退款类型: '', 退款状态: '',
      商品名称: 'Cake， chocolate', 商户数据包: 'cart=1', 订单金额: '12.34', 申请退款金额: '0.00', 费率: '0.60%',
    });
    expect(cake['手续费']).toMatch(/^\d+\.\d{5}$/);
    expect(payments.find((r) => r['商户订单号'] === orders[1].out_trade_no)!['应结订单金额']).toBe('0.01');
    expect(payments.find((r) => r['商户订单号'] === orders[2].out_trade_no)!['设备号']).toBe('POS-1');
    expect(refundRows.map((r) => [r['商户退款单号'], r['微信退款单号'], r['退款金额'], r['申请退款金额'], r['应结订单金额'], r['退款状态'], r['退款类型']]).sort()).toEqual([
      [refunds[0].out_refund_no, refunds[0].refund_id, '15.00', '15.00', '0.00', 'SUCCESS', 'ORIGINAL'],
      [refunds[1].out_refund_no, refunds[1].refund_id, '5.00', '5.00', '0.00', 'PROCESSING', 'ORIGINAL'],
    ].sort());
    // Rows are in time order, and the summary adds up.
    const times = bill.rows.map((r) => r['交易时间']!);
    expect([...times].sort()).toEqual(times);
    const sum = (col: string): number => bill.rows.reduce((s, r) => s + yuanToFen(r[col]!), 0);
    expect(bill.summary).toEqual({
      总交易单数: '5', 应结订单总金额: '62.35', 退款总金额: '20.00', 充值券退款总金额: '0.00',
      手续费总金额: expect.stringMatching(/^-?\d+\.\d{2}$/), 订单总金额: '62.35', 申请退款总金额: '20.00',
    });
    expect(yuanToFen(bill.summary['应结订单总金额']!)).toBe(sum('应结订单金额'));
    expect(yuanToFen(bill.summary['手续费总金额']!)).toBe(bill.rows.reduce((s, r) => s + Math.round(Number(r['手续费']) * 100), 0));
  });

  test('GZIP: the download is gzip, and SHA-1 of the decompressed bytes equals hash_value (the same as the plain bill)', async () => {
    const plain = await tradebill(`bill_date=${tradeDay}`);
    const gz = await tradebill(`bill_date=${tradeDay}&bill_type=ALL&tar_type=GZIP`);
    expect(gz.json.hash_value).toBe(plain.json.hash_value);
    expect(gz.json.download_url).toMatch(/&tartype=gzip$/);
    const file = await download(sandbox.info, gz.json.download_url);
    expect(file.status).toBe(200);
    expect(file.bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(billSha1(gunzipSync(file.bytes))).toBe(gz.json.hash_value);
  });

  test('SUCCESS and REFUND bills have their own columns', async () => {
    const success = parseBill((await download(sandbox.info, (await tradebill(`bill_date=${tradeDay}&bill_type=SUCCESS`)).json.download_url)).bytes.toString('utf8'));
    expect(success.header).toEqual([...BILL_HEADERS.SUCCESS]);
    expect(success.rows).toHaveLength(3);
    expect(success.rows.every((r) => r['交易状态'] === 'SUCCESS')).toBe(true);
    expect(success.summary['总交易单数']).toBe('3');

    const refundsBill = parseBill((await download(sandbox.info, (await tradebill(`bill_date=${tradeDay}&bill_type=REFUND`)).json.download_url)).bytes.toString('utf8'));
    expect(refundsBill.header).toEqual([...BILL_HEADERS.REFUND]);
    expect(refundsBill.rows).toHaveLength(2);
    const settled = refundsBill.rows.find((r) => r['商户退款单号'] === refunds[0].out_refund_no)!;
    expect(settled['退款申请时间']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(settled['退款成功时间']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(refundsBill.rows.find((r) => r['商户退款单号'] === refunds[1].out_refund_no)!['退款成功时间']).toBe('');
  });

  test('a bill is frozen once generated: a refund settling later does not change it', async () => {
    const before = await tradebill(`bill_date=${tradeDay}`);
    await control(sandbox.info, 'POST', `/sandbox/refunds/${refunds[1].out_refund_no}/settle`, { status: 'SUCCESS' });
    const after = await tradebill(`bill_date=${tradeDay}`);
    expect(after.json.hash_value).toBe(before.json.hash_value);
    expect(after.json.download_url).not.toBe(before.json.download_url);
  });

  test('errors: a day without trades, older than 3 months, malformed date / type / tar_type', async () => {
    const quiet = new Date(Date.parse(`${tradeDay}T12:00:00+08:00`) - 10 * 86_400_000).toISOString().slice(0, 10);
    const none = await tradebill(`bill_date=${quiet}`);
    expect([none.status, none.json.code]).toEqual([400, 'NO_STATEMENT_EXIST']);
    expect(none.json.message).toBe('请求的账单文件不存在');
    const old = new Date(Date.parse(`${tradeDay}T12:00:00+08:00`) - 100 * 86_400_000).toISOString().slice(0, 10);
    expect((await tradebill(`bill_date=${old}`)).json.code).toBe('PARAM_ERROR');
    for (const q of ['bill_date=2024-1-01', 'bill_date=2024-02-30', 'bill_date=20240201', '', `bill_date=${tradeDay}&bill_type=BOTH`, `bill_date=${tradeDay}&tar_type=ZIP`]) {
      const res = await tradebill(q);
      expect({ q, status: res.status, code: res.json.code }).toEqual({ q, status: 400, code: 'PARAM_ERROR' });
    }
  });

  test('the download needs a signed request and a live token (5 sandbox minutes)', async () => {
    const res = await tradebill(`bill_date=${tradeDay}`);
    const unsigned = await download(sandbox.info, res.json.download_url, false);
    expect(unsigned.status).toBe(401);
    const bogus = await download(sandbox.info, `${sandbox.baseUrl}/v3/billdownload/file?token=nope`);
    expect(bogus.status).toBe(400);
    await advance(sandbox.info, 301);
    const expired = await download(sandbox.info, res.json.download_url);
    expect(expired.status).toBe(400);
    expect(JSON.parse(expired.bytes.toString('utf8'))).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'token' } });
  });
});
