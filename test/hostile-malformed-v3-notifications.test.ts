/**
 * v3 notifications that are validly signed (with the sandbox's platform key) but malformed: the envelope or the
 * decrypted resource is not what wxpay-v3.md §4 documents. Each is refused with 400 — never 500, which says "try
 * again later" to something that will never apply — with a message that names the rule broken and never an
 * exception's text, one log line, and no order or refund record changed: in particular no order moves on a
 * `refund_status` outside SUCCESS / CLOSED / PROCESSING / ABNORMAL, missing, or present only under `__proto__`.
 */
import { createOrder, newOrderNo, orderOf, refundResource, startCallbackDev, TestDev } from './helpers/callback-harness';
import { signResponse } from '../wxpay';
import { platformPrivateKey, transactionResource } from './helpers/notify';
import { changesNothing, post, refusals, signedRaw } from './helpers/hostile';

let t: TestDev;
const logs: string[] = [];
let refundingOrder: string;
beforeAll(async () => {
  t = await startCallbackDev({ log: (l) => logs.push(l) });
  refundingOrder = newOrderNo('HM');
  await createOrder(t, 900, { orderNo: refundingOrder, status: 3, extra: { refundNo: `R${refundingOrder}`, refundId: 'REFUND-ID-KEPT' } });
});
afterAll(async () => { await t?.close(); });

const deliverTo = (fn: 'payNotify' | 'refundNotify', n: { body: string; headers: Record<string, string> }) => post(t.dev.info.devServer[fn], n.body, n.headers);
const genuineRefund = () => refundResource(t, { outTradeNo: refundingOrder, outRefundNo: `R${refundingOrder}`, status: 'SUCCESS', total: 900 }) as Record<string, any>;
const without = (o: Record<string, any>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

/** Delivers, expects a 400 refusal naming `message`, no exception text, one refusal line, and no record changed. */
async function refused(fn: 'payNotify' | 'refundNotify', n: { body: string; headers: Record<string, string> }, message: RegExp, outTradeNo: string | null) {
  const seen = logs.length;
  const answer = await changesNothing(t, () => deliverTo(fn, n));
  expect(answer.status).toBe(400);
  expect(answer.json).toEqual({ code: 'FAIL', message: expect.stringMatching(message) });
  expect(answer.text).not.toMatch(/Cannot read|TypeError|SyntaxError|undefined|Unexpected token/);
  const lines = refusals(logs.slice(seen));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ reason: expect.any(String), outTradeNo });
}

describe('refund notifications', () => {
  it.each([
    ['no refund_status', () => without(genuineRefund(), 'refund_status'), /refund_status is required/],
    ['a refund_status outside the enum', () => ({ ...genuineRefund(), refund_status: 'REVERSED' }), /refund_status must be one of SUCCESS, CLOSED, PROCESSING, ABNORMAL/],
    ['a refund_status only under __proto__', () => JSON.parse(`{"__proto__":{"refund_status":"CLOSED"},${JSON.stringify(without(genuineRefund(), 'refund_status')).slice(1)}`), /refund_status is required/],
    ['no amount', () => without(genuineRefund(), 'amount'), /amount is required/],
    ['an amount without its refund', () => ({ ...genuineRefund(), amount: { total: 900 } }), /amount\.refund is required/],
    ['a refund amount of 0', () => ({ ...genuineRefund(), amount: { total: 900, refund: 0 } }), /amount\.refund must be an integer ≥ 1/],
    ['an amount given as text', () => ({ ...genuineRefund(), amount: { total: '900', refund: '900' } }), /amount\.(total|refund) must be an integer/],
  ])('with %s is refused and moves nothing', async (_what, resource, message) => {
    await refused('refundNotify', signedRaw(t, { eventType: 'REFUND.CLOSED', plaintext: JSON.stringify(resource()) }), message, refundingOrder);
    expect(await orderOf(t, refundingOrder)).toMatchObject({ status: 3, refundNo: `R${refundingOrder}`, refundId: 'REFUND-ID-KEPT' });
  });

  it('with an out_trade_no that is not a string is refused (not "temporarily unable")', async () => {
    await refused('refundNotify', signedRaw(t, { eventType: 'REFUND.SUCCESS', plaintext: JSON.stringify({ ...genuineRefund(), out_trade_no: 12345678 }) }), /out_trade_no must be a string/, null);
  });

  it.each([
    ['null', 'null', /it must be an object/],
    ['an array', '[]', /it must be an object/],
    ['a string', '"SUCCESS"', /it must be an object/],
    ['not JSON', '{"out_trade_no": ', /the decrypted resource is not JSON/],
  ])('whose decrypted resource is %s is refused without the exception\'s text', async (_what, plaintext, message) => {
    await refused('refundNotify', signedRaw(t, { eventType: 'REFUND.SUCCESS', plaintext }), message, null);
  });
});

describe('payment notifications', () => {
  const unpaid = async () => createOrder(t, 100);
  it.each([
    ['null', () => 'null', /it must be an object/],
    ['no amount', (no: string) => JSON.stringify(without(transactionResource(t, no, 100), 'amount')), /amount is required/],
    ['an amount given as text', (no: string) => JSON.stringify({ ...transactionResource(t, no, 100), amount: { total: '100' } }), /amount\.total must be an integer/],
    ['a trade_state outside the enum', (no: string) => JSON.stringify({ ...transactionResource(t, no, 100), trade_state: 'PAID' }), /trade_state must be one of/],
    ['its amount only under __proto__', (no: string) => `{"__proto__":{"amount":{"total":100}},${JSON.stringify(without(transactionResource(t, no, 100), 'amount')).slice(1)}`, /amount is required/],
  ])('whose resource is %s is refused, and the order stays unpaid', async (_what, plaintext, message) => {
    const orderNo = await unpaid();
    await refused('payNotify', signedRaw(t, { plaintext: plaintext(orderNo) }), message, plaintext(orderNo) === 'null' ? null : orderNo);
    expect((await orderOf(t, orderNo)).status).toBe(1);
  });

  it('with an out_trade_no that is not a string is refused', async () => {
    await refused('payNotify', signedRaw(t, { plaintext: JSON.stringify({ ...transactionResource(t, 'x', 100), out_trade_no: ['HM1', 'HM2'] }) }), /out_trade_no must be a string/, null);
  });
});

describe('envelopes', () => {
  it('with no event_type, or a resource_type other than encrypt-resource, is refused', async () => {
    const orderNo = await createOrder(t, 100);
    const plaintext = JSON.stringify(transactionResource(t, orderNo, 100));
    const base = { id: 'EV-envelope-0001', create_time: '2024-03-01T12:00:00+08:00', resource_type: 'encrypt-resource', summary: 'x' };
    await refused('payNotify', signedRaw(t, { plaintext, envelope: base }), /envelope is malformed: event_type is required/, orderNo);
    await refused('payNotify', signedRaw(t, { plaintext, envelope: { ...base, event_type: 'TRANSACTION.SUCCESS', resource_type: 'plain' } }), /resource_type must be "encrypt-resource"/, orderNo);
    await refused('payNotify', signedRaw(t, { plaintext, envelope: { ...base, event_type: 42 } }), /event_type must be a string/, orderNo);
    expect((await orderOf(t, orderNo)).status).toBe(1);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[]'],
    ['a resource that is null', JSON.stringify({ id: 'EV-1', event_type: 'REFUND.SUCCESS', resource: null })],
  ])('that is %s is refused (no encrypted resource)', async (_what, body) => {
    const headers = { ...signResponse({ privateKey: platformPrivateKey(t), serial: t.dev.info.platform.publicKeyId, body }), 'Content-Type': 'application/json' };
    await refused('refundNotify', { body, headers }, /notification has no encrypted resource/, null);
  });

  it('of an event this function does not apply is acknowledged and changes nothing', async () => {
    const answer = await changesNothing(t, () => deliverTo('payNotify', signedRaw(t, { eventType: 'TRANSACTION.FAIL', plaintext: 'null' })));
    expect(answer.status).toBe(204);
  });
});
