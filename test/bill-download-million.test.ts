/**
 * downloadBill on a bill of 1,000,000 rows (~250 MB) answers within what a cloud function may return (CloudBase:
 * 1 MB per answer, connector/bill.ts): the summary, the row count and one page, with the offset of the next; the
 * last page ends the bill; `raw` refuses a bill that size. The v3 backend talks to a stand-in WeChat Pay here —
 * a signed tradebill answer and a streamed download — since only the bytes' size matters.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { connectorFunctionHandler, createConnector, V3Provider } from '../connector';
import { BILL_HEADERS, BILL_SUMMARY_HEADER, fenToYuan, signResponse } from '../wxpay';
import { billLine, millionAmount, millionOrderNo } from './helpers/bill-file';

const ROWS = 1_000_000;
const BLOCK = 1000;
const KEY_ID = 'PUB_KEY_ID_0112345678202412010000000000000000';

/** The bill: one block of 1000 distinct rows, 1000 times, and a summary that adds up. */
function* bill(): Generator<Buffer> {
  const lines = Array.from({ length: BLOCK }, (_, i) => billLine({ kind: 'payment', outTradeNo: millionOrderNo(i), totalFee: millionAmount(i) }));
  const block = Buffer.from(lines.map((l) => `${l.text}\r\n`).join(''), 'utf8');
  const order = lines.reduce((s, l) => s + l.order, 0) * (ROWS / BLOCK);
  const fee = lines.reduce((s, l) => s + l.fee, 0) * (ROWS / BLOCK);
  yield Buffer.from(`\uFEFF${BILL_HEADERS.ALL.join(',')}\r\n`);
  for (let b = 0; b < ROWS / BLOCK; b++) yield block;
  yield Buffer.from(`${BILL_SUMMARY_HEADER.join(',')}\r\n\`${[String(ROWS), fenToYuan(order), '0.00', '0.00', fenToYuan(fee), fenToYuan(order), '0.00'].join(',`')}\r\n`);
}

test('a 1,000,000-row bill: each downloadBill answer stays under 1 MB; pages to the end; raw refused', async () => {
  const hash = createHash('sha1');
  let size = 0;
  for (const chunk of bill()) { hash.update(chunk); size += chunk.length; }
  const sha1 = hash.digest('hex');
  expect(size).toBeGreaterThan(200 * 1024 * 1024);

  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const base = 'https://api.mch.weixin.qq.com';
  const wechatPay: typeof fetch = async (input) => {
    const url = new URL(String(input));
    if (url.pathname === '/v3/bill/tradebill') {
      const body = JSON.stringify({ hash_type: 'SHA1', hash_value: sha1, download_url: `${base}/v3/billdownload/file?token=T1` });
      return new Response(body, { status: 200, headers: { ...signResponse({ privateKey: platform.privateKey, serial: KEY_ID, body }), 'Content-Type': 'application/json', 'Request-ID': 'R-1' } });
    }
    // Answered plain (not gzip) to keep the test fast: the provider reads either. Pulled a chunk at a time.
    const chunks = bill();
    return new Response(new ReadableStream({
      pull: (c) => { const next = chunks.next(); if (next.done) c.close(); else c.enqueue(next.value); },
      cancel: () => { chunks.return(undefined); },
    }), { status: 200 });
  };
  const provider = new V3Provider({
    baseUrl: base, appid: 'wxd678efh567hg6787', mchid: '1230000109', merchantSerialNo: '1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C',
    privateKey: merchant.privateKey, platformKeys: { [KEY_ID]: platform.publicKey }, notifyUrl: 'https://example.com/notify', timeoutMs: 30_000, fetch: wechatPay,
  });
  const answer = connectorFunctionHandler(createConnector(provider, { retry: { maxRetries: 0, baseDelayMs: 0 } }));

  const first = await answer({ method: 'downloadBill', params: { billDate: '2024-08-05' } });
  expect(first.ok).toBe(true);
  expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThan(1024 * 1024);
  const page = (first as { data: any }).data;
  expect(page).toMatchObject({ totalRows: ROWS, offset: 0, nextOffset: 500, summary: { count: ROWS } });
  expect(page.rows).toHaveLength(500);
  expect(page.rows[0]).toMatchObject({ outTradeNo: millionOrderNo(0), totalFee: millionAmount(0) });

  const last = await answer({ method: 'downloadBill', params: { billDate: '2024-08-05', offset: ROWS - 1000, limit: 1000 } });
  expect(Buffer.byteLength(JSON.stringify(last))).toBeLessThan(1024 * 1024);
  const end = (last as { data: any }).data;
  expect([end.rows.length, end.nextOffset, end.rows[999].outTradeNo]).toEqual([1000, undefined, millionOrderNo(BLOCK - 1)]);

  const raw = await answer({ method: 'downloadBill', params: { billDate: '2024-08-05', raw: true } });
  expect(raw).toMatchObject({ ok: false, error: { code: 'PARAM_ERROR', detail: { field: 'raw' } } });
}, 60_000);
