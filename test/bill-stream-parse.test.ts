/**
 * The bill stream parser (wxpay/bill-stream.ts, wxpay-v3.md §1.7, wxpay-v2-cloudpay.md §4): the three column sets,
 * backticks, BOM and line ends, yuan → fen exactly from the digits, the summary checked against the rows, a malformed
 * row reported by line number while the rest is read, and the files that are not bills at all.
 */
import { BILL_HEADERS, BillCheck, BillSink, decimalUnits, parseBill, parseBillStream, PayError, yuanToFen } from '../wxpay';
import { billBytes, billChunks, billLine } from './helpers/bill-file';

/** Reads a bill through the stream parser, split into `piece`-byte chunks, collecting rows as objects. */
async function read(bytes: Buffer, piece = 7): Promise<{ rows: Record<string, string>[]; malformed: Array<{ line: number; reason: string }>; check: BillCheck }> {
  const rows: Record<string, string>[] = [];
  const malformed: Array<{ line: number; reason: string }> = [];
  let columns: readonly string[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += piece) chunks.push(bytes.subarray(i, i + piece));
  const sink: BillSink = {
    header: (l) => { columns = l.columns; },
    row: (r) => rows.push(Object.fromEntries(columns.map((c, i) => [c, r.text(i)]))),
    malformed: (m) => malformed.push({ line: m.line, reason: m.reason }),
  };
  const check = await parseBillStream(chunks, sink);
  return { rows, malformed, check };
}

const bt = (fields: string[]) => `\`${fields.join(',`')}`;

describe('column sets', () => {
  test('ALL: payment and refund rows, every backtick stripped, split whatever the chunk size', async () => {
    const bill = billBytes([
      { kind: 'payment', outTradeNo: 'A0001', totalFee: 1234 },
      { kind: 'refund', outTradeNo: 'A0001', outRefundNo: 'R0001', refundFee: 500, status: 'PROCESSING' },
    ]);
    for (const piece of [1, 3, 64, 1 << 20]) {
      const { rows, check } = await read(bill, piece);
      expect(check.columns).toEqual([...BILL_HEADERS.ALL]);
      expect(rows.map((r) => [r['商户订单号'], r['交易状态'], r['订单金额'], r['商户退款单号'], r['退款金额'], r['退款状态']])).toEqual([
        ['A0001', 'SUCCESS', '12.34', '0', '0.00', ''],
        ['A0001', 'REFUND', '0.00', 'R0001', '5.00', 'PROCESSING'],
      ]);
      expect(JSON.stringify(rows)).not.toContain('`');
      expect(check).toMatchObject({ rows: 2, malformed: 0, problems: [], complete: true });
      expect(check.computed).toMatchObject({ 总交易单数: 2, 订单总金额: 1234, 退款总金额: 500, 申请退款总金额: 500 });
    }
  });

  test('SUCCESS (20 columns, the 4-column summary of the current doc) and REFUND (29 columns, two refund times)', async () => {
    const success = [
      BILL_HEADERS.SUCCESS.join(','),
      bt(['2024-08-05 10:00:00', 'wx1', '1230000109', '0', '', '4200001', 'S0001', 'o1', 'JSAPI', 'SUCCESS', 'OTHERS', 'CNY', '19.99', '0.00', '咖啡', '', '0.12000', '0.60%', '19.99', '']),
      '总交易单数,应结订单总金额,手续费总金额,订单总金额',
      bt(['1', '19.99', '0.12', '19.99']),
    ].join('\n');
    const s = await read(Buffer.from(success));
    expect(s.rows).toHaveLength(1);
    expect(s.check.problems).toEqual([]);
    expect(s.check.computed).toEqual({ 总交易单数: 1, 应结订单总金额: 1999, 手续费总金额: 12000, 订单总金额: 1999 });

    const refundRow = ['2024-08-05 12:00:00', 'wx1', '1230000109', '0', '', '4200001', 'S0001', 'o1', 'JSAPI', 'REFUND', 'OTHERS', 'CNY', '0.00', '0.00',
      '2024-08-05 12:00:00', '2024-08-05 12:00:05', '50001', 'RF1', '3.00', '0.00', 'ORIGINAL', 'SUCCESS', '咖啡', '', '-0.02000', '0.60%', '0.00', '3.00', ''];
    const refund = `\uFEFF${BILL_HEADERS.REFUND.join(',')}\r\n${bt(refundRow)}\r\n${['总交易单数', '应结订单总金额', '退款总金额', '充值券退款总金额', '手续费总金额', '订单总金额', '申请退款总金额'].join(',')}\r\n${bt(['1', '0.00', '3.00', '0.00', '-0.02', '0.00', '3.00'])}\r\n`;
    const r = await read(Buffer.from(refund));
    expect(r.rows[0]).toMatchObject({ 退款成功时间: '2024-08-05 12:00:05', 商户退款单号: 'RF1', 退款金额: '3.00' });
    expect(r.check.problems).toEqual([]);
  });

  test('the sandbox sample quirk: a count written 45.0; LF lines without a BOM; free text with a comma stays one field', async () => {
    const line = billLine({ kind: 'payment', outTradeNo: 'Q0001', totalFee: 7 }).text.replace('咖啡券', 'Cake, chocolate');
    const text = `${BILL_HEADERS.ALL.join(',')}\n${line}\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n${bt(['1.0', '0.07', '0.00', '0.0', '0.00', '0.07', '0.00'])}\n`;
    const { rows, check } = await read(Buffer.from(text));
    expect(rows[0]!['商品名称']).toBe('Cake, chocolate');
    expect(check.problems).toEqual([]);
  });
});

describe('amounts', () => {
  test('yuan → fen exactly, from the digits (no binary fractions: 0.29 × 100 is 28.999… as a double)', () => {
    expect(Math.round(0.29 * 100)).toBe(29); // the float way needs rounding to be right…
    expect(0.29 * 100).not.toBe(29); // …because it is not
    for (const [yuan, fen] of [['0.29', 29], ['0.07', 7], ['19.99', 1999], ['1', 100], ['45.0', 4500], ['-0.01', -1], ['21474836.47', 2147483647], ['90071992547.40', 9007199254740]] as const) {
      expect(yuanToFen(yuan)).toBe(fen);
    }
    expect(decimalUnits('0.00599', 5)).toBe(599);
    expect(decimalUnits('-1.5', 5)).toBe(-150000);
    for (const bad of ['', '.5', '1.', '1.234', '1,00', '+1', '１', '1e3', '--1', '1234567890123456']) expect(Number.isNaN(decimalUnits(bad, 2))).toBe(true);
    expect(() => yuanToFen('abc')).toThrow(PayError);
  });

  test('the summary is checked against the rows: count and every total it has, each named', async () => {
    const lines = [{ kind: 'payment' as const, outTradeNo: 'B0001', totalFee: 100 }, { kind: 'payment' as const, outTradeNo: 'B0002', totalFee: 250 }];
    const good = await read(billBytes(lines));
    expect(good.check.problems).toEqual([]);
    const bad = await read(billBytes(lines, { summary: (f) => { f[0] = '3'; f[5] = '3.51'; return f; } }));
    expect(bad.check.problems).toEqual([
      '总交易单数 is 3, the bill has 2 data rows',
      "订单总金额 is 3.51, the rows' 订单金额 add up to 3.50",
    ]);
    expect(() => parseBill(billBytes(lines, { summary: (f) => { f[1] = '0.01'; return f; } }))).toThrow(/summary does not add up: 应结订单总金额 is 0.01/);
  });
});

describe('damage', () => {
  test('a malformed row is reported with its line number; the rows around it are still read; the totals are then not all checkable', async () => {
    const bill = billBytes([
      { kind: 'payment', outTradeNo: 'M0001', totalFee: 100 },
      { kind: 'raw', text: '`2024-08-05 10:00:00,`wx1,`only three fields' },
      { kind: 'payment', outTradeNo: 'M0003', totalFee: 300 },
      { kind: 'raw', text: billLine({ kind: 'payment', outTradeNo: 'M0004', totalFee: 1 }).text.replace('`0.01,`0.00,`0,', '`0.0x1,`0.00,`0,') },
      { kind: 'raw', text: 'no backtick at all' },
      { kind: 'payment', outTradeNo: 'M0006', totalFee: 600 },
    ]);
    const { rows, malformed, check } = await read(bill, 11);
    expect(rows.map((r) => r['商户订单号'])).toEqual(['M0001', 'M0003', 'M0006']);
    expect(malformed).toEqual([
      { line: 3, reason: 'bill line 3 has 3 fields, the header has 27' },
      { line: 5, reason: 'bill line 5: 应结订单金额 is not an amount ("0.0x1")' },
      { line: 6, reason: 'bill line 6 does not start with a backtick' },
    ]);
    // 总交易单数 counts the unreadable rows too; the money totals cannot be checked without them.
    expect(check).toMatchObject({ rows: 3, malformed: 3, complete: false, problems: [] });
    // parseBill (whole, strict) refuses it, naming the line.
    expect(() => parseBill(bill)).toThrow(/bill line 3 has 3 fields/);
  });

  test.each([
    ['an empty body', Buffer.alloc(0), /the bill is empty \(0 bytes\)/],
    ['an XML error body (v2 downloadbill)', Buffer.from('<xml><return_code>FAIL</return_code><return_msg>No Bill Exist</return_msg></xml>'), /not a bill: the body starts with <xml>/],
    ['a JSON error body', Buffer.from('{"code":"NO_STATEMENT_EXIST"}'), /not a bill/],
    ['a header without order columns', Buffer.from('a,b,c\n'), /names no 商户订单号/],
    ['a bill cut short (no summary)', Buffer.concat([...billChunks([{ kind: 'payment', outTradeNo: 'C0001', totalFee: 1 }])]).subarray(0, 700), /without its summary/],
    ['a line longer than any bill line', Buffer.alloc(200_000, 0x61), /longer than 65536 bytes/],
    ['text after the summary', Buffer.concat([billBytes([]), Buffer.from('`extra\r\n')]), /follows the summary line/],
  ])('%s is BILL_FORMAT_ERROR', async (_name, bytes, message) => {
    await expect(read(bytes, 4096)).rejects.toMatchObject({ code: 'BILL_FORMAT_ERROR', message: expect.stringMatching(message) });
  });

  test('an empty bill (no rows: header and a zero summary) is a bill', async () => {
    const { rows, check } = await read(billBytes([]));
    expect(rows).toEqual([]);
    expect(check).toMatchObject({ rows: 0, problems: [], summary: { 总交易单数: '0', 订单总金额: '0.00' } });
  });
});
