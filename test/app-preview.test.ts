/**
 * The app preview in a real browser (Debian's chromium through playwright-core), rendering app-template/app.json
 * itself: the goods list, 支付 → the sandbox pay sheet → Pay / Fail / Cancel, the orders page's status tabs, and
 * 申请退款 behind a confirm. The dev server and the sandbox are TEST DOUBLES here (FakeDevServer, FakeSandbox:
 * in-memory, only the endpoints the preview calls); the end-to-end run against the real ones is a separate test.
 */
import { execFile } from 'node:child_process';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { Browser, Page } from 'playwright-core';
import { createPreviewHandler, loadTemplateApp, PREVIEW_OPENID } from '../app-template/preview-server';
import { DESKTOP, launchChromium, screenshotBoth } from './helpers/browser';
import { listenOnLoopback } from './helpers/loopback';

type Json = Record<string, any>;

interface Call {
  path: string;
  body: Json;
}

async function readJson(req: IncomingMessage): Promise<Json> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const SVG_IMAGE = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="88" height="88"><rect width="88" height="88" fill="#ffd666"/><circle cx="44" cy="44" r="24" fill="#fa8c16"/></svg>')}`;

/** TEST DOUBLE of the sandbox's control API: transactions by prepay_id, pay (flips the order like pay-notify would) and cancel. */
class FakeSandbox {
  transactions: Json[] = [];
  calls: Call[] = [];
  constructor(private readonly dev: FakeDevServer) {}

  handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url!, 'http://x');
    const body = req.method === 'POST' ? await readJson(req) : {};
    this.calls.push({ path: `${req.method} ${url.pathname}${url.search}`, body });
    if (req.method === 'GET' && url.pathname === '/sandbox/transactions') {
      const prepayId = url.searchParams.get('prepay_id');
      return reply(res, 200, { transactions: this.transactions.filter((t) => !prepayId || t.prepay_id === prepayId) });
    }
    const m = /^\/sandbox\/transactions\/([^/]+)\/(pay|cancel)$/.exec(url.pathname);
    const tx = m && this.transactions.find((t) => t.out_trade_no === m[1]);
    if (!m || !tx) return reply(res, 404, { code: 'ORDER_NOT_EXIST', message: 'no such transaction' });
    if (m[2] === 'cancel') return reply(res, 200, tx);
    if (tx.trade_state !== 'NOTPAY') return reply(res, 409, { code: 'ORDER_PAID', message: `transaction is ${tx.trade_state}` });
    if (body.result === 'SUCCESS') {
      tx.trade_state = 'SUCCESS';
      this.dev.orders.find((o) => o.orderNo === tx.out_trade_no)!.status = 2; // what pay-notify does
    } else if (body.result === 'PAYERROR') {
      tx.trade_state = 'PAYERROR';
    }
    return reply(res, 200, tx);
  };
}

/** TEST DOUBLE of the dev server: goods and orders models (wedaGetRecordsV2 only) and the connector's checkout / requestRefund. */
class FakeDevServer {
  goods: Json[] = [
    { _id: 'g1', name: '微搭贴纸', description: '最便宜的测试商品', price: 1, stock: 100, image: SVG_IMAGE, createdAt: 1 },
    { _id: 'g2', name: '咖啡券', description: '一杯咖啡', price: 1800, stock: 50, image: 'cloud://env-1/coffee.png', createdAt: 2 },
    { _id: 'g3', name: '年度会员', price: 19900, stock: 0, createdAt: 3 },
    { _id: 'g4', name: '已下架商品', price: 5, stock: 1, onSale: false, createdAt: 4 },
  ];
  orders: Json[] = [
    { _id: 'o-old', orderNo: 'WX0000000000000001', goodsId: 'g2', goodsName: '咖啡券', amount: 1800, status: 4, openid: PREVIEW_OPENID, createdAt: 10 },
    { _id: 'o-other', orderNo: 'WX0000000000000002', goodsId: 'g2', goodsName: '别人的订单', amount: 1800, status: 2, openid: 'oSomeoneElse', createdAt: 11 },
  ];
  calls: Call[] = [];
  /** Order numbers whose refund the connector refuses (to see `_fail`). */
  refuseRefund = new Set<string>();
  sandbox = new FakeSandbox(this);
  private seq = 0;

  handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url!, 'http://x');
    const body = await readJson(req);
    this.calls.push({ path: `${url.pathname}${url.search}`, body });
    const model = /^\/models\/(goods|orders)\/wedaGetRecordsV2$/.exec(url.pathname);
    if (model) {
      if (url.searchParams.get('envType') !== 'pre') return reply(res, 400, { code: 'InvalidParameter', message: 'envType' });
      const rows = (model[1] === 'goods' ? this.goods : this.orders).filter((r) => matches(r, body.filter?.where ?? {}));
      const [order] = body.orderBy ?? [];
      if (order) {
        const [field, dir] = Object.entries(order)[0] as [string, string];
        rows.sort((a, b) => (a[field] - b[field]) * (dir === 'desc' ? -1 : 1));
      }
      return reply(res, 200, { records: rows, total: rows.length });
    }
    if (url.pathname === '/connector/checkout') {
      const goods = this.goods.find((g) => g._id === body.goodsId);
      if (!goods || typeof body.openid !== 'string') return reply(res, 400, { code: 'PARAM_ERROR', message: 'goodsId and openid are required' });
      this.seq += 1;
      const orderNo = `WXP${Date.now()}${this.seq}`;
      const prepayId = `wx${this.seq}prepay`;
      this.orders.push({ _id: `o${this.seq}`, orderNo, goodsId: goods._id, goodsName: goods.name, amount: goods.price * (body.quantity ?? 1), status: 1, openid: body.openid, createdAt: 100 + this.seq });
      this.sandbox.transactions.push({ out_trade_no: orderNo, prepay_id: prepayId, mchid: '1900000109', trade_state: 'NOTPAY', amount: { total: goods.price }, _sandbox: { description: goods.name } });
      return reply(res, 200, { orderNo, amount: goods.price, payment: { timeStamp: '1700000000', nonceStr: 'n0nce', package: `prepay_id=${prepayId}`, signType: 'RSA', paySign: 'c2lnbmVk' } });
    }
    if (url.pathname === '/connector/requestRefund') {
      const order = this.orders.find((o) => o.orderNo === body.orderNo);
      if (!order || order.status !== 2) return reply(res, 409, { code: 'ORDER_NOT_PAID', message: `订单 ${body.orderNo} 不是已支付状态` });
      if (this.refuseRefund.has(order.orderNo)) return reply(res, 403, { code: 'NOT_ENOUGH', message: '商户可用退款余额不足' });
      order.status = 3;
      return reply(res, 200, { orderNo: order.orderNo, refundNo: `R${order.orderNo}`, status: 'PROCESSING' });
    }
    return reply(res, 404, { code: 'NOT_FOUND', message: url.pathname });
  };

  callsTo(p: string): Call[] {
    return this.calls.filter((c) => c.path.startsWith(p));
  }
}

/** The V2 where subset the template uses: field → {$eq|$neq|$empty}, AND-ed. */
function matches(row: Json, where: Json): boolean {
  return Object.entries(where).every(([field, cond]) => {
    if ('$eq' in cond) return row[field] === cond.$eq;
    if ('$neq' in cond) return row[field] !== cond.$neq;
    if ('$empty' in cond) return (row[field] === undefined || row[field] === null || row[field] === '') === cond.$empty;
    throw new Error(`FakeDevServer: unsupported condition ${JSON.stringify(cond)}`);
  });
}

interface Served {
  url: string;
  close: () => Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void): Promise<Served> {
  const server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err: Error) => reply(res, 500, { code: 'TEST_DOUBLE_ERROR', message: err.message }));
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, close };
}

/** A server answering only what createPreviewHandler answers (404 for the rest). */
function servePreview(app: unknown, devServerUrl: string, sandboxUrl: string): Promise<Served> {
  const preview = createPreviewHandler({ app, devServerUrl, sandboxUrl });
  return serve((req, res) => { if (!preview(req, res)) reply(res, 404, { code: 'NOT_FOUND' }); });
}

let browser: Browser;
let page: Page;
let dev: FakeDevServer;
let devServer: Served;
let sandboxServer: Served;
let preview: Served;

beforeAll(async () => {
  dev = new FakeDevServer();
  devServer = await serve(dev.handle);
  sandboxServer = await serve(dev.sandbox.handle);
  preview = await servePreview(loadTemplateApp(), devServer.url, sandboxServer.url);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: DESKTOP });
  page.setDefaultTimeout(8000);
});

afterAll(async () => {
  await browser?.close();
  await preview?.close();
  await sandboxServer?.close();
  await devServer?.close();
});

const card = (name: string) => page.locator('[data-wd-id="goodsCard"]').filter({ hasText: name });
const orderCard = (orderNo: string) => page.locator('[data-wd-id="orderCard"]').filter({ hasText: orderNo });
const toast = () => page.getByTestId('toast');
const modal = () => page.getByTestId('platform-modal');
const sheet = () => page.getByTestId('pay-sheet');

async function buy(name: string): Promise<string> {
  const before = dev.orders.length;
  await card(name).getByRole('button', { name: '支付' }).click();
  await sheet().getByRole('button', { name: '确认支付' }).waitFor();
  expect(dev.orders).toHaveLength(before + 1);
  return dev.orders[dev.orders.length - 1]!.orderNo;
}

describe('app preview rendered from app-template/app.json', () => {
  test('the goods page lists goods on sale from the goods model, prices in yuan', async () => {
    await page.goto(`${preview.url}/app`);
    await expect(page.getByTestId('nav-title').textContent()).resolves.toBe('商品');
    await card('年度会员').waitFor();
    const names = await page.locator('[data-wd-id="goodsName"]').allTextContents();
    expect(names).toEqual(['微搭贴纸', '咖啡券', '年度会员']); // on sale only, price ascending
    expect(await page.locator('[data-wd-id="goodsPrice"]').allTextContents()).toEqual(['¥0.01', '¥18.00', '¥199.00']);
    await expect(card('微搭贴纸').locator('img').getAttribute('src')).resolves.toBe(SVG_IMAGE);
    await expect(card('咖啡券').locator('[role="img"]').getAttribute('title')).resolves.toContain('cloud://'); // placeholder
    await expect(card('年度会员').getByRole('button', { name: '已售罄' }).isDisabled()).resolves.toBe(true); // stock 0
    expect(await page.getByTestId('preview-problems').isHidden()).toBe(true);
    expect(dev.callsTo('/models/goods/wedaGetRecordsV2?envType=pre')[0]!.body).toEqual({
      filter: { where: { onSale: { $neq: false } } }, orderBy: [{ price: 'asc' }], pageSize: 50, pageNumber: 1, getCount: true,
    });
    await screenshotBoth(page, 'goods');
  });

  test('支付 → checkout → the sandbox pay sheet → Pay → 支付成功 toast, and the order is paid', async () => {
    const orderNo = await buy('微搭贴纸');
    expect(dev.callsTo('/connector/checkout').at(-1)!.body).toEqual({ goodsId: 'g1', quantity: 1, openid: PREVIEW_OPENID });
    await expect(sheet().getByTestId('pay-amount').textContent()).resolves.toBe('¥0.01');
    await expect(sheet().textContent()).resolves.toContain(orderNo);
    await screenshotBoth(page, 'pay-sheet');

    await sheet().getByRole('button', { name: '确认支付' }).click();
    await toast().filter({ hasText: '支付成功' }).waitFor();
    await sheet().waitFor({ state: 'detached' });
    expect(dev.sandbox.calls.map((c) => c.path)).toContain(`POST /sandbox/transactions/${orderNo}/pay`);
    expect(dev.sandbox.calls.at(-1)!.body).toEqual({ result: 'SUCCESS', prepay_id: dev.sandbox.transactions.at(-1)!.prepay_id });
    expect(dev.orders.find((o) => o.orderNo === orderNo)!.status).toBe(2);
    await toast().waitFor({ state: 'detached' });
  });

  test('a failed payment (NOT_ENOUGH) and a cancelled one end in 支付未完成, the order unpaid', async () => {
    const failed = await buy('咖啡券');
    await sheet().getByLabel('失败原因').selectOption('NOT_ENOUGH');
    await sheet().getByRole('button', { name: '模拟失败' }).click();
    await modal().filter({ hasText: '支付未完成' }).filter({ hasText: 'requestPayment:fail NOT_ENOUGH' }).waitFor();
    expect(dev.sandbox.calls.at(-1)).toMatchObject({ path: `POST /sandbox/transactions/${failed}/pay`, body: { result: 'NOT_ENOUGH' } });
    await screenshotBoth(page, 'pay-failed');
    await modal().getByRole('button', { name: '知道了' }).click();
    await modal().waitFor({ state: 'detached' });

    const cancelled = await buy('咖啡券');
    await sheet().getByRole('button', { name: '取消支付' }).click();
    await modal().filter({ hasText: '已取消支付' }).waitFor();
    expect(dev.sandbox.calls.at(-1)!.path).toBe(`POST /sandbox/transactions/${cancelled}/cancel`);
    await modal().getByRole('button', { name: '知道了' }).click();
    expect(dev.orders.filter((o) => [failed, cancelled].includes(o.orderNo)).map((o) => o.status)).toEqual([1, 1]);
  });

  test('orders page: my orders only, tabs filter on status, 申请退款 only on paid orders', async () => {
    await page.getByRole('button', { name: '我的订单' }).click();
    await expect(page.getByTestId('nav-title').textContent()).resolves.toBe('我的订单');
    const mine = dev.orders.filter((o) => o.openid === PREVIEW_OPENID);
    await page.locator('[data-wd-id="orderCard"]').nth(mine.length - 1).waitFor();
    expect(await page.locator('[data-wd-id="orderCard"]').count()).toBe(mine.length); // not someone else's
    const paid = mine.filter((o) => o.status === 2);
    expect(paid).toHaveLength(1);
    expect(await page.locator('[data-wd-id="refundBtn"]').count()).toBe(1);
    await orderCard(paid[0]!.orderNo).getByRole('button', { name: '申请退款' }).waitFor();
    const paidRow = orderCard(paid[0]!.orderNo);
    await expect(paidRow.locator('[data-wd-id="orderStatus"]').textContent()).resolves.toBe('已支付');
    await expect(paidRow.locator('[data-wd-id="orderAmount"]').textContent()).resolves.toBe('¥0.01');
    await expect(paidRow.locator('[data-wd-id="orderGoods"]').textContent()).resolves.toBe('微搭贴纸');
    await screenshotBoth(page, 'orders');

    const statusesOn = async (tab: string): Promise<string[]> => {
      const calls = dev.callsTo('/models/orders/').length;
      await page.getByRole('tab', { name: tab }).click();
      await expect(page.getByRole('tab', { name: tab }).getAttribute('aria-selected')).resolves.toBe('true');
      await waitUntil(() => dev.callsTo('/models/orders/').length > calls, `orders query after ${tab}`);
      const expected = mine.filter((o) => o.status === { 已支付: 2, 未支付: 1, 已退款: 4 }[tab]).length;
      await waitForAsync(async () => (await page.locator('[data-wd-id="orderCard"]').count()) === expected, `${expected} orders on ${tab}`);
      return page.locator('[data-wd-id="orderStatus"]').allTextContents();
    };
    expect(await statusesOn('已支付')).toEqual(['已支付']);
    expect(dev.callsTo('/models/orders/').at(-1)!.body.filter).toEqual({ where: { openid: { $eq: PREVIEW_OPENID }, status: { $eq: 2 } } });
    expect(await statusesOn('未支付')).toEqual(['未支付', '未支付']);
    expect(await statusesOn('已退款')).toEqual(['已退款']);
    expect(await page.locator('[data-wd-id="refundBtn"]').count()).toBe(0);
    await page.getByRole('tab', { name: '全部' }).click();
    await page.locator('[data-wd-id="orderCard"]').nth(mine.length - 1).waitFor();
  });

  test('申请退款 asks first; cancel does nothing, confirm calls requestRefund and refreshes the list', async () => {
    const order = dev.orders.find((o) => o.status === 2 && o.openid === PREVIEW_OPENID)!;
    const row = orderCard(order.orderNo);
    await row.getByRole('button', { name: '申请退款' }).click();
    await modal().filter({ hasText: order.orderNo }).filter({ hasText: '¥0.01' }).waitFor();
    await screenshotBoth(page, 'refund-confirm');
    await modal().getByRole('button', { name: '再想想' }).click();
    await modal().waitFor({ state: 'detached' });
    expect(dev.callsTo('/connector/requestRefund')).toHaveLength(0);

    const queries = dev.callsTo('/models/orders/').length;
    await row.getByRole('button', { name: '申请退款' }).click();
    await modal().getByRole('button', { name: '申请退款' }).click();
    await toast().filter({ hasText: '已提交退款' }).waitFor();
    expect(dev.callsTo('/connector/requestRefund').map((c) => c.body)).toEqual([{ orderNo: order.orderNo }]);
    await row.locator('[data-wd-id="orderStatus"]').filter({ hasText: '退款中' }).waitFor(); // the list was queried again
    expect(dev.callsTo('/models/orders/').length).toBeGreaterThan(queries);
    expect(await row.getByRole('button', { name: '申请退款' }).count()).toBe(0);
    await toast().waitFor({ state: 'detached' });
  });

  test('a refused refund (non-2xx) runs the _fail chain with the connector message', async () => {
    const order = dev.orders.find((o) => o.status === 1 && o.openid === PREVIEW_OPENID)!;
    order.status = 2;
    dev.refuseRefund.add(order.orderNo);
    await page.getByRole('tab', { name: '已支付' }).click();
    const row = orderCard(order.orderNo);
    await row.getByRole('button', { name: '申请退款' }).click();
    await modal().getByRole('button', { name: '申请退款' }).click();
    await modal().filter({ hasText: '退款申请失败' }).filter({ hasText: '商户可用退款余额不足' }).waitFor();
    await modal().getByRole('button', { name: '知道了' }).click();
    expect(dev.orders.find((o) => o.orderNo === order.orderNo)!.status).toBe(2);
  });

  test('back to the goods page from the navigation bar', async () => {
    await page.getByRole('button', { name: '返回' }).click();
    await expect(page.getByTestId('nav-title').textContent()).resolves.toBe('商品');
    await card('微搭贴纸').waitFor();
    expect(page.url()).toMatch(/#\/goods$/);
  });

  test('a page opens from the URL hash (historyType HASH)', async () => {
    await page.goto(`${preview.url}/app#/orders`);
    await expect(page.getByTestId('nav-title').textContent()).resolves.toBe('我的订单');
    await page.locator('[data-wd-id="orderCard"]').first().waitFor();
    expect(await page.getByRole('button', { name: '返回' }).isHidden()).toBe(true);
  });
});

describe('app preview of any CALS app', () => {
  const other = {
    name: 'other-app',
    label: '不支持的组件',
    main: 'home',
    items: [
      {
        id: 'home', type: 'PAGE', attributes: { title: '首页' },
        items: [
          { id: 'hello', component: 'WdText', attributes: { text: '其余部分照常显示' } },
          { id: 'chart1', module: 'gsd-h5-react', component: 'WdEcharts', attributes: {} },
          { id: 'broken', component: 'WdText', attributes: { ':text': '$w.nothing.deep' } },
          {
            id: 'openBtn', component: 'WdButton', attributes: { text: '打开弹窗' },
            listeners: [{ id: 'open', eventName: 'tap', type: 'platform', handler: { module: 'platform', name: 'invoke', params: [{ component: 'modal1', method: 'open', params: { info: 'x' } }] } }],
          },
          {
            id: 'magicBtn', component: 'WdButton', attributes: { text: '页面方法' },
            listeners: [{ id: 'magic', eventName: 'tap', type: 'rematch', handler: { module: 'home', name: 'doMagic' } }],
          },
          {
            id: 'modal1', component: 'WdModal', attributes: { title: '弹窗标题' },
            items: [{ id: 'modalText', component: 'WdText', attributes: { ':text': "'openInfo: ' + $w.modal1.openInfo.info" } }],
            listeners: [{ id: 'closed', eventName: 'close', type: 'platform', handler: { module: 'platform', name: 'showToast', params: [{ title: '已关闭', icon: 'none' }] } }],
          },
        ],
      },
    ],
  };
  let served: Served;

  beforeAll(async () => {
    served = await servePreview(other, devServer.url, sandboxServer.url);
  });
  afterAll(async () => {
    await served?.close();
  });

  test('an unsupported component or action is shown in the page with its id and JSON path; the rest still works', async () => {
    await page.goto(`${served.url}/app`);
    const problems = page.getByTestId('preview-problems');
    await problems.waitFor();
    await expect(problems.locator('li[data-id="chart1"]').textContent()).resolves.toMatch(/WdEcharts.*chart1.*items\[0\]\.items\[1\]$/);
    await expect(problems.locator('li[data-id="magicBtn"]').textContent()).resolves.toMatch(/magicBtn.*magic.*home:doMagic.*items\[0\]\.items\[4\]\.listeners\[0\]$/);
    await expect(page.locator('.preview-unsupported[data-wd-id="chart1"]').textContent()).resolves.toContain('items[0].items[1]');
    // A binding that throws while drawing is listed too (the text stays empty, as in WeDa).
    await expect(problems.locator('li[data-id="broken"]').textContent()).resolves.toMatch(/broken.*\$w\.nothing\.deep.*items\[0\]\.items\[2\]\.attributes\[":text"\]$/);
    await page.getByText('其余部分照常显示').waitFor();

    await page.getByRole('button', { name: '打开弹窗' }).click();
    await page.locator('.wd-modal').filter({ hasText: 'openInfo: x' }).waitFor();
    await screenshotBoth(page, 'unsupported');
    await page.getByRole('button', { name: '关闭' }).click();
    await toast().filter({ hasText: '已关闭' }).waitFor();
    expect(await page.locator('.wd-modal').count()).toBe(0);
  });

  test('the handler serves /app only, and forwards only the endpoints the preview calls', async () => {
    const handler = createPreviewHandler({ app: other, devServerUrl: devServer.url, sandboxUrl: sandboxServer.url });
    expect(handler({ url: '/sandbox/console', method: 'GET' } as IncomingMessage, {} as ServerResponse)).toBe(false);
    expect(handler({ url: '/application', method: 'GET' } as IncomingMessage, {} as ServerResponse)).toBe(false);
    const get = async (p: string, init?: RequestInit) => { const r = await fetch(`${served.url}${p}`, init); return { status: r.status, text: await r.text() }; };
    expect(JSON.parse((await get('/app/app.json')).text)).toEqual(other);
    expect(JSON.parse((await get('/app/config.json')).text)).toEqual({ devServerUrl: '/app/api/dev', sandboxUrl: '/app/api/sandbox', openid: PREVIEW_OPENID });
    expect((await get('/app/api/dev/functions/pay-notify', { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await get('/app/api/sandbox/sandbox/clock/advance', { method: 'POST', body: '{}' })).status).toBe(404);
    const forwarded = await get('/app/api/dev/connector/requestRefund', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"orderNo":"nope"}' });
    expect(forwarded).toEqual({ status: 409, text: expect.stringContaining('ORDER_NOT_PAID') });
    expect((await get('/app/assets/preview.css')).text).toContain('.phone');
    expect((await get('/app')).text).toContain('/app/assets/preview.js');
  });
});

test('the browser code type-checks against the DOM (app-template/preview/tsconfig.json)', async () => {
  const root = path.join(__dirname, '..');
  await expect(promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'app-template/preview/tsconfig.json'], { cwd: root })).resolves.toBeDefined();
}, 60000);

async function waitUntil(probe: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return waitForAsync(async () => probe(), what, timeoutMs);
}

async function waitForAsync(probe: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
