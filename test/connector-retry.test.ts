/**
 * Transient failures: SYSTEM_ERROR and FREQUENCY_LIMITED are retried with the same outTradeNo and bounded
 * backoff; exhausted retries surface the platform code, the attempt count and retryable=true; a slow
 * platform times out per configuration; 4xx errors are never retried.
 */
import { createConnector, createProvider, Connector } from '../connector';
import { resolveConfig } from '../config';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

let t: TestDev;
beforeAll(async () => { t = await startTestDev({ seedGoods: false }); });
afterAll(async () => { await t?.close(); });

const fault = (body: Record<string, unknown>) => t.post(`${t.dev.info.baseUrl}/sandbox/faults`, body);
const prepayAttempts = async (outTradeNo: string) => {
  const r = await t.get(`${t.dev.info.baseUrl}/sandbox/requests`);
  return (r.body.requests as any[]).filter((q) => q.path === '/v3/pay/transactions/jsapi' && JSON.stringify(q).includes(outTradeNo)).length;
};

function connectorWith(retry: { maxRetries: number; baseDelayMs: number }, timeoutMs = 5000): Connector {
  const base = t.dev.resolved.config;
  const resolved = resolveConfig({ ...base, v3: { ...base.v3!, timeoutMs } }, { baseDir: t.dataDir });
  return createConnector(createProvider(resolved), { retry });
}

it('retries SYSTEM_ERROR with the same order number and succeeds', async () => {
  const outTradeNo = newOrderNo('S');
  await fault({ kind: 'SYSTEM_ERROR', path: '/v3/pay/transactions/jsapi', count: 2 });
  const out: any = await connectorWith({ maxRetries: 2, baseDelayMs: 1 }).call('unifiedOrder', { body: 'x', outTradeNo, totalFee: 10, openid: 'o1' });
  expect(out.outTradeNo).toBe(outTradeNo);
});

it('gives up after the bound with the code, the attempts and retryable=true', async () => {
  const outTradeNo = newOrderNo('F');
  await fault({ kind: 'FREQUENCY_LIMITED', path: '/v3/pay/transactions/out-trade-no', count: 3 });
  const err: any = await connectorWith({ maxRetries: 2, baseDelayMs: 1 }).call('queryOrder', { outTradeNo }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'FREQUENCY_LIMITED', retryable: true, detail: expect.objectContaining({ attempts: 3 }) });
});

it('does not retry a 4xx', async () => {
  const outTradeNo = newOrderNo('P');
  const c = connectorWith({ maxRetries: 3, baseDelayMs: 1 });
  await c.call('unifiedOrder', { body: 'x', outTradeNo, totalFee: 10, openid: 'o1' });
  const before = await prepayAttempts(outTradeNo);
  await expect(c.call('unifiedOrder', { body: 'changed', outTradeNo, totalFee: 10, openid: 'o1' })).rejects.toMatchObject({ code: 'INVALID_REQUEST', retryable: false });
  expect(await prepayAttempts(outTradeNo)).toBe(before + 1);
});

it('times out a slow platform per configuration, as a retryable TIMEOUT', async () => {
  await fault({ kind: 'LATENCY', ms: 800, path: '/v3/pay/transactions/out-trade-no', count: 1 });
  const err: any = await connectorWith({ maxRetries: 0, baseDelayMs: 1 }, 150).call('queryOrder', { outTradeNo: newOrderNo('L') }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true });
});
