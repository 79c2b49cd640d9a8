/**
 * Restarts lose nothing: `weda-wxpay start` (the compiled CLI, as a user runs it) is killed with SIGKILL in the
 * middle of a storm of orders, payments and refunds, restarted on the same data directory, then stopped cleanly
 * (SIGTERM) in the middle of more payments and started again. Afterwards every order row says what WeChat Pay (the
 * sandbox) says — paid → 2, refund settled → 4, never paid → 1 — every notification was acknowledged exactly
 * once and no delivery failed for a restart (the dev server keeps its port, and notifications queued before a
 * stop go out after the next start), no payment or refund was applied twice, and an order placed before the crash
 * can be placed again with the same parameters. `npm test` builds .build/ first.
 */
import { spawn, ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import Database from 'better-sqlite3';
import { REPO_ROOT } from './helpers/paths';

jest.setTimeout(60_000);

const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

interface Cli {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<any>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: Cli[] = [];

function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'weda-wxpay.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, WEDA_WXPAY_DEBUG: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<any>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
    void exited.then(({ code, signal }) => reject(new Error(`CLI exited (${code ?? signal}) before ready: ${stderr}`)));
  });
  ready.catch(() => undefined); // awaited by the test; a crash after ready is not a rejection anyone waits for
  const cli = { child, ready, stderr: () => stderr, exited };
  children.push(cli);
  return cli;
}

/** One JSON request on a fresh connection (no pooled socket may outlive a killed server). */
function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = http.request(url, { method, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : undefined });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function ok(method: string, url: string, body?: unknown): Promise<any> {
  const r = await call(method, url, body);
  if (r.status !== 200) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every order row of the local model store. */
async function allOrders(info: any): Promise<any[]> {
  const rows: any[] = [];
  for (let page = 1; ; page++) {
    const r = await ok('POST', `${info.devServer.models}/orders/wedaGetRecordsV2`, { pageSize: 200, pageNumber: page, select: { $master: true } });
    rows.push(...r.records);
    if (r.records.length < 200) return rows;
  }
}

/** What the sandbox holds: transactions, refunds and the notification log. */
async function sandboxState(info: any): Promise<{ transactions: Map<string, any>; refunds: Map<string, any[]>; notifications: any[] }> {
  const transactions = new Map<string, any>((await ok('GET', `${info.baseUrl}/sandbox/transactions`)).transactions.map((t: any) => [t.out_trade_no, t]));
  const refunds = new Map<string, any[]>();
  for (const r of (await ok('GET', `${info.baseUrl}/sandbox/refunds`)).refunds) refunds.set(r.out_trade_no, [...(refunds.get(r.out_trade_no) ?? []), r]);
  // The log's default page is 500 entries; this storm stays below it.
  const { notifications } = await ok('GET', `${info.baseUrl}/sandbox/notifications`);
  return { transactions, refunds, notifications };
}

/** The order status WeChat Pay's state calls for; undefined while a refund is still PROCESSING. */
function expectedStatus(t: any, refunds: any[] | undefined): number | undefined {
  if (!t || t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') return 1;
  const last = refunds?.[refunds.length - 1];
  if (!last || last.status === 'CLOSED' || last.status === 'ABNORMAL') return 2;
  return last.status === 'SUCCESS' ? 4 : undefined;
}

/** Orders whose row does not (yet) say what the sandbox says, and notifications not yet acknowledged. */
async function mismatches(info: any): Promise<string[]> {
  const [orders, s] = await Promise.all([allOrders(info), sandboxState(info)]);
  const wrong: string[] = [];
  for (const o of orders) {
    const want = expectedStatus(s.transactions.get(o.orderNo), s.refunds.get(o.orderNo));
    if (want !== o.status) wrong.push(`${o.orderNo}: order ${o.status}, WeChat Pay ${s.transactions.get(o.orderNo)?.trade_state ?? 'none'} / ${s.refunds.get(o.orderNo)?.map((r) => r.status).join(',') ?? 'no refund'}`);
  }
  for (const n of s.notifications) if (n.status !== 'delivered') wrong.push(`notification ${n.id} ${n.event_type} ${n.out_trade_no} is ${n.status}`);
  return wrong;
}

afterAll(async () => {
  for (const c of children) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
});

it('a crash and a clean stop in the middle of a storm lose no notification and apply nothing twice', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-crash-'));
  const args = ['start', '--data', dataDir, '--config', path.join(dataDir, 'absent.json'), '--refund-settle-seconds', '1'];
  try {
    // ── Run 1: the storm, killed with SIGKILL halfway ─────────────────────────────────────────────────────────
    const run1 = startCli(args);
    const info1 = await run1.ready;
    const devPort = new URL(info1.devServer.baseUrl).port;
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'dev-server.json'), 'utf8'))).toEqual({ port: Number(devPort) });
    const goods = await ok('POST', `${info1.devServer.models}/goods/wedaCreateV2`, { data: { name: '压力测试券', price: 300, stock: 100_000 } });

    // An order placed with unifiedOrder and left unpaid: placing it again after the restart must be the same order.
    const kept = { body: '压力测试券', outTradeNo: `KEEP${Date.now()}`, totalFee: 300, openid: OPENID };
    await ok('POST', `${info1.devServer.models}/orders/wedaCreateV2`, { data: { orderNo: kept.outTradeNo, amount: 300, status: 1, openid: OPENID } });
    const keptPrepay = await ok('POST', `${info1.devServer.connector}/unifiedOrder`, kept);

    let killed = false;
    const placed: string[] = []; // the connector answered: WeChat Pay (the sandbox) answered its prepay request
    const paid: string[] = [];
    const storm = async (worker: number): Promise<void> => {
      for (let i = 0; !killed && paid.length < 400; i++) {
        try {
          let orderNo: string;
          if (i % 3 === 2) { // every third order through unifiedOrder, the rest through checkout
            orderNo = `S${worker}N${i}T${Date.now()}`;
            await ok('POST', `${info1.devServer.models}/orders/wedaCreateV2`, { data: { orderNo, amount: 300, status: 1, openid: OPENID } });
            await ok('POST', `${info1.devServer.connector}/unifiedOrder`, { body: '压力测试券', outTradeNo: orderNo, totalFee: 300, openid: OPENID });
          } else {
            orderNo = (await ok('POST', `${info1.devServer.connector}/checkout`, { goodsId: goods.id, openid: OPENID })).orderNo;
          }
          placed.push(orderNo);
          await ok('POST', `${info1.baseUrl}/sandbox/transactions/${orderNo}/pay`, { result: 'SUCCESS' });
          paid.push(orderNo);
        } catch (err) {
          if (!killed) throw err; // a request the kill cut short is expected; anything else is not
        }
      }
    };
    const orderStatus = async (orderNo: string): Promise<number> =>
      (await ok('POST', `${info1.devServer.models}/orders/wedaGetItemV2`, { filter: { where: { orderNo: { $eq: orderNo } } }, select: { $master: true } })).status;

    const workers = Array.from({ length: 8 }, (_, w) => storm(w));
    // Refunds while the storm runs: 15 paid orders (their callback marked them 2) refunded in full, 4 at a time.
    await waitFor(async () => paid.length >= 30, '30 paid orders', 20_000);
    const toRefund = paid.slice(0, 15);
    const refunds = [...toRefund];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let orderNo = refunds.shift(); orderNo; orderNo = refunds.shift()) {
        const no = orderNo;
        await waitFor(async () => (await orderStatus(no)) === 2, `order ${no} paid`, 10_000);
        expect(await ok('POST', `${info1.devServer.connector}/requestRefund`, { orderNo: no })).toMatchObject({ orderNo: no, status: 'PROCESSING' });
      }
    }));
    // The next five payment notifications are held back 2 s: certainly still queued when the process dies.
    await ok('POST', `${info1.baseUrl}/sandbox/faults`, { kind: 'DELAY', seconds: 2, count: 5, event_type: 'TRANSACTION.' });
    const atFault = paid.length;
    await waitFor(async () => paid.length >= Math.max(atFault + 8, 100), 'more payments after the fault', 20_000);
    killed = true;
    run1.child.kill('SIGKILL');
    expect((await run1.exited).signal).toBe('SIGKILL');
    await Promise.all(workers);
    const placedBeforeCrash = [...placed];

    // What the killed process left: notifications still queued (the ones held back at least).
    const db = new Database(path.join(dataDir, 'sandbox', 'sandbox.sqlite'));
    const pendingAtCrash = (db.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'`).get() as { n: number }).n;
    const processingAtCrash = (db.prepare(`SELECT COUNT(*) AS n FROM refunds WHERE status = 'PROCESSING'`).get() as { n: number }).n;
    db.close();
    expect(pendingAtCrash).toBeGreaterThanOrEqual(1);

    // ── Run 2: same data directory, same dev port; everything converges ───────────────────────────────────────
    const run2 = startCli(args);
    const info2 = await run2.ready;
    expect(new URL(info2.devServer.baseUrl).port).toBe(devPort);
    expect(await waitFor(async () => (await mismatches(info2)).length === 0 || undefined, 'the orders to match WeChat Pay after the crash', 20_000)
      .catch(async (err) => { throw new Error(`${String(err)}\n${(await mismatches(info2)).slice(0, 10).join('\n')}`); })).toBe(true);
    // The same order placed again is the same order (the notify URL has not changed), not a conflicting re-entry.
    expect(await ok('POST', `${info2.devServer.connector}/unifiedOrder`, kept)).toMatchObject({ prepayId: expect.any(String), payment: expect.any(Object) });
    expect(keptPrepay.prepayId).toEqual(expect.any(String));

    // ── Run 2 stopped cleanly (SIGTERM) while payments are going on ───────────────────────────────────────────
    // The next five payment notifications are held back 2 s: still queued when the process stops.
    await ok('POST', `${info2.baseUrl}/sandbox/faults`, { kind: 'DELAY', seconds: 2, count: 5, event_type: 'TRANSACTION.' });
    const inSandbox = (await sandboxState(info2)).transactions;
    const unpaid = (await allOrders(info2)).map((o) => o.orderNo as string).filter((no) => no !== kept.outTradeNo && inSandbox.get(no)?.trade_state === 'NOTPAY');
    const more = await Promise.all(Array.from({ length: 12 }, () => ok('POST', `${info2.devServer.connector}/checkout`, { goodsId: goods.id, openid: OPENID })));
    const payNow = [...unpaid.slice(0, 12), ...more.map((m) => m.orderNo as string)];
    let stopping = false;
    let answered = 0;
    const payments = payNow.map(async (no) => {
      try {
        await ok('POST', `${info2.baseUrl}/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
        answered += 1;
      } catch (err) {
        if (!stopping) throw err;
      }
    });
    await waitFor(async () => answered >= 6, 'payments before the stop', 10_000);
    stopping = true;
    run2.child.kill('SIGTERM');
    expect(await run2.exited).toEqual({ code: 0, signal: null });
    await Promise.all(payments);

    // ── Run 3: everything converges again ─────────────────────────────────────────────────────────────────────
    const run3 = startCli(args);
    const info3 = await run3.ready;
    expect(new URL(info3.devServer.baseUrl).port).toBe(devPort);
    expect(await waitFor(async () => (await mismatches(info3)).length === 0 || undefined, 'the orders to match WeChat Pay after the clean stop', 20_000)
      .catch(async (err) => { throw new Error(`${String(err)}\n${(await mismatches(info3)).slice(0, 10).join('\n')}`); })).toBe(true);

    // Nothing lost, nothing twice.
    const orders = await allOrders(info3);
    const s = await sandboxState(info3);
    const paidOrders = orders.filter((o) => o.status >= 2);
    expect(paidOrders.length).toBeGreaterThanOrEqual(100);
    expect(orders.filter((o) => o.status === 4).length).toBe(toRefund.length);
    for (const o of paidOrders) expect(o.transactionId).toBe(s.transactions.get(o.orderNo).transaction_id);
    const byOrder = new Map<string, any[]>();
    for (const n of s.notifications) byOrder.set(`${n.event_type} ${n.out_trade_no}`, [...(byOrder.get(`${n.event_type} ${n.out_trade_no}`) ?? []), n]);
    for (const o of paidOrders) expect(byOrder.get(`TRANSACTION.SUCCESS ${o.orderNo}`)).toHaveLength(1);
    for (const no of toRefund) expect(byOrder.get(`REFUND.SUCCESS ${no}`)).toHaveLength(1);
    // Every notification acknowledged by exactly one attempt: none failed because a process stopped or moved.
    const attempts = s.notifications.map((n) => ({ id: n.id, attempts: n.attempts.map((a: any) => `${a.statusCode ?? a.error}${a.acked ? ' acked' : ''}`) }));
    expect(attempts.filter((a) => a.attempts.length !== 1 || !a.attempts[0].endsWith(' acked'))).toEqual([]);
    // Each order's transition happened once: the callbacks' own log, across the three runs.
    const logs = [run1, run2, run3].map((r) => r.stderr()).join('\n').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const applied = (event: string) => {
      const counts = new Map<string, number>();
      for (const e of logs) if (e.event === event) counts.set(e.outTradeNo, (counts.get(e.outTradeNo) ?? 0) + 1);
      return [...counts].filter(([, n]) => n > 1);
    };
    expect(applied('payment.applied')).toEqual([]);
    expect(applied('refund.applied')).toEqual([]);
    // The crash and the stop really left work behind, and the next start took it up.
    expect(pendingAtCrash + processingAtCrash).toBeGreaterThanOrEqual(1);
    for (const r of [run2, run3]) expect(r.stderr()).toMatch(/notify: \d+ notifications pending from before this start/);
    // The request log kept every /v3/* request answered before the crash: each placed order's prepay, each refund.
    const logged: any[] = [];
    for (let since = 0; ;) {
      const page = (await ok('GET', `${info3.baseUrl}/sandbox/requests?since=${since}`)).requests;
      if (page.length === 0) break;
      logged.push(...page);
      since = page[page.length - 1].seq;
    }
    const prepaid = new Set(logged.filter((r) => r.path === '/v3/pay/transactions/jsapi' && r.status === 200).map((r) => JSON.parse(r.requestBody).out_trade_no));
    expect(placedBeforeCrash.filter((no) => !prepaid.has(no))).toEqual([]);
    const refundsAsked = new Set(logged.filter((r) => r.path === '/v3/refund/domestic/refunds' && r.status === 200).map((r) => JSON.parse(r.requestBody).out_trade_no));
    expect(toRefund.filter((no) => !refundsAsked.has(no))).toEqual([]);

    run3.child.kill('SIGTERM');
    expect(await run3.exited).toEqual({ code: 0, signal: null });
  } finally {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
