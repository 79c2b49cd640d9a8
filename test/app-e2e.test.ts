/**
 * The template app end to end, in a real browser against the real dev server and sandbox — no doubles: the
 * preview renders app-template/app.json, 支付 runs the connector's checkout, the sandbox pay sheet pays, the
 * generated pay-notify function marks the order paid, 申请退款 runs requestRefund, the sandbox settles the refund
 * and the generated refund-notify function marks it refunded. Once on v3, once on CloudPay.
 */
import { Browser, Page } from 'playwright-core';
import { DESKTOP, launchChromium, screenshotBoth } from './helpers/browser';
import { startTestDev, TestDev } from './helpers/dev';

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe.each(['v3', 'cloudpay'] as const)('the template app on %s', (provider) => {
  let t: TestDev;
  let page: Page;

  beforeAll(async () => {
    t = await startTestDev({ provider });
    page = await browser.newPage({ viewport: DESKTOP });
    page.setDefaultTimeout(10_000);
  });

  afterAll(async () => {
    await page?.close();
    await t?.close();
  });

  const card = (name: string) => page.locator('[data-wd-id="goodsCard"]').filter({ hasText: name });
  const orderCard = (orderNo: string) => page.locator('[data-wd-id="orderCard"]').filter({ hasText: orderNo });
  const sheet = () => page.getByTestId('pay-sheet');
  const modal = () => page.getByTestId('platform-modal');
  const toast = () => page.getByTestId('toast');

  async function orderRows(): Promise<any[]> {
    const r = await t.model('orders', 'wedaGetRecordsV2', { filter: { where: {} }, pageSize: 200, pageNumber: 1 }, 'pre');
    return r.records;
  }
  const statusOf = async (orderNo: string) => (await orderRows()).find((o) => o.orderNo === orderNo)?.status;
  const waitForStatus = (orderNo: string, status: number) => t.waitFor(async () => (await statusOf(orderNo)) === status, `order ${orderNo} at status ${status}`);

  /** Taps 支付 on a goods card and answers the order number the pay sheet shows. */
  async function buy(name: string): Promise<string> {
    const before = new Set((await orderRows()).map((o) => o.orderNo));
    await card(name).getByRole('button', { name: '支付' }).click();
    await sheet().getByRole('button', { name: '确认支付' }).waitFor();
    const created = (await orderRows()).filter((o) => !before.has(o.orderNo));
    expect(created).toHaveLength(1);
    return created[0].orderNo;
  }

  test('buy → pay → paid → 申请退款 → confirm → refunding → settled → refunded', async () => {
    await page.goto(t.dev.info.devServer.app);
    await card('咖啡券').waitFor();
    expect(await page.getByTestId('preview-problems').isHidden()).toBe(true);

    const orderNo = await buy('咖啡券');
    const [row] = (await orderRows()).filter((o) => o.orderNo === orderNo);
    expect(row).toMatchObject({ status: 1, amount: 1800, goodsName: '咖啡券' }); // the price came from the goods model
    await expect(sheet().getByTestId('pay-amount').textContent()).resolves.toBe('¥18.00');
    await screenshotBoth(page, `e2e-${provider}-pay-sheet`);
    await sheet().getByRole('button', { name: '确认支付' }).click();
    await toast().filter({ hasText: '支付成功' }).waitFor();
    await waitForStatus(orderNo, 2); // the notification reached the generated pay-notify function

    await page.getByRole('button', { name: '我的订单' }).click();
    const refundBtn = orderCard(orderNo).getByRole('button', { name: '申请退款' });
    await refundBtn.click();
    await modal().filter({ hasText: orderNo }).waitFor();
    await modal().getByRole('button', { name: '申请退款' }).click();
    await toast().filter({ hasText: '已提交退款' }).waitFor();
    await orderCard(orderNo).locator('[data-wd-id="orderStatus"]').filter({ hasText: '退款中' }).waitFor();
    expect(await statusOf(orderNo)).toBe(3);
    expect(await refundBtn.count()).toBe(0);
    await screenshotBoth(page, `e2e-${provider}-orders`);

    const settled = await t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${orderNo}-R1/settle`, { status: 'SUCCESS' });
    expect(settled.status).toBe(200);
    await waitForStatus(orderNo, 4); // the refund result reached the generated refund-notify function
    await page.getByRole('tab', { name: '已退款' }).click();
    await orderCard(orderNo).locator('[data-wd-id="orderStatus"]').filter({ hasText: '已退款' }).waitFor();
  });

  test('a failed payment and a cancelled one leave the order unpaid', async () => {
    await page.goto(t.dev.info.devServer.app);
    const failed = await buy('微搭贴纸');
    await sheet().getByLabel('失败原因').selectOption('NOT_ENOUGH');
    await sheet().getByRole('button', { name: '模拟失败' }).click();
    await modal().filter({ hasText: '支付未完成' }).waitFor();
    await modal().getByRole('button', { name: '知道了' }).click();

    const cancelled = await buy('微搭贴纸');
    await sheet().getByRole('button', { name: '取消支付' }).click();
    await modal().filter({ hasText: '已取消支付' }).waitFor();
    await modal().getByRole('button', { name: '知道了' }).click();

    const tx = await t.get(`${t.dev.info.baseUrl}/sandbox/transactions/${failed}`);
    expect(tx.body.trade_state).toBe('NOTPAY'); // NOT_ENOUGH leaves it payable, as WeChat Pay does
    expect([await statusOf(failed), await statusOf(cancelled)]).toEqual([1, 1]);

    // A closed order keeps status 1 but is shown 已关闭, and the 未支付 tab leaves it out.
    expect((await t.connector('closeOrder', { outTradeNo: cancelled })).status).toBe(200);
    await page.getByRole('button', { name: '我的订单' }).click();
    await orderCard(cancelled).locator('[data-wd-id="orderStatus"]').filter({ hasText: '已关闭' }).waitFor();
    await orderCard(failed).locator('[data-wd-id="orderStatus"]').filter({ hasText: '未支付' }).waitFor();
    await page.getByRole('tab', { name: '未支付' }).click();
    await page.getByRole('tab', { name: '未支付' }).and(page.locator('[aria-selected="true"]')).waitFor();
    await orderCard(cancelled).waitFor({ state: 'detached' });
    await orderCard(failed).waitFor();
  });
});
