/**
 * Native prepay, `POST /v3/pay/transactions/native` (trade_type NATIVE, wxpay-v3.md §1.2; answer `{"code_url": …}`,
 * §6 V4): the JSAPI order rules without `payer`, a signed `code_url` answer, the order paid through the control API
 * as NATIVE by the sandbox's scanning user, notified and billed as such; an out_trade_no of one trade type cannot be
 * reused for the other (§1.1 "201 商户订单号重复"). wechatpay-node-v3's `transactions_native` found it missing.
 */
import { NATIVE_PAYER_OPENID } from '../sandbox';
import { advance, control, newOutTradeNo, openNotification, platformVerifier, prepayBody, startReceiver, v3Request, waitFor, withSandbox } from './helpers/sandbox-harness';
import type { RunningSandbox, SandboxReadyInfo } from '../sandbox';

let sandbox: RunningSandbox;
withSandbox({}, (s) => { sandbox = s; });

/** A Native body: the JSAPI one without payer. */
function nativeBody(info: SandboxReadyInfo, outTradeNo: string, notifyUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { payer: _payer, ...body } = prepayBody(info, outTradeNo, notifyUrl, overrides);
  return body;
}

const native = (info: SandboxReadyInfo, body: Record<string, unknown>) => v3Request(info, 'POST', '/v3/pay/transactions/native', body);

test('answers a signed code_url; the order is NOTPAY, then paid as NATIVE, notified and billed as NATIVE', async () => {
  const info = sandbox.info;
  const rx = await startReceiver();
  try {
    const no = newOutTradeNo('NAT');
    const created = await native(info, nativeBody(info, no, rx.url, { amount: { total: 250, currency: 'CNY' } }));
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ code_url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{9}$/) });
    expect(() => platformVerifier(info).verify(created.headers, created.text)).not.toThrow();

    const before = await v3Request(info, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${info.merchant.mchid}`);
    expect(before.json).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 250 } });
    expect(before.json).not.toHaveProperty('payer');

    const paid = await control(info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
    expect(paid.status).toBe(200);
    expect(paid.json).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'NATIVE', payer: { openid: NATIVE_PAYER_OPENID }, amount: { total: 250, payer_total: 250 } });
    await waitFor(() => rx.received.length === 1, 'the payment notification');
    const { envelope, resource } = openNotification(info, rx.received[0]!);
    expect(envelope.event_type).toBe('TRANSACTION.SUCCESS');
    expect(resource).toMatchObject({ out_trade_no: no, trade_type: 'NATIVE', transaction_id: paid.json.transaction_id });

    await advance(info, 86_400); // the bill of day D exists from D+1
    const bill = await fetch(`${info.baseUrl}/sandbox/tradebill?bill_date=${String(paid.json.success_time).slice(0, 10)}`);
    const row = (await bill.text()).split('\n').find((line) => line.includes(`\`${no}`));
    expect(row?.split(',')[8]).toBe('`NATIVE'); // 交易类型 (wxpay-v3.md §1.7)
  } finally {
    await rx.close();
  }
});

test('the JSAPI order rules, less payer: PARAM_ERROR on a bad body, re-entrant on identical params', async () => {
  const info = sandbox.info;
  const no = newOutTradeNo('NAV');
  const noNotify = nativeBody(info, no, 'https://merchant.example.com/notify');
  delete noNotify.notify_url;
  const missing = await native(info, noNotify);
  expect(missing.status).toBe(400);
  expect(missing.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/notify_url' } });
  const zero = await native(info, nativeBody(info, no, 'https://merchant.example.com/notify', { amount: { total: 0, currency: 'CNY' } }));
  expect(zero.json).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/amount/total' } });

  const first = await native(info, nativeBody(info, no, 'https://merchant.example.com/notify'));
  const again = await native(info, nativeBody(info, no, 'https://merchant.example.com/notify'));
  expect([first.status, again.status]).toEqual([200, 200]);
  const changed = await native(info, nativeBody(info, no, 'https://merchant.example.com/notify', { description: 'changed' }));
  expect(changed.json).toMatchObject({ code: 'INVALID_REQUEST', message: '请求重入时，参数与首次请求时不一致' });
});

test('an out_trade_no of one trade type is refused for the other: 201 商户订单号重复', async () => {
  const info = sandbox.info;
  const jsapiNo = newOutTradeNo('NXJ');
  expect((await v3Request(info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(info, jsapiNo, 'https://merchant.example.com/notify'))).status).toBe(200);
  const asNative = await native(info, nativeBody(info, jsapiNo, 'https://merchant.example.com/notify'));
  expect(asNative.status).toBe(400);
  expect(asNative.json).toMatchObject({ code: 'INVALID_REQUEST', message: '201 商户订单号重复', detail: { field: '/out_trade_no' } });

  const nativeNo = newOutTradeNo('NXN');
  expect((await native(info, nativeBody(info, nativeNo, 'https://merchant.example.com/notify'))).status).toBe(200);
  const asJsapi = await v3Request(info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(info, nativeNo, 'https://merchant.example.com/notify'));
  expect(asJsapi.json).toMatchObject({ code: 'INVALID_REQUEST', message: '201 商户订单号重复' });
});
