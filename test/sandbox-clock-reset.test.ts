/**
 * The sandbox clock's limits and the reset: `POST /sandbox/clock/advance` takes a finite number of seconds ≥ 0 and
 * keeps the clock within 10 years of real time (400 naming the field and the rule otherwise); `POST
 * /sandbox/reset` (and `weda-wxpay trigger reset`) forgets everything the sandbox did and sets the clock back, keeps
 * its keys and CloudPay's function registry, aborts a delivery in flight without recording it, and the result
 * survives a restart.
 */
import http from 'node:http';
import { Command } from 'commander';
import { MAX_CLOCK_OFFSET_SECONDS, RunningSandbox, startSandbox } from '../sandbox';
import { registerTrigger, TriggerIo } from '../scripts/trigger';
import { registerFunction } from './helpers/cloudpay-functions';
import { listenOnLoopback } from './helpers/loopback';
import {
  advance, control, newOutTradeNo, notificationLog, paidOrder, platformVerifier, prepayBody, refund, refundBody, startReceiver, tempDataDir, v3Request, waitFor,
} from './helpers/sandbox-harness';

const YEAR = 365 * 86_400;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sandboxIn(dir: string, log?: (line: string) => void): Promise<RunningSandbox> {
  const s = await startSandbox({ dataDir: dir, refundSettleSeconds: null, ...(log ? { log } : {}) });
  cleanups.push(() => s.close());
  return s;
}

const clockOffsetSeconds = async (s: RunningSandbox): Promise<number> => (Date.parse((await control(s.info, 'GET', '/sandbox/clock')).json.now) - Date.now()) / 1000;

test('the clock moves forward by a finite number of seconds, at most 10 years ahead of real time in all', async () => {
  const dir = tempDataDir();
  cleanups.push(dir.remove);
  const s = await sandboxIn(dir.dir);
  const refused = async (seconds: unknown) => {
    const raw = seconds === 'Infinity' ? '{"seconds": 1e400}' : JSON.stringify({ seconds });
    const res = await fetch(`${s.baseUrl}/sandbox/clock/advance`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: raw });
    const body = await res.json() as any;
    return { status: res.status, code: body.code, field: body.detail?.field, message: body.message as string };
  };
  // 1e12 seconds would be the year 33715.
  const absurd = await refused(1e12);
  expect(absurd).toMatchObject({ status: 400, code: 'PARAM_ERROR', field: 'seconds' });
  expect(absurd.message).toMatch(/^seconds must keep the sandbox clock within 10 years \(315360000 s\) of real time: it is 0 s ahead, so at most 315360000 more/);
  for (const bad of [-5, 'Infinity', '60', null]) {
    const r = await refused(bad);
    expect([bad, r.status, r.code, r.field]).toEqual([bad, 400, 'PARAM_ERROR', 'seconds']);
    expect(r.message).toBe('seconds must be a finite number ≥ 0 (the sandbox clock only moves forward)');
  }
  expect(MAX_CLOCK_OFFSET_SECONDS).toBe(10 * YEAR);

  await advance(s.info, 9 * YEAR);
  const tooFar = await refused(2 * YEAR);
  expect(tooFar.status).toBe(400);
  expect(tooFar.message).toContain(`it is ${9 * YEAR} s ahead, so at most ${YEAR} more`);
  await advance(s.info, YEAR); // exactly to the limit
  expect(Math.abs(await clockOffsetSeconds(s) - 10 * YEAR)).toBeLessThan(2); // now is to the second
  expect((await refused(1)).status).toBe(400);
  expect((await refused(0)).status).toBe(200);
});

test('reset forgets what the sandbox did and sets the clock back; keys and CloudPay functions stay; it survives a restart', async () => {
  const dir = tempDataDir();
  cleanups.push(dir.remove);
  const lines: string[] = [];
  let s = await sandboxIn(dir.dir, (l) => lines.push(l));
  const rx = await startReceiver();
  cleanups.push(rx.close);

  // Activity of every kind: orders, a refund, notifications, a fault, a payer message, logged requests, the clock.
  const paid = await paidOrder(s.info, rx.url);
  expect((await refund(s.info, refundBody(paid, 50))).status).toBe(200);
  await waitFor(async () => (await notificationLog(s.info)).some((n) => n.status === 'delivered'), 'the delivery');
  expect((await control(s.info, 'POST', '/sandbox/faults', { kind: 'DROP' })).status).toBe(200);
  expect((await control(s.info, 'POST', '/sandbox/messages', { touser: 'o-reset', templateId: 'T1', data: { thing1: { value: 'x' } } })).status).toBe(200);
  await registerFunction(s.info, 'env-reset', 'payCallback', 'http://127.0.0.1:1/fn');
  await advance(s.info, 86_400);

  // A delivery in flight when the reset comes: aborted, not recorded.
  const hanging = http.createServer(() => undefined); // never answers
  const hangingAt = await listenOnLoopback(hanging);
  cleanups.push(() => { hanging.closeAllConnections(); return hangingAt.close(); });
  let arrived = false;
  hanging.on('request', () => { arrived = true; });
  await control(s.info, 'DELETE', '/sandbox/faults');
  await paidOrder(s.info, `http://127.0.0.1:${hangingAt.port}/notify`);
  await waitFor(() => arrived, 'the delivery in flight');
  expect((await control(s.info, 'POST', '/sandbox/faults', { kind: 'DROP' })).status).toBe(200);

  const reset = await control(s.info, 'POST', '/sandbox/reset');
  expect(reset.status).toBe(200);
  expect(reset.json).toEqual({ reset: true, now: expect.any(String) });
  expect(Math.abs(Date.parse(reset.json.now) - Date.now())).toBeLessThan(5000);

  const empty = async (x: RunningSandbox) => {
    expect((await control(x.info, 'GET', '/sandbox/transactions')).json.transactions).toEqual([]);
    expect((await control(x.info, 'GET', '/sandbox/refunds')).json.refunds).toEqual([]);
    expect(await notificationLog(x.info)).toEqual([]);
    expect((await control(x.info, 'GET', '/sandbox/faults')).json.faults).toEqual([]);
    expect((await control(x.info, 'GET', '/sandbox/messages')).json.messages).toEqual([]);
    expect((await control(x.info, 'GET', '/sandbox/requests')).json.requests).toEqual([]);
    expect(Math.abs(await clockOffsetSeconds(x))).toBeLessThan(5);
    expect((await control(x.info, 'GET', '/sandbox/cloudpay/functions')).json.functions).toEqual([expect.objectContaining({ envId: 'env-reset', functionName: 'payCallback' })]);
  };
  await empty(s);
  expect(lines.filter((l) => /crashed|internal error/.test(l))).toEqual([]);

  // The same order number is new again (other parameters are no re-entry conflict); the keys still sign and verify.
  const again = await v3Request(s.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(s.info, paid.out_trade_no, rx.url, { amount: { total: 999, currency: 'CNY' } }));
  expect(again.status).toBe(200);
  expect(() => platformVerifier(s.info).verify(again.headers, again.text)).not.toThrow();
  await control(s.info, 'POST', '/sandbox/reset');

  // After a restart: still empty, the same keys.
  const before = s.info;
  await s.close();
  s = await sandboxIn(dir.dir);
  const { baseUrl: _a, console: _b, ...keysBefore } = before;
  const { baseUrl: _c, console: _d, ...keysAfter } = s.info;
  expect(keysAfter).toEqual(keysBefore);
  await empty(s);
  // And it works as on a first start.
  const fresh = await paidOrder(s.info, rx.url, {}, 'FRESH');
  await waitFor(async () => (await notificationLog(s.info, `out_trade_no=${fresh.out_trade_no}`))[0]?.status === 'delivered', 'a delivery after the reset');
});

test('weda-wxpay trigger reset', async () => {
  const dir = tempDataDir();
  cleanups.push(dir.remove);
  const s = await sandboxIn(dir.dir);
  await v3Request(s.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(s.info, newOutTradeNo('TR'), 'https://merchant.example.com/notify'));
  await advance(s.info, 3600);

  const captured = { out: '', err: '', code: 0 };
  const io: TriggerIo = { out: (t) => { captured.out += t; }, err: (t) => { captured.err += t; }, env: {}, fail: (c) => { captured.code = c; } };
  const program = new Command('weda-wxpay').exitOverride();
  registerTrigger(program, io);
  await program.parseAsync(['node', 'weda-wxpay', 'trigger', 'reset', '--sandbox', s.baseUrl]);
  expect([captured.code, captured.err]).toEqual([0, '']);
  expect(JSON.parse(captured.out)).toEqual({ reset: true, now: expect.any(String) });
  expect((await control(s.info, 'GET', '/sandbox/transactions')).json.transactions).toEqual([]);
  expect(Math.abs(await clockOffsetSeconds(s))).toBeLessThan(5);
});
