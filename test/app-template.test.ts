import fs from 'node:fs';
import path from 'node:path';
import { checkApp, CheckAppOptions } from '../app-template/check';
import { MANIFEST } from '../connector';
import { loadTemplateApp } from '../app-template/preview-server';

const root = path.join(__dirname, '..');
const model = (name: string) => JSON.parse(fs.readFileSync(path.join(root, 'datasources', 'models', `${name}.json`), 'utf8'));

/** What the template binds: the connector's data source (the six CloudPay names plus the app-facing two) and both models. */
const OPTIONS: CheckAppOptions = {
  connectorMethods: { wedaWxpay: MANIFEST.map((m) => m.name) },
  models: { goods: model('goods'), orders: model('orders') },
};

/** A fresh copy of the shipped app, to break on purpose. */
const template = (): any => JSON.parse(JSON.stringify(loadTemplateApp()));
const goodsPage = (app: any) => app.items.find((p: any) => p.id === 'goods');
const ordersPage = (app: any) => app.items.find((p: any) => p.id === 'orders');
/** goods page → header, empty text, goodsList → item → card → info → footer → payBtn */
const PAY_BTN = 'items[0].items[2].items[0].items[0].items[1].items[2].items[1]';
const payBtn = (app: any) => goodsPage(app).items[2].items[0].items[0].items[1].items[2].items[1];
const refundBtn = (app: any) => ordersPage(app).items[2].items[0].items[0].items[2];

describe('app-template/app.json', () => {
  it('passes every check: cals round trip, strict schema, names, chains, ids, expressions', () => {
    expect(checkApp(loadTemplateApp(), OPTIONS)).toEqual([]);
  });

  it('binds the real model fields and connector methods', () => {
    const text = JSON.stringify(loadTemplateApp());
    for (const needle of ['"methodName":"checkout"', '"methodName":"requestRefund"', '$w.auth.currentUser.openId', '$w.item_orderList.status === 2', 'event.detail.payment', 'wx.requestPayment']) {
      expect(text).toContain(needle);
    }
    expect(payBtn(template()).id).toBe('payBtn');
    expect(refundBtn(template()).id).toBe('refundBtn');
  });

  it('a wrong connector method name fails, naming the method and its JSON path', () => {
    const app = template();
    payBtn(app).listeners[0].handler.params[0].methodName = 'chekout';
    const problems = checkApp(app, OPTIONS);
    expect(problems).toEqual([
      { path: `${PAY_BTN}.listeners[0].handler.params[0].methodName`, message: expect.stringContaining('connector "wedaWxpay" has no method "chekout"') },
    ]);
  });

  it('a wrong data-source name fails for connectors and models alike', () => {
    const app = template();
    payBtn(app).listeners[0].handler.params[0].dataSourceName = 'wxpay';
    goodsPage(app).dataset.query.goodsQuery.handler.params.dataSourceName = 'product';
    const problems = checkApp(app, OPTIONS);
    expect(problems).toEqual([
      { path: 'items[0].dataset.query.goodsQuery.handler.params.dataSourceName', message: expect.stringContaining('data model "product" does not exist') },
      { path: `${PAY_BTN}.listeners[0].handler.params[0].dataSourceName`, message: expect.stringContaining('connector data source "wxpay" does not exist') },
    ]);
  });

  it('a broken _success chain fails, naming the event and its JSON path', () => {
    const app = template();
    payBtn(app).listeners[1].eventName = 'checkuot_success';
    const problems = checkApp(app, OPTIONS);
    expect(problems).toContainEqual({
      path: `${PAY_BTN}.listeners[1].eventName`,
      message: expect.stringContaining('"checkuot_success" follows listener "checkuot", which is not a listener of component "payBtn"'),
    });
    // The chain that followed it is now unreachable but still well-formed: only the broken link is reported.
    expect(problems).toHaveLength(1);
  });

  it('_confirm only follows showModal, and chains may not loop', () => {
    const app = template();
    payBtn(app).listeners[2].eventName = 'checkout_confirm';
    refundBtn(app).listeners.push({ id: 'a', eventName: 'b_success', type: 'platform', handler: { module: 'platform', name: 'showToast', params: [{ title: 'a' }] } });
    refundBtn(app).listeners.push({ id: 'b', eventName: 'a_success', type: 'platform', handler: { module: 'platform', name: 'showToast', params: [{ title: 'b' }] } });
    const messages = checkApp(app, OPTIONS).map((p) => p.message);
    expect(messages).toContainEqual(expect.stringContaining('_confirm only follows platform:showModal, and "checkout" is platform:cloud.callDataSource'));
    expect(messages).toContainEqual(expect.stringContaining('is a cycle'));
  });

  it('a duplicate component id fails, naming both places', () => {
    const app = template();
    refundBtn(app).id = 'orderAmount';
    const problems = checkApp(app, OPTIONS);
    expect(problems).toEqual([
      { path: 'items[1].items[2].items[0].items[0].items[2].id', message: expect.stringContaining('duplicate component id "orderAmount" on page "orders" (also items[1].items[2].items[0].items[0].items[1].items[1])') },
    ]);
  });

  it('expressions must parse, and name components, queries, state and model fields that exist', () => {
    const app = template();
    const info = goodsPage(app).items[2].items[0].items[0].items[1];
    info.items[0].attributes[':text'] = '$w.item_goodsList.name +';
    info.items[2].items[0].attributes[':text'] = "'¥' + $w.item_goodsList.prise";
    refundBtn(app).directives[':if'] = '$w.item_goodsList.status === 2';
    ordersPage(app).items[0].attributes[':selectedValue'] = '$w.page.dataset.state.tab';
    ordersPage(app).dataset.query.ordersQuery.handler.params.params[':filter'] = '({ where: { state: { $eq: 2 } } })';
    goodsPage(app).items[1].directives[':if'] = '$w.goodsQuery2.data';
    const byPath = Object.fromEntries(checkApp(app, OPTIONS).map((p) => [p.path, p.message]));
    expect(byPath).toEqual({
      [`items[0].items[2].items[0].items[0].items[1].items[0].attributes[":text"]`]: expect.stringContaining('expression does not parse'),
      [`items[0].items[2].items[0].items[0].items[1].items[2].items[0].attributes[":text"]`]: expect.stringContaining('model "goods" has no field "prise"'),
      ['items[1].items[2].items[0].items[0].items[2].directives[":if"]']: expect.stringContaining('$w.item_goodsList is only defined inside Repeater "goodsList"'),
      ['items[1].items[0].attributes[":selectedValue"]']: 'page "orders" has no state variable "tab"',
      ['items[1].dataset.query.ordersQuery.handler.params.params[":filter"]']: expect.stringContaining('names field "state"'),
      ['items[0].items[1].directives[":if"]']: '$w.goodsQuery2 is not a component, query or $w API on page "goods"',
    });
  });

  it('names an action target that does not exist: page, state variable, query, component', () => {
    const app = template();
    goodsPage(app).items[0].items[1].listeners[0].handler.params[0].pageId = 'order';
    ordersPage(app).items[0].listeners[0].handler.params[0].varPath = '$page.status';
    refundBtn(app).listeners[3].handler.params[0].id = 'orderQuery';
    refundBtn(app).listeners.push({ id: 'openIt', eventName: 'tap', type: 'platform', handler: { module: 'platform', name: 'invoke', params: [{ component: 'modal1', method: 'open' }] } });
    const messages = checkApp(app, OPTIONS).map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^items\[0\]\.items\[0\]\.items\[1\]\.listeners\[0\]\.handler\.params\[0\]\.pageId: page "order" does not exist/),
      expect.stringMatching(/^items\[1\]\.items\[0\]\.listeners\[0\]\.handler\.params\[0\]\.varPath: .*no page "orders" state variable "status"/),
      expect.stringMatching(/listeners\[3\]\.handler\.params\[0\]\.id: query "orderQuery" does not exist on page "orders"/),
      expect.stringMatching(/listeners\[5\]\.handler\.params\[0\]\.component: component "modal1" does not exist on page "orders"/),
    ]);
  });

  it('what cals\' schema rejects is reported with its path, before or after the round trip', () => {
    const app = template();
    goodsPage(app).dataset.query.goodsQuery.trigger = 'onLoad';
    // cals would turn this into a boolean on the way through; the app as written is still wrong.
    payBtn(app).listeners[0].isCapturePhase = 'yes';
    const problems = checkApp(app, OPTIONS);
    expect(problems).toEqual([
      { path: `${PAY_BTN}.listeners[0].isCapturePhase`, message: 'cals platform_application.json: must be boolean' },
      { path: 'items[0].dataset.query.goodsQuery.trigger', message: 'cals platform_application.json: must be equal to one of the allowed values' },
    ]);
  });

  it('what cals drops in its round trip is reported as lost', () => {
    const app = template();
    // A bound style belongs on the component (":style"), not among its attributes: cals drops it there.
    ordersPage(app).items[1].attributes[':style'] = "({ color: 'red' })";
    expect(checkApp(app, OPTIONS)).toEqual([
      { path: 'items[1].items[1].attributes[":style"]', message: 'lost in the @cloudbase/cals round trip: items[1].items[1].attributes[":style"] = "({ color: \'red\' })"' },
    ]);
  });

  it('refuses what is not a CALS app', () => {
    expect(checkApp({ pages: [] }, OPTIONS)).toEqual([{ path: 'items', message: expect.stringContaining('`items` is the array of pages') }]);
  });
});
