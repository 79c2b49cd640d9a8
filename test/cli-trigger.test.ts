/**
 * `weda-wxpay trigger …` against a running sandbox: each subcommand calls the control API and prints its JSON
 * answer; an error answer, a missing or unreachable sandbox exit non-zero with a one-line reason. The first block
 * runs `registerTrigger` in-process; the second spawns the compiled CLI (`npm test` builds .build/ first) and needs
 * `registerTrigger(program)` wired into scripts/cli.ts. `notifications --follow` is run both ways: stopped by an
 * AbortSignal in process, by Ctrl-C (SIGINT) as a child process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { RunningSandbox, startSandbox } from '../sandbox';
import { registerTrigger, TriggerIo } from '../scripts/trigger';
import { REPO_ROOT } from './helpers/paths';
import { newOutTradeNo, startReceiver, tempDataDir, v3Request, waitFor } from './helpers/sandbox-harness';

let sandbox: RunningSandbox;
let data: ReturnType<typeof tempDataDir>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let failingOnce: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  data = tempDataDir();
  sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
  receiver = await startReceiver();
  failingOnce = await startReceiver((n) => (n === 0 ? 500 : 200)); // the first delivery fails: something to retry and resend
});

afterAll(async () => {
  await receiver?.close();
  await failingOnce?.close();
  await sandbox?.close();
  data?.remove();
});

async function order(total = 100, notifyUrl = receiver.url): Promise<string> {
  const no = newOutTradeNo('TRG');
  const r = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', {
    appid: sandbox.info.merchant.appid, mchid: sandbox.info.merchant.mchid, description: 'trigger test', out_trade_no: no,
    notify_url: notifyUrl, amount: { total, currency: 'CNY' }, payer: { openid: 'o-trigger' },
  });
  expect(r.status).toBe(200);
  return no;
}

describe('registerTrigger, in process', () => {
  async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; err: string; code: number }> {
    const captured = { out: '', err: '', code: 0 };
    const io: TriggerIo = { out: (t) => { captured.out += t; }, err: (t) => { captured.err += t; }, env, fail: (c) => { captured.code = c; } };
    const program = new Command('weda-wxpay').exitOverride();
    registerTrigger(program, io);
    await program.parseAsync(['node', 'weda-wxpay', 'trigger', ...args]);
    return captured;
  }

  it('pays, and reports a refused call on stderr with a non-zero code', async () => {
    const no = await order();
    const ok = await run(['pay', no, '--sandbox', sandbox.baseUrl]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS' });
    const again = await run(['pay', no], { WEDA_WXPAY_SANDBOX: sandbox.baseUrl });
    expect(again.code).toBe(1);
    expect(again.out).toBe('');
    expect(again.err).toMatch(/^weda-wxpay trigger pay: POST \/sandbox\/transactions\/.+\/pay: HTTP 409 ORDER_PAID/);
  });

  it('notifications --follow prints one line per new attempt until stopped, not the attempts made before', async () => {
    const before = await order();
    await run(['pay', before, '--sandbox', sandbox.baseUrl]);
    await waitFor(async () => (await (await fetch(`${sandbox.baseUrl}/sandbox/notifications?out_trade_no=${before}&status=delivered`)).json() as any).notifications.length === 1, 'the earlier delivery');

    const stop = new AbortController();
    const captured = { out: '', err: '', code: 0 };
    const io: TriggerIo = { out: (t) => { captured.out += t; }, err: (t) => { captured.err += t; }, env: {}, fail: (c) => { captured.code = c; }, stop: stop.signal };
    const program = new Command('weda-wxpay').exitOverride();
    registerTrigger(program, io);
    const following = program.parseAsync(['node', 'weda-wxpay', 'trigger', 'notifications', '--follow', '--interval', '50', '--sandbox', sandbox.baseUrl]);
    await waitFor(() => captured.err.includes('following notifications'), 'the follow banner');

    const flaky = await startReceiver((n) => (n === 0 ? 500 : 200));
    const no = await order(100, flaky.url);
    await run(['pay', no, '--sandbox', sandbox.baseUrl]);
    await waitFor(() => captured.out.includes('→ 500'), 'the failed attempt');
    await run(['clock', '15', '--sandbox', sandbox.baseUrl]);
    await waitFor(() => captured.out.includes('acked'), 'the retry');
    stop.abort();
    await following;
    await flaky.close();

    const lines = captured.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  TRANSACTION\\.SUCCESS  ${no}  http  ${flaky.url}  → 500  retry at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`));
    expect(lines[1]).toMatch(new RegExp(`  TRANSACTION\\.SUCCESS  ${no}  http  ${flaky.url}  → 200  acked$`));
    expect(captured.out).not.toContain(before);
    expect(captured.code).toBe(0);
  });

  it('needs a sandbox: exit 2 without one, 1 when it cannot be reached', async () => {
    const none = await run(['clock', '1']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--sandbox <baseUrl> or set WEDA_WXPAY_SANDBOX/);
    const down = await run(['clock', '1', '--sandbox', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach the sandbox at http:\/\/127\.0\.0\.1:1/);
  });
});

describe('weda-wxpay trigger (the compiled CLI)', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'weda-wxpay.js'), 'trigger', ...args], {
      cwd: REPO_ROOT, env: { ...process.env, WEDA_WXPAY_SANDBOX: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  const ok = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<any> => {
    const r = await cli(args, env);
    if (r.code !== 0) throw new Error(`trigger ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  it('pay, notifications, clock, resend: a failed delivery retried and resent', async () => {
    const no = await order(100, failingOnce.url);
    const paid = await ok(['pay', no, '--sandbox', sandbox.baseUrl]);
    expect(paid).toMatchObject({ out_trade_no: no, trade_state: 'SUCCESS' });
    await waitFor(() => failingOnce.received.length >= 1, 'the first (failed) delivery');

    const env = { WEDA_WXPAY_SANDBOX: sandbox.baseUrl };
    const log = await waitFor(async () => {
      const l = await ok(['notifications', '--out-trade-no', no], env);
      return l.notifications[0]?.attempts.length === 1 ? l : undefined;
    }, 'the attempt in the log');
    const note = log.notifications[0];
    expect(note).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', status: 'pending', attempts: [{ statusCode: 500 }] });

    const clock = await ok(['clock', '15'], env);
    expect(clock.now).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    await waitFor(async () => (await ok(['notifications', '--out-trade-no', no, '--status', 'delivered'], env)).notifications.length === 1, 'the retry');

    const resent = await ok(['resend', note.id], env);
    expect(resent).toMatchObject({ id: note.id, status: 'pending' });
    await waitFor(async () => (await ok(['notifications', '--out-trade-no', no], env)).notifications[0].attempts.length === 3, 'the resend');
  });

  it('refund --status, cancel, pay --fail, fault', async () => {
    const env = { WEDA_WXPAY_SANDBOX: sandbox.baseUrl };
    const no = await order(300);
    await ok(['pay', no], env);
    const refund = await v3Request(sandbox.info, 'POST', '/v3/refund/domestic/refunds', { out_trade_no: no, out_refund_no: `${no}R`, amount: { refund: 100, total: 300, currency: 'CNY' } });
    expect(refund.status).toBe(200);
    expect(await ok(['refund', `${no}R`, '--status', 'ABNORMAL'], env)).toMatchObject({ out_refund_no: `${no}R`, status: 'ABNORMAL' });

    const unpaid = await order();
    expect(await ok(['cancel', unpaid], env)).toMatchObject({ out_trade_no: unpaid, trade_state: 'NOTPAY' });
    expect(await ok(['pay', unpaid, '--fail', 'NOT_ENOUGH'], env)).toMatchObject({ out_trade_no: unpaid, trade_state: 'NOTPAY' });

    const fault = await ok(['fault', 'SYSTEM_ERROR', '--path', '/v3/pay/transactions/out-trade-no/', '--count', '2'], env);
    expect(fault).toMatchObject({ kind: 'SYSTEM_ERROR', path: '/v3/pay/transactions/out-trade-no/', remaining: 2 });
    const q = await v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${unpaid}?mchid=${sandbox.info.merchant.mchid}`);
    expect(q.status).toBe(500);
    expect(await ok(['fault', 'LATENCY', '--ms', '10', '--path', '/v3/bill/'], env)).toMatchObject({ kind: 'LATENCY', ms: 10 });
    await fetch(`${sandbox.baseUrl}/sandbox/faults`, { method: 'DELETE' });
  });

  it('notifications --follow --json streams deliveries as JSON lines until Ctrl-C', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'weda-wxpay.js'), 'trigger', 'notifications', '--follow', '--json', '--interval', '100'], {
      cwd: REPO_ROOT, env: { ...process.env, WEDA_WXPAY_SANDBOX: sandbox.baseUrl },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const flaky = await startReceiver((n) => (n === 0 ? 500 : 200));
    try {
      await waitFor(() => stderr.includes('following notifications'), 'the follow banner', 10_000);
      const no = await order(100, flaky.url);
      await ok(['pay', no], { WEDA_WXPAY_SANDBOX: sandbox.baseUrl });
      await waitFor(() => stdout.includes('"statusCode":500'), 'the failed attempt', 5000);
      await ok(['clock', '15'], { WEDA_WXPAY_SANDBOX: sandbox.baseUrl });
      await waitFor(() => stdout.includes('"acked":true'), 'the retry', 5000);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
      const mine = lines.filter((l) => l.out_trade_no === no);
      expect(mine).toEqual([
        expect.objectContaining({ event_type: 'TRANSACTION.SUCCESS', channel: 'http', kind: 'v3', url: flaky.url, attempt: 1, statusCode: 500, acked: false, retryAt: expect.stringMatching(/\+08:00$/), status: 'pending' }),
        expect.objectContaining({ attempt: 2, statusCode: 200, acked: true, retryAt: null, status: 'delivered' }),
      ]);
      expect(Date.parse(mine[0].retryAt) - Date.parse(mine[0].at)).toBe(15_000);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await flaky.close();
    }
  }, 30_000);

  it('exits non-zero with a one-line reason: refused call, bad arguments, no sandbox', async () => {
    const refused = await cli(['refund', 'NO_SUCH_REFUND', '--status', 'SUCCESS', '--sandbox', sandbox.baseUrl]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim()).toMatch(/^weda-wxpay trigger refund: POST \/sandbox\/refunds\/NO_SUCH_REFUND\/settle: HTTP 404 RESOURCE_NOT_EXISTS/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);

    const badStatus = await cli(['refund', 'R1', '--status', 'DONE', '--sandbox', sandbox.baseUrl]);
    expect(badStatus.code).not.toBe(0);
    expect(badStatus.stderr).toMatch(/Allowed choices are SUCCESS, CLOSED, ABNORMAL/);

    const none = await cli(['clock', '10']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/pass --sandbox <baseUrl> or set WEDA_WXPAY_SANDBOX/);
  });
});
