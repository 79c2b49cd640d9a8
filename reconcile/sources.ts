/**
 * Where the bill is read from. Either way the rows go through the one stream parser (wxpay/bill-stream.ts):
 * - `openedBill`: a provider's `openBill` — v3 downloads the day's bill gzip and checks its SHA-1 as it streams;
 *   CloudPay answers it whole (asked gzip). This is what the reconcile function and `weda-wxpay reconcile --config` use.
 * - `pagedBill`: a connector reached over HTTP (the dev server's `POST /connector/downloadBill`), page after page
 *   (`offset` → `nextOffset`), each page written back as bill lines; the connector has checked the hash and the
 *   summary of the whole bill on every page, and the parser checks the summary again.
 */
import { parseBillStream } from '../wxpay';
import { billLinesOfPage, type BillSource } from '../connector/bill';
import type { DownloadBillOutput } from '../schemas/types.generated';
import type { BillReader } from './compare';

/** Rows per page asked of a connector (its most: connector/bill.ts keeps each answer under the size limit). */
const PAGE_ROWS = 1000;

export function streamedBill(bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): BillReader {
  return (sink, afterChunk) => parseBillStream(bytes, sink, { afterChunk });
}

/** The ALL bill (payments and refunds) of `billDate` from a provider. */
export async function openedBill(source: BillSource, billDate: string): Promise<BillReader> {
  return streamedBill(await source.openBill({ billDate, billType: 'ALL' }));
}

/** The ALL bill of `billDate` through a connector's downloadBill, page by page. */
export function pagedBill(downloadBill: (params: Record<string, unknown>) => Promise<DownloadBillOutput>, billDate: string): BillReader {
  async function* lines(): AsyncGenerator<Buffer> {
    let offset: number | undefined = 0;
    let first = true;
    while (offset !== undefined) {
      const page: DownloadBillOutput = await downloadBill({ billDate, billType: 'ALL', offset, limit: PAGE_ROWS });
      const last = page.nextOffset === undefined || page.rows.length === 0;
      yield Buffer.from(billLinesOfPage(page, { header: first, summary: last }), 'utf8');
      first = false;
      offset = last ? undefined : page.nextOffset;
    }
  }
  return streamedBill(lines());
}
