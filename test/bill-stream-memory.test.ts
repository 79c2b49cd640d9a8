/**
 * A bill larger than memory would allow as one string is read as a stream: a generated source of more than 512 MB
 * (V8 cannot even hold that as one string) goes through the parser while the process's memory stays flat, and the
 * summary at its end is still checked against every row. The source repeats one block of rows, cut mid-line, so
 * lines straddle chunks all the way through.
 */
import { BILL_HEADERS, BILL_SUMMARY_HEADER, fenToYuan, parseBillStream } from '../wxpay';
import { billLine, millionAmount, millionOrderNo } from './helpers/bill-file';

const VIRTUAL_BYTES = 520 * 1024 * 1024;

test('> 512 MB of bill through the parser in bounded memory', async () => {
  const lines = Array.from({ length: 256 }, (_, i) => billLine({ kind: 'payment', outTradeNo: millionOrderNo(i), totalFee: millionAmount(i) }));
  const block = Buffer.from(lines.map((l) => `${l.text}\r\n`).join(''), 'utf8');
  const blockOrder = lines.reduce((s, l) => s + l.order, 0);
  const blockFee = lines.reduce((s, l) => s + l.fee, 0);
  const blocks = Math.ceil(VIRTUAL_BYTES / block.length);
  const cut = 1000; // inside a line

  function* source(): Generator<Buffer> {
    yield Buffer.from(`\uFEFF${BILL_HEADERS.ALL.join(',')}\r\n`);
    for (let b = 0; b < blocks; b++) {
      yield block.subarray(0, cut);
      yield block.subarray(cut);
    }
    const rows = blocks * lines.length;
    yield Buffer.from(`${BILL_SUMMARY_HEADER.join(',')}\r\n\`${[String(rows), fenToYuan(blocks * blockOrder), '0.00', '0.00', fenToYuan(blocks * blockFee), fenToYuan(blocks * blockOrder), '0.00'].join(',`')}\r\n`);
  }

  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  let rows = 0;
  const check = await parseBillStream(source(), {
    row: () => {
      if (++rows % 65_536 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      }
    },
  });
  expect(check.bytes).toBeGreaterThan(512 * 1024 * 1024);
  expect(check.rows).toBe(blocks * lines.length);
  expect(check.problems).toEqual([]);
  // Nothing near the bill's size was held: a few chunks and the parser's own state.
  expect((peakRss - before.rss) / 2 ** 20).toBeLessThan(96);
  expect((peakHeap - before.heapUsed) / 2 ** 20).toBeLessThan(64);
}, 60_000);
