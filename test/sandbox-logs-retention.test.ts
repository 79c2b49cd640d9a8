/**
 * The sandbox's logs do not grow for ever (SandboxOptions.retention): notifications delivered or given up, with
 * their attempts, and logged `/v3/*` requests go once older than the age limit (sandbox time) or beyond the count
 * limits, oldest first, in the background; a notification still pending delivery stays whatever its age, and
 * keeps its place in the retry schedule. The CLI flags that set the limits refuse nonsense.
 */
import { Command, CommanderError } from 'commander';
import { RunningSandbox, startSandbox } from '../sandbox';
import { buildProgram } from '../scripts/cli';
import { advance, control, newOutTradeNo, notificationLog, paidOrder, prepayBody, startReceiver, tempDataDir, v3Request, waitFor } from './helpers/sandbox-harness';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const requestLog = async (s: RunningSandbox): Promise<any[]> => (await control(s.info, 'GET', '/sandbox/requests')).json.requests;
const totalAttempts = (log: any[]): number => log.reduce((n, e) => n + e.attempts.length, 0);

/** A sandbox whose logs keep 1 day, 4 attempts and 5 requests, pruned every 50 ms; retries 10 days apart. */
async function smallLimits(): Promise<RunningSandbox> {
  const dir = tempDataDir();
  const s = await startSandbox({ dataDir: dir.dir, retryScheduleSeconds: [10 * 86_400], retention: { days: 1, attempts: 4, requests: 5, everyMs: 50 } });
  cleanups.push(dir.remove, () => s.close());
  return s;
}

test('beyond the count limits the oldest settled notifications and requests go; a pending notification stays', async () => {
  const s = await smallLimits();
  const ok = await startReceiver();
  const failing = await startReceiver(() => 500);
  cleanups.push(ok.close, failing.close);

  // The oldest notification of all fails and stays pending: its next retry is 10 days away.
  const stuck = await paidOrder(s.info, failing.url, {}, 'STUCK');
  await waitFor(async () => (await notificationLog(s.info, `out_trade_no=${stuck.out_trade_no}`))[0]?.attempts.length === 1, 'the failed attempt');
  const delivered: string[] = [];
  for (let i = 0; i < 6; i++) {
    const paid = await paidOrder(s.info, ok.url, {}, 'OK');
    delivered.push(paid.out_trade_no);
    await waitFor(async () => (await notificationLog(s.info, `out_trade_no=${paid.out_trade_no}`))[0]?.status === 'delivered', `delivery ${i}`);
  }

  // 7 attempts against a limit of 4: the three oldest delivered notifications go, the pending one stays.
  const log = await waitFor(async () => {
    const l = await notificationLog(s.info);
    return totalAttempts(l) <= 4 && l;
  }, 'the attempt log pruned to 4', 5000);
  expect(log.map((n) => n.out_trade_no)).toEqual([stuck.out_trade_no, ...delivered.slice(3)]);
  expect(log[0]).toMatchObject({ status: 'pending', attempts: [expect.objectContaining({ statusCode: 500 })] });
  expect(log.slice(1).every((n) => n.status === 'delivered')).toBe(true);

  // 7 prepay requests against a limit of 5: the newest 5 are kept, in order.
  const requests = await waitFor(async () => {
    const r = await requestLog(s);
    return r.length <= 5 && r;
  }, 'the request log pruned to 5', 5000);
  expect(requests.map((r) => JSON.parse(r.requestBody).out_trade_no)).toEqual(delivered.slice(1));
  expect(requests.map((r) => r.seq)).toEqual([...requests.map((r) => r.seq)].sort((a, b) => a - b));
});

test('past the age limit settled entries go, whatever the counts; a pending notification stays and is still retried on schedule', async () => {
  const s = await smallLimits();
  let answer = 500;
  const rx = await startReceiver(() => answer);
  const ok = await startReceiver();
  cleanups.push(rx.close, ok.close);

  const stuck = await paidOrder(s.info, rx.url, {}, 'OLD');
  await waitFor(async () => (await notificationLog(s.info, `out_trade_no=${stuck.out_trade_no}`))[0]?.attempts.length === 1, 'the failed attempt');
  const done = await paidOrder(s.info, ok.url, {}, 'DONE');
  await waitFor(async () => (await notificationLog(s.info, `out_trade_no=${done.out_trade_no}`))[0]?.status === 'delivered', 'the delivery');
  expect((await requestLog(s)).length).toBe(2);

  // Two days of sandbox time later (the retry is due after ten): only the pending notification is left.
  await advance(s.info, 2 * 86_400);
  const log = await waitFor(async () => {
    const l = await notificationLog(s.info);
    return l.length === 1 && l;
  }, 'the old delivered notification pruned', 5000);
  expect(log[0]).toMatchObject({ out_trade_no: stuck.out_trade_no, status: 'pending', attempts: [expect.objectContaining({ statusCode: 500 })] });
  await waitFor(async () => (await requestLog(s)).length === 0, 'the old requests pruned', 5000);

  // A request made now is young: it stays.
  const fresh = newOutTradeNo('NEW');
  expect((await v3Request(s.info, 'POST', '/v3/pay/transactions/jsapi', prepayBody(s.info, fresh, ok.url))).status).toBe(200);
  await new Promise((r) => setTimeout(r, 200)); // a few pruning passes
  expect((await requestLog(s)).map((r) => JSON.parse(r.requestBody).out_trade_no)).toEqual([fresh]);

  // The pending notification kept its place in the schedule: its retry goes out when due, and is the second attempt.
  answer = 200;
  await advance(s.info, 8 * 86_400);
  const [retried] = await waitFor(async () => {
    const l = await notificationLog(s.info, `out_trade_no=${stuck.out_trade_no}`);
    return l[0]?.status === 'delivered' && l;
  }, 'the retry', 5000);
  expect(retried.attempts.map((a: any) => [a.attempt, a.statusCode])).toEqual([[1, 500], [2, 200]]);
});

test('the limits are checked where they are given', async () => {
  const dir = tempDataDir();
  cleanups.push(dir.remove);
  await expect(startSandbox({ dataDir: dir.dir, retention: { days: 0 } })).rejects.toThrow('retention.days must be a number > 0');
  await expect(startSandbox({ dataDir: dir.dir, retention: { attempts: 1.5 } })).rejects.toThrow('retention.attempts must be an integer ≥ 1');
  await expect(startSandbox({ dataDir: dir.dir, retention: { requests: 0 } })).rejects.toThrow('retention.requests must be an integer ≥ 1');

  const parse = async (args: string[]): Promise<string> => {
    const program = buildProgram().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    program.commands.forEach((c: Command) => c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));
    try {
      await program.parseAsync(['node', 'weda-wxpay', ...args]);
      return 'parsed';
    } catch (err) {
      return (err as CommanderError).message;
    }
  };
  expect(await parse(['sandbox', '--keep-days', '0'])).toMatch(/--keep-days must be a number of days > 0/);
  expect(await parse(['start', '--keep-attempts', 'many'])).toMatch(/--keep-attempts must be an integer ≥ 1/);
  expect(await parse(['preview', 'app.json', '--keep-requests', '-1'])).toMatch(/--keep-requests must be an integer ≥ 1/);
});
