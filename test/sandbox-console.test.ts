/**
 * The console page in a real browser (Debian's chromium through playwright-core): an order placed through the
 * signed API is paid by clicking Pay, a refund is settled by clicking Settle SUCCESS, the notification log shows the
 * deliveries and a failure kind is reported; the clock advances from the page. Everything is checked again
 * through the API, so the page really drove the sandbox.
 */
import { Browser, chromium, Page } from 'playwright-core';
import { RunningSandbox, startSandbox } from '../sandbox';
import { control, newOutTradeNo, prepayBody, refund, refundBody, startVerifyingReceiver, tempDataDir, v3Request, waitFor } from './helpers/sandbox-harness';

const SCREENSHOT = '/tmp/sandbox-console.png';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
let browser: Browser;
let page: Page;
let rx: Awaited<ReturnType<typeof startVerifyingReceiver>>;

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
  rx = await startVerifyingReceiver(sandbox.info);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(8000);
});

afterAll(async () => {
  await browser?.close();
  await rx?.close();
  await sandbox?.close();
  data?.remove();
});

const queryOrder = (no: string) => v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${sandbox.info.merchant.mchid}`);

test('pay an order, fail another, settle a refund and advance the clock from the console', async () => {
  const paidNo = newOutTradeNo('WEB');
  const failNo = newOutTradeNo('WEBF');
  for (const no of [paidNo, failNo]) {
    const created = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, no, rx.url, { description: `控制台测试 ${no.slice(-4)}` }));
    expect(created.status).toBe(200);
  }

  await page.goto(sandbox.info.console);
  const paidRow = page.locator(`#transactions tr[data-out-trade-no="${paidNo}"]`);
  await paidRow.locator('.state').filter({ hasText: 'NOTPAY' }).waitFor();
  await paidRow.locator('button[data-action="pay"]').click();
  await paidRow.locator('.state').filter({ hasText: 'SUCCESS' }).waitFor();
  expect((await queryOrder(paidNo)).json.trade_state).toBe('SUCCESS');
  await waitFor(() => rx.received.length === 1, 'TRANSACTION.SUCCESS');
  expect(rx.received[0]).toMatchObject({ ok: true, eventType: 'TRANSACTION.SUCCESS' });

  // A failure kind: the order stays NOTPAY and the page says what happened.
  const failRow = page.locator(`#transactions tr[data-out-trade-no="${failNo}"]`);
  await failRow.locator('select').selectOption('NOT_ENOUGH');
  await failRow.locator('button[data-action="fail"]').click();
  await page.locator('#banner').filter({ hasText: 'NOT_ENOUGH' }).waitFor();
  await failRow.locator('td.last-attempt').filter({ hasText: 'NOT_ENOUGH' }).waitFor();
  expect((await queryOrder(failNo)).json.trade_state).toBe('NOTPAY');

  // A refund created through the signed API is settled from the page.
  const order = (await queryOrder(paidNo)).json;
  const body = refundBody(order, 40);
  expect((await refund(sandbox.info, body)).json.status).toBe('PROCESSING');
  const refundRow = page.locator(`#refunds tr[data-out-refund-no="${body.out_refund_no}"]`);
  await refundRow.locator('.state').filter({ hasText: 'PROCESSING' }).waitFor();
  await refundRow.locator('button[data-status="SUCCESS"]').click();
  await refundRow.locator('.state').filter({ hasText: 'SUCCESS' }).waitFor();
  expect((await v3Request(sandbox.info, 'GET', `/v3/refund/domestic/refunds/${body.out_refund_no}`)).json.status).toBe('SUCCESS');
  await waitFor(() => rx.received.length === 2, 'REFUND.SUCCESS');
  expect(rx.received[1]).toMatchObject({ ok: true, eventType: 'REFUND.SUCCESS' });
  await page.locator('#transactions tr[data-out-trade-no="' + paidNo + '"] .state').filter({ hasText: 'REFUND' }).waitFor();

  // The notification log lists both deliveries; details show what was sent.
  const notes = page.locator('#notifications tbody tr');
  await page.locator('#notifications .attempt.ok').nth(1).waitFor();
  expect(await notes.count()).toBe(2);
  const refundNote = page.locator('#notifications tr', { hasText: 'REFUND.SUCCESS' });
  await refundNote.locator('summary').click();
  await refundNote.locator('pre').first().filter({ hasText: 'Wechatpay-Signature' }).waitFor();

  // The clock moves from the page.
  const before = Date.parse((await control(sandbox.info, 'GET', '/sandbox/clock')).json.now);
  await page.locator('button[data-advance="3600"]').click();
  await page.locator('#banner').filter({ hasText: 'Advance 3600 s' }).waitFor();
  expect(Date.parse((await control(sandbox.info, 'GET', '/sandbox/clock')).json.now) - before).toBeGreaterThanOrEqual(3600_000);

  // Errors from the control API are shown, not swallowed: paying the paid order again is refused.
  const error = await page.evaluate(async (no) => (await fetch(`/sandbox/transactions/${no}/pay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"result":"SUCCESS"}' })).status, paidNo);
  expect(error).toBe(409);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});
