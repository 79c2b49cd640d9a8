/**
 * Time on the sandbox clock (wxpay-v3.md §1.1–1.2): time_expire (clamped to [+1 min, +90 days]) stops payment
 * but the order stays NOTPAY until closed; WeChat's own auto-close after 7 days; prepay_id valid 2 hours;
 * business times (success_time) from the sandbox clock. No real sleeps: the clock is advanced.
 */
import { toRfc3339Cst } from '../wxpay';
import { RunningSandbox, startSandbox } from '../sandbox';
import { advance, control, newOutTradeNo, prepayBody, startReceiver, v3Request, waitFor, tempDataDir, withSandbox } from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
const NOTIFY = 'https://merchant.example.com/notify';
const DAY = 86_400;

withSandbox({}, (s) => (sandbox = s));

async function sandboxNow(): Promise<number> {
  return Date.parse((await control(sandbox.info, 'GET', '/sandbox/clock')).json.now);
}

async function prepay(outTradeNo: string, overrides: Record<string, unknown> = {}, notifyUrl = NOTIFY) {
  const res = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, outTradeNo, notifyUrl, overrides));
  expect(res.status).toBe(200);
  return res.json.prepay_id as string;
}

const query = (outTradeNo: string) => v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${sandbox.info.merchant.mchid}`);
const pay = (outTradeNo: string, body: Record<string, unknown> = { result: 'SUCCESS' }) => control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, body);

test('past time_expire the order cannot be paid (409, clear message) but stays NOTPAY until closed; re-ordering it is refused', async () => {
  const no = newOutTradeNo('EXP');
  const timeExpire = toRfc3339Cst((await sandboxNow()) + 10 * 60_000);
  await prepay(no, { time_expire: timeExpire });
  await advance(sandbox.info, 9 * 60);
  const stillOk = newOutTradeNo('EXPOK');
  await prepay(stillOk, { time_expire: timeExpire });

  await advance(sandbox.info, 61);
  const late = await pay(no);
  expect([late.status, late.json.code]).toEqual([409, 'ORDER_EXPIRED']);
  expect(late.json.message).toMatch(/time_expire/);
  expect(late.json.message).toContain(timeExpire.slice(0, 16));
  expect((await query(no)).json.trade_state).toBe('NOTPAY');
  const again = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sandbox.info, no, NOTIFY, { time_expire: timeExpire }));
  expect([again.status, again.json.code, again.json.message]).toEqual([400, 'INVALID_REQUEST', '201 商户订单号重复']);

  const closed = await v3Request(sandbox.info, 'POST', `/v3/pay/transactions/out-trade-no/${no}/close`, { mchid: sandbox.info.merchant.mchid });
  expect(closed.status).toBe(204);
  expect((await query(no)).json.trade_state).toBe('CLOSED');
  expect((await pay(stillOk)).json.code).toBe('ORDER_EXPIRED');
});

test('time_expire is clamped: in the past or < 1 min → 1 minute of validity', async () => {
  const now = await sandboxNow();
  const past = newOutTradeNo('CLP');
  const soon = newOutTradeNo('CLS');
  await prepay(past, { time_expire: toRfc3339Cst(now - 3600_000) });
  await prepay(soon, { time_expire: toRfc3339Cst(now + 10_000) });
  await advance(sandbox.info, 30);
  expect((await pay(past)).status).toBe(200);
  await advance(sandbox.info, 31);
  expect((await pay(soon)).json.code).toBe('ORDER_EXPIRED');
});

test('an unpaid order is closed by WeChat after 7 days of sandbox time; with a later time_expire (≤ 90 days) it stays payable until then', async () => {
  const plain = newOutTradeNo('AC');
  const long = newOutTradeNo('ACL');
  const veryLong = newOutTradeNo('ACV');
  const now = await sandboxNow();
  await prepay(plain);
  await prepay(long, { time_expire: toRfc3339Cst(now + 10 * DAY * 1000) });
  await prepay(veryLong, { time_expire: toRfc3339Cst(now + 200 * DAY * 1000) });

  await advance(sandbox.info, 7 * DAY - 5);
  expect((await query(plain)).json.trade_state).toBe('NOTPAY');
  await advance(sandbox.info, 10);
  expect((await query(plain)).json).toMatchObject({ trade_state: 'CLOSED', trade_state_desc: '订单已关闭' });
  expect((await pay(plain)).json.code).toBe('ORDER_CLOSED');
  expect((await query(long)).json.trade_state).toBe('NOTPAY');

  await advance(sandbox.info, 3 * DAY);
  expect((await query(long)).json.trade_state).toBe('CLOSED');
  // 200 days is clamped to 90: still open at day 89, closed after day 90.
  await advance(sandbox.info, 79 * DAY);
  expect((await query(veryLong)).json.trade_state).toBe('NOTPAY');
  await advance(sandbox.info, 1 * DAY + 10);
  expect((await query(veryLong)).json.trade_state).toBe('CLOSED');
});

test('prepay_id lives 2 hours: paying with an expired one is refused; a re-entrant prepay gives a fresh one that works', async () => {
  const no = newOutTradeNo('PID');
  const first = await prepay(no);
  await advance(sandbox.info, 2 * 3600 + 1);
  const stale = await pay(no);
  expect([stale.status, stale.json.code]).toEqual([409, 'PREPAY_ID_EXPIRED']);
  expect(stale.json.message).toContain(first);
  expect((await query(no)).json.trade_state).toBe('NOTPAY');

  const second = await prepay(no);
  expect(second).not.toBe(first);
  const withOld = await pay(no, { result: 'SUCCESS', prepay_id: first });
  expect(withOld.json.code).toBe('PREPAY_ID_EXPIRED');
  const foreign = await pay(no, { result: 'SUCCESS', prepay_id: 'wx00000000000000000000000000000000' });
  expect(foreign.json.code).toBe('PREPAY_ID_INVALID');
  const paid = await pay(no, { result: 'SUCCESS', prepay_id: second });
  expect([paid.status, paid.json.trade_state]).toEqual([200, 'SUCCESS']);
});

test('business times come from the sandbox clock: success_time and the notification create_time are "sandbox now"', async () => {
  const rx = await startReceiver();
  try {
    await advance(sandbox.info, 3 * DAY);
    const no = newOutTradeNo('CLK');
    await prepay(no, {}, rx.url);
    const before = await sandboxNow();
    const paid = await pay(no);
    const successAt = Date.parse(paid.json.success_time);
    expect(successAt).toBeGreaterThanOrEqual(before - 1000);
    expect(successAt - Date.now()).toBeGreaterThan(80 * DAY * 1000); // far ahead of the real clock by now
    await waitFor(() => rx.received.length === 1, 'the notification');
    expect(Date.parse(JSON.parse(rx.received[0]!.rawBody).create_time)).toBe(successAt);
    // …while the signature timestamp is real time, so a receiver's ±300 s check passes.
    expect(Math.abs(Number(rx.received[0]!.headers['wechatpay-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
  } finally {
    await rx.close();
  }
});

test('the clock, expiry and auto-close survive a restart', async () => {
  const dir = tempDataDir();
  const first = await startSandbox({ dataDir: dir.dir });
  const no = newOutTradeNo('RST');
  try {
    expect((await v3Request(first.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(first.info, no, NOTIFY))).status).toBe(200);
    await advance(first.info, 6 * DAY);
  } finally {
    await first.close();
  }
  const second = await startSandbox({ dataDir: dir.dir });
  try {
    const q = () => v3Request(second.info, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${second.info.merchant.mchid}`);
    expect((await q()).json.trade_state).toBe('NOTPAY');
    await advance(second.info, DAY + 1);
    expect((await q()).json.trade_state).toBe('CLOSED');
  } finally {
    await second.close();
    dir.remove();
  }
});
