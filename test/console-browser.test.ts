/**
 * The console in a real browser (Debian's chromium through playwright-core) against the real dev server, once with
 * the v3 provider and once with CloudPay: the empty state says how to place an order (and its unifiedOrder command
 * works as printed); the header names the provider; an order paid from the console notifies the app, and its
 * details open without a page error and show the decrypted payload beside what was sent; the API request log lists
 * the connector's call; a refund made from the console reaches the app's refund callback; a day's trade bill
 * downloads as CSV; at 420 px the page does not scroll sideways. Then the workbench: the app preview and the console
 * side by side at `/`, JSON still for API clients. Screenshots go to test-output/screenshots/.
 */
import fs from 'node:fs';
import { Browser, Page } from 'playwright-core';
import { DESKTOP, launchChromium, NARROW, screenshotBoth } from './helpers/browser';
import { startTestDev, TestDev } from './helpers/dev';

let browser: Browser;
beforeAll(async () => { browser = await launchChromium(); });
afterAll(async () => { await browser?.close(); });

/** The page's width beyond the viewport: 0 when nothing makes the page scroll sideways. (Strings: the tests have no DOM types.) */
const overflow = (page: Page) => page.evaluate<number>('document.scrollingElement.scrollWidth - window.innerWidth');
const scrollWidth = (page: Page) => page.evaluate<number>('document.scrollingElement.scrollWidth');
const toTop = (page: Page) => page.evaluate('window.scrollTo(0, 0)');

describe.each(['v3', 'cloudpay'] as const)('the console beside the dev server (%s)', (provider) => {
  let t: TestDev;
  let page: Page;
  let dev: string;
  let orderNo: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestDev({ provider, refundSettleSeconds: null });
    dev = t.dev.info.devServer.baseUrl;
    page = await browser.newPage({ viewport: DESKTOP });
    page.setDefaultTimeout(8000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });
  afterAll(async () => {
    await page?.close();
    await t?.close();
  });
  afterEach(() => expect(pageErrors).toEqual([]));

  const getOrder = async (no: string) => t.model('orders', 'wedaGetItemV2', { filter: { where: { orderNo: { $eq: no } } } });

  test('the empty state says how to place an order, and its unifiedOrder command works as shown', async () => {
    await page.goto(t.dev.info.console);
    const start = page.locator('#start');
    await start.filter({ hasText: 'No orders yet' }).waitFor();
    expect(await start.textContent()).toContain(`Open the app preview at ${dev}/app`);
    const commands = await start.locator('pre').allTextContents();
    expect(commands[0]).toBe(`curl -s ${dev}/connector/checkout -d '{"goodsId":"<goods _id>","openid":"o-demo"}'`);
    expect(commands[1]).toMatch(new RegExp(`^curl -s ${dev}/connector/unifiedOrder -d '\\{"body":"demo","outTradeNo":"DEMO\\d+","totalFee":1,"openid":"o-demo"\\}'$`));
    expect(await page.locator('#provider').textContent()).toBe(provider === 'v3' ? 'v3 API' : 'CloudPay');
    expect(await page.locator('#app-link').getAttribute('href')).toBe(`${dev}/app`);

    // Run the command as curl sends it (-d: a form content type, the JSON as the body), for an order the app knows.
    const [, url, body] = /^curl -s (\S+) -d '(.*)'$/.exec(commands[1]!)!;
    orderNo = JSON.parse(body!).outTradeNo;
    await t.model('orders', 'wedaCreateV2', { data: { orderNo, amount: 1, status: 1 } });
    const placed = await fetch(url!, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    expect(placed.status).toBe(200);
    await page.locator(`#transactions tr[data-out-trade-no="${orderNo}"] .state`).filter({ hasText: 'NOTPAY' }).waitFor();
    await start.waitFor({ state: 'hidden' });
  });

  test('paid from the console: the notification details open and show the decrypted payload beside what was sent', async () => {
    await page.locator(`#transactions tr[data-out-trade-no="${orderNo}"] button[data-action="pay"]`).click();
    await t.waitFor(async () => (await getOrder(orderNo)).status === 2, 'the app marks the order paid');
    const note = page.locator('#notifications tr', { hasText: provider === 'v3' ? 'TRANSACTION.SUCCESS' : 'CLOUDPAY.PAYMENT' });
    await note.locator('.badge.s-delivered').waitFor();
    await note.locator('summary').click();
    const plaintext = note.locator('pre.plaintext');
    await plaintext.waitFor();
    const shown = JSON.parse((await plaintext.textContent())!);
    const sent = (await note.locator('pre.sent').first().textContent())!;
    if (provider === 'v3') {
      expect(shown).toMatchObject({ out_trade_no: orderNo, trade_state: 'SUCCESS', amount: { total: 1 } });
      expect(await note.locator('.detail-plain h4').textContent()).toMatch(/^Decrypted resource/);
      expect(sent).toContain(`→ POST ${dev}/functions/pay-notify`);
      expect(sent).toContain('Wechatpay-Signature: ');
      expect(sent).toContain('"ciphertext"');
      expect(sent).not.toContain(orderNo); // encrypted on the wire, in clear beside it
    } else {
      expect(shown).toMatchObject({ outTradeNo: orderNo, resultCode: 'SUCCESS', totalFee: 1 });
      expect(await note.locator('.detail-plain h4').textContent()).toMatch(/^The event/);
      expect(sent).toContain(`→ POST ${dev}/functions/`);
    }
  });

  test('the API request log lists the connector\'s call', async () => {
    const path = provider === 'v3' ? '/v3/pay/transactions/jsapi' : '/cloudpay/unifiedOrder';
    const row = page.locator('#requests tbody tr', { hasText: path }).first();
    await row.waitFor();
    expect(await row.locator('.badge').textContent()).toBe('200');
    await row.locator('summary').click();
    expect(await row.locator('pre').first().textContent()).toContain(orderNo);
  });

  test('a refund made from the console reaches the app\'s refund callback', async () => {
    const row = page.locator(`#transactions tr[data-out-trade-no="${orderNo}"]`);
    expect(await row.locator('input[data-refund-amount]').inputValue()).toBe('0.01');
    await row.locator('button[data-action="refund"]').click();
    await page.locator('#banner').filter({ hasText: `Refund ¥0.01 of ${orderNo} ✓` }).waitFor();
    const refundRow = page.locator('#refunds tbody tr', { hasText: orderNo });
    await refundRow.locator('.state').filter({ hasText: 'PROCESSING' }).waitFor();
    expect(await refundRow.textContent()).toContain('via console');
    await refundRow.locator('button[data-status="SUCCESS"]').click();
    await refundRow.locator('.state').filter({ hasText: 'SUCCESS' }).waitFor();

    const note = page.locator('#notifications tr', { hasText: provider === 'v3' ? 'REFUND.SUCCESS' : 'CLOUDPAY.REFUND' });
    await note.locator('.badge.s-delivered').waitFor();
    const target = provider === 'v3' ? `${dev}/functions/refund-notify` : `cloudfunction://local-dev/${t.dev.resolved.cloudpay!.refundCallbackFunction}`;
    expect(await note.locator('td.url').textContent()).toBe(target);
    // A refund made outside the app still ends the order refunded (2 → 3 → 4, refund-notify.ts).
    await t.waitFor(async () => (await getOrder(orderNo)).status === 4, 'the app marks the order refunded');
  });

  test('a day\'s trade bill downloads as the CSV the v3 download serves', async () => {
    const paidDay = (await page.locator('#bill-date').inputValue());
    await page.locator('button[data-advance="86400"]').click();
    await page.locator('#banner').filter({ hasText: 'Advance 86400 s' }).waitFor();
    await t.waitFor(async () => (await page.locator('#bill-date').inputValue()) !== paidDay, 'the bill date to follow the clock');
    expect(await page.locator('#bill-date').inputValue() > paidDay).toBe(true);

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#bill-form button[type="submit"]').click()]);
    const day = await page.locator('#bill-date').inputValue();
    expect(download.suggestedFilename()).toBe(`tradebill-${day}-ALL.csv`);
    const csv = fs.readFileSync((await download.path())!);
    expect(csv.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const text = csv.toString('utf8');
    expect(text).toContain(`\`${orderNo}`);
    expect(text.split('\r\n')[0]).toMatch(/^\uFEFF交易时间,/);
    const server = await fetch(`${t.dev.info.baseUrl}/sandbox/tradebill?bill_date=${day}&bill_type=ALL`);
    expect(Buffer.from(await server.arrayBuffer())).toEqual(csv);
    expect(await page.locator('#bill-result').textContent()).toContain('2 trades'); // the payment and the refund
  });

  test('at phone width nothing scrolls sideways; screenshots', async () => {
    await page.setViewportSize(NARROW);
    await toTop(page);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    expect(await scrollWidth(page)).toBeLessThanOrEqual(420);
    await page.locator('#notifications-panel').scrollIntoViewIfNeeded();
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await toTop(page);
    await screenshotBoth(page, `console-${provider}`);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
  });
});

describe('the workbench at the dev server\'s /', () => {
  let t: TestDev;
  let page: Page;

  beforeAll(async () => {
    t = await startTestDev({ refundSettleSeconds: null });
    page = await browser.newPage({ viewport: DESKTOP });
    page.setDefaultTimeout(8000);
  });
  afterAll(async () => {
    await page?.close();
    await t?.close();
  });

  test('API clients asking for JSON still get the index', async () => {
    const r = await fetch(`${t.dev.info.devServer.baseUrl}/`, { headers: { Accept: 'application/json' } });
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await r.json()).toEqual({
      app: `${t.dev.info.devServer.baseUrl}/app`, console: t.dev.info.console,
      connector: `${t.dev.info.devServer.baseUrl}/connector/{method}`, models: `${t.dev.info.devServer.baseUrl}/models/{name}/{methodName}`,
    });
  });

  test('the app preview beside the console; stacked at phone width; screenshots', async () => {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${t.dev.info.devServer.baseUrl}/`);
    expect(await page.title()).toBe('weda-wxpay workbench');
    expect(await page.locator('#app-frame').getAttribute('src')).toBe(`${t.dev.info.devServer.baseUrl}/app`);
    expect(await page.locator('#console-frame').getAttribute('src')).toBe(t.dev.info.console);
    const app = page.frameLocator('#app-frame');
    const console = page.frameLocator('#console-frame');
    await app.locator('text=微搭贴纸').first().waitFor();
    await console.locator('#start').filter({ hasText: 'No orders yet' }).waitFor();

    const phone = (await page.locator('#app-frame').boundingBox())!;
    const side = (await page.locator('#console-frame').boundingBox())!;
    expect(phone.width).toBeLessThanOrEqual(440);
    expect(side.x).toBeGreaterThanOrEqual(phone.x + phone.width);
    expect(side.width).toBeGreaterThan(700);

    await page.setViewportSize(NARROW);
    const stackedPhone = (await page.locator('#app-frame').boundingBox())!;
    const stackedConsole = (await page.locator('#console-frame').boundingBox())!;
    expect(stackedConsole.y).toBeGreaterThanOrEqual(stackedPhone.y + stackedPhone.height);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await screenshotBoth(page, 'workbench');
    expect(errors).toEqual([]);
  });
});
