/**
 * The optional payer message (the CloudBase demo's pay-message, as a subscribe message): sent once after an
 * order moves 1 → 2 — not for duplicates — with the configured template id and keyword texts; a sender that
 * fails or hangs never fails the payment callback.
 */
import { createLocalFunctionHost } from '../callbacks/local-host';
import type { CallbackOptions } from '../callbacks/runtime/options';
import { renderPayerMessage } from '../callbacks/runtime/payer-message';
import { cloudPayPaymentEvent, createOrder, invoke, orderOf, PAYER, placeAndPay, TestDev, withSinkDev } from './helpers/callback-harness';
import type { Connector } from '../connector';

const callbacks: CallbackOptions = {
  payerMessage: {
    templateId: 'TPL_PAID_001',
    page: 'pages/pay-result/index?id={orderNo}',
    data: { character_string1: '{orderNo}', thing2: '{goodsName}', amount3: '{amount}元', time4: '{paidTime}' },
  },
};

let t: TestDev;
let connector: Connector;
const logs: string[] = [];
withSinkDev({ callbacks, log: (l) => logs.push(l) }, (d) => ({ t, connector } = d));
// The dev server's payer messages are recorded by the sandbox.
const messagesFor = async (orderNo: string) => ((await t.get(`${t.dev.info.baseUrl}/sandbox/messages`)).body.messages as any[])
  .filter((m) => m.data.character_string1.value === orderNo);

it('sends one subscribe message after a CloudPay payment, none for its duplicates', async () => {
  const orderNo = await createOrder(t, 1800, { extra: { goodsName: '年度会员·尊享版（含全部课程与线下活动）' } });
  const tx = await placeAndPay(t, connector, orderNo, 1800);
  for (let i = 0; i < 3; i++) expect((await invoke(t, 'pay-notify', cloudPayPaymentEvent(t, tx))).body.errcode).toBe(0);
  const messages = await messagesFor(orderNo);
  expect(messages).toHaveLength(1);
  expect(messages[0]).toEqual({
    touser: PAYER,
    templateId: 'TPL_PAID_001',
    page: `pages/pay-result/index?id=${orderNo}`,
    miniprogramState: 'trial', // envType pre
    data: {
      character_string1: { value: orderNo },
      thing2: { value: '年度会员·尊享版（含全部课程与线下活动）'.slice(0, 20) }, // thing.DATA: at most 20 characters
      amount3: { value: '18.00元' },
      time4: { value: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/) },
    },
  });
});

it('sends it after a v3 payment notification too', async () => {
  const orderNo = await createOrder(t, 1);
  await t.connector('unifiedOrder', { body: 'x', outTradeNo: orderNo, totalFee: 1, openid: 'o-v3-payer' });
  await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
  const [m] = await t.waitFor(async () => { const ms = await messagesFor(orderNo); return ms.length > 0 && ms; }, 'the message');
  expect(m).toMatchObject({ touser: 'o-v3-payer', data: { amount3: { value: '0.01元' } } });
});

it.each([
  ['fails', async () => { throw new Error('errcode 43101: user refused to accept the msg'); }],
  ['never answers', () => new Promise(() => {})],
])('still records and acknowledges the payment when the sender %s', async (_what, send) => {
  // The dev server's functions, generated again with a sender that fails or hangs.
  const host = createLocalFunctionHost({
    config: { ...t.dev.resolved.config, callbacks: { payerMessage: { ...callbacks.payerMessage!, timeoutMs: 200 } } },
    baseDir: t.dataDir,
    weda: t.dev.weda,
    log: (l) => logs.push(l),
    sendSubscribeMessage: send,
  });
  const orderNo = await createOrder(t, 300);
  const tx = await placeAndPay(t, connector, orderNo, 300);
  const answer = await host.invoke('pay-notify', { headers: {}, rawBody: Buffer.from(JSON.stringify(cloudPayPaymentEvent(t, tx))) });
  expect(answer).toEqual({ status: 200, body: { errcode: 0, errmsg: 'OK' } });
  expect((await orderOf(t, orderNo)).status).toBe(2);
  expect(logs.some((l) => l.includes('"payer_message.failed"') && l.includes(orderNo))).toBe(true);
});

it('renders formal for prod and leaves unknown placeholders as they are', () => {
  const m = renderPayerMessage({ templateId: 'T', data: { thing1: '{nope} {orderNo}' } }, { orderNo: 'A1', openid: 'o', amountFen: 5, paidAt: 0, transactionId: 'x' }, 'prod');
  expect(m).toEqual({ touser: 'o', templateId: 'T', data: { thing1: { value: '{nope} A1' } }, miniprogramState: 'formal' });
});
