/**
 * Signed round trips per second against the sandbox, measured beside the `node:crypto` floor in one run, so
 * that what the sandbox adds on top of the cryptography shows as one ratio. Run on demand, never as a timed test:
 *
 *   npx tsc -p bench/tsconfig.json && node .build/bench/sandbox-roundtrip.js [--seconds 3] [--concurrency 4] [--slices 6]
 *
 * Phase 1, the floor: what one signed round trip must do cryptographically, with parsed KeyObjects and nothing
 * else — client signs the request message (merchant key), server verifies it, server signs the response message
 * (platform key), client verifies it: RSA-2048 SHA256withRSA sign + verify, twice. Iterations per second.
 * Phase 2, the real thing: `GET /v3/pay/transactions/out-trade-no/{no}?mchid=` over loopback HTTP with a
 * keep-alive agent and a few requests in flight, signed by `wxpay/` (buildAuthorization), authenticated and
 * answered (signed) by the sandbox, the answer verified by `wxpay/` (WechatpayVerifier). Both phases run in this
 * one process on one event loop, so the ratio is what HTTP, routing, SQLite and JSON cost on top of the crypto.
 * Each phase runs `--seconds` in total, in `--slices` alternating slices (floor, round trips, floor, …) after a
 * warm-up, so load from other processes weighs on both alike. Prints one JSON line, then a human line. Goal: ratio ≥ 0.7.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, createPublicKey, createSign, createVerify, KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { buildAuthorization, createNonce, RequestSigner, requestSignatureMessage, responseSignatureMessage, WechatpayVerifier } from '../wxpay';
import { startSandbox } from '../sandbox';
import { positiveArgs } from './lib/args';

interface Args { seconds: number; warmupSeconds: number; concurrency: number; slices: number }

function parseArgs(argv: string[]): Args {
  const a = positiveArgs(argv, { seconds: 3, warmup: 1, concurrency: 4, slices: 6 });
  return { seconds: a.seconds, warmupSeconds: a.warmup, concurrency: Math.round(a.concurrency), slices: Math.round(a.slices) };
}

/** Phase 1: client sign, server verify, server sign, client verify — per iteration, for `ms`. */
function floor(ms: number, keys: { merchantPrivate: KeyObject; merchantPublic: KeyObject; platformPrivate: KeyObject; platformPublic: KeyObject }, url: string, responseBody: string): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) {
      const ts = Math.floor(Date.now() / 1000);
      const nonce = createNonce();
      const req = requestSignatureMessage('GET', url, ts, nonce, '');
      const reqSig = createSign('RSA-SHA256').update(req).sign(keys.merchantPrivate, 'base64');
      if (!createVerify('RSA-SHA256').update(req).verify(keys.merchantPublic, reqSig, 'base64')) throw new Error('floor: request verify failed');
      const res = responseSignatureMessage(ts, nonce, responseBody);
      const resSig = createSign('RSA-SHA256').update(res).sign(keys.platformPrivate, 'base64');
      if (!createVerify('RSA-SHA256').update(res).verify(keys.platformPublic, resSig, 'base64')) throw new Error('floor: response verify failed');
      n++;
    }
  }
  return n;
}

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

function request(agent: http.Agent, base: URL, method: string, url: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method, path: url, agent, headers: { ...headers, ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One signed round trip as a client does it with wxpay/: sign, send, verify the signed answer. */
async function roundTrip(agent: http.Agent, base: URL, signer: RequestSigner, verifier: WechatpayVerifier, url: string): Promise<void> {
  const authorization = buildAuthorization(signer, { method: 'GET', url });
  const a = await request(agent, base, 'GET', url, { Authorization: authorization, Accept: 'application/json' });
  if (a.status !== 200) throw new Error(`round trip answered ${a.status}: ${a.body}`);
  verifier.verify(a.headers as Record<string, string>, a.body);
}

async function roundTrips(ms: number, concurrency: number, run: () => Promise<void>): Promise<{ count: number; latencies: number[] }> {
  const end = performance.now() + ms;
  const latencies: number[] = [];
  let count = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await run();
      latencies.push(performance.now() - t);
      count++;
    }
  }));
  return { count, latencies };
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-sandbox-'));
  const sandbox = await startSandbox({ dataDir });
  const agent = new http.Agent({ keepAlive: true, maxSockets: args.concurrency });
  try {
    const { info } = sandbox;
    const base = new URL(info.baseUrl);
    const merchantPrivate = createPrivateKey(readFileSync(info.merchant.privateKeyPath, 'utf8'));
    const platformPublic = createPublicKey(readFileSync(info.platform.publicKeyPath, 'utf8'));
    // The floor needs the server's keys too: the platform private key from the data directory, the merchant public key from its own private key.
    const platformPrivate = createPrivateKey(readFileSync(path.join(dataDir, 'keys', 'platform_private_key.pem'), 'utf8'));
    const merchantPublic = createPublicKey(merchantPrivate);
    const signer: RequestSigner = { mchid: info.merchant.mchid, serialNo: info.merchant.serialNo, privateKey: merchantPrivate };
    const verifier = new WechatpayVerifier({ keys: { [info.platform.publicKeyId]: platformPublic } });

    // A paid order, so the answer is a full Transaction object (a typical response body).
    const outTradeNo = `BENCH${Date.now()}`;
    const prepayBody = JSON.stringify({
      appid: info.merchant.appid, mchid: info.merchant.mchid, description: 'Image形象店-深圳腾大-QQ公仔', out_trade_no: outTradeNo,
      notify_url: 'https://merchant.example.com/notify', amount: { total: 100, currency: 'CNY' }, payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    });
    const prepay = await request(agent, base, 'POST', '/v3/pay/transactions/jsapi', {
      Authorization: buildAuthorization(signer, { method: 'POST', url: '/v3/pay/transactions/jsapi', body: prepayBody }), 'Content-Type': 'application/json', Accept: 'application/json',
    }, prepayBody);
    if (prepay.status !== 200) throw new Error(`prepay failed: ${prepay.status} ${prepay.body}`);
    const paid = await request(agent, base, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { 'Content-Type': 'application/json' }, '{"result":"SUCCESS"}');
    if (paid.status !== 200) throw new Error(`pay failed: ${paid.status} ${paid.body}`);
    const url = `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${info.merchant.mchid}`;
    const sample = await request(agent, base, 'GET', url, { Authorization: buildAuthorization(signer, { method: 'GET', url }), Accept: 'application/json' });
    const keys = { merchantPrivate, merchantPublic, platformPrivate, platformPublic };
    const run = () => roundTrip(agent, base, signer, verifier, url);

    // Warm up both paths (JIT, sockets, SQLite page cache), then measure each for the same fixed total duration,
    // in alternating slices, so that whatever else runs on the machine weighs on both phases alike.
    floor(args.warmupSeconds * 1000, keys, url, sample.body);
    await roundTrips(args.warmupSeconds * 1000, args.concurrency, run);
    const sliceMs = (args.seconds * 1000) / args.slices;
    let floorCount = 0;
    const rt = { count: 0, latencies: [] as number[] };
    for (let i = 0; i < args.slices; i++) {
      floorCount += floor(sliceMs, keys, url, sample.body);
      const r = await roundTrips(sliceMs, args.concurrency, run);
      rt.count += r.count;
      rt.latencies.push(...r.latencies);
    }

    const floorPerSec = floorCount / args.seconds;
    const rtPerSec = rt.count / args.seconds;
    const sorted = rt.latencies.sort((a, b) => a - b);
    const ratio = rtPerSec / floorPerSec;
    const result = {
      bench: 'sandbox-roundtrip',
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      seconds: args.seconds,
      slices: args.slices,
      concurrency: args.concurrency,
      responseBytes: Buffer.byteLength(sample.body),
      floor: { what: 'RSA-2048 SHA256withRSA: request sign+verify, response sign+verify (node:crypto, parsed KeyObjects)', perSec: round(floorPerSec) },
      roundTrip: { what: 'signed GET query over loopback keep-alive HTTP, server auth + signed answer, client verification (wxpay/)', perSec: round(rtPerSec), p50Ms: round(pct(sorted, 50), 2), p99Ms: round(pct(sorted, 99), 2) },
      ratio: round(ratio, 3),
      goal: 0.7,
      meetsGoal: ratio >= 0.7,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.stdout.write(`sandbox round trips ${result.roundTrip.perSec}/s vs node:crypto floor ${result.floor.perSec}/s → ratio ${result.ratio} (goal ≥ 0.7: ${result.meetsGoal ? 'met' : 'NOT met'}); p50 ${result.roundTrip.p50Ms} ms, p99 ${result.roundTrip.p99Ms} ms at ${args.concurrency} in flight\n`);
  } finally {
    agent.destroy();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
