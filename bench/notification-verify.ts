/**
 * v3 notifications opened per second — verify + decrypt + parse — by the protocol core, beside a bare
 * `node:crypto` floor and the independent SDK wechatpay-axios-plugin, in one run. Run on demand, never as a
 * timed test:
 *
 *   npx tsc -p bench/tsconfig.json && node .build/bench/notification-verify.js [--messages 2000] [--seconds 4] [--slices 40]
 *
 * The input is what a deployed pay-notify function gets: `--messages` DISTINCT TRANSACTION.SUCCESS notifications
 * (each its own order, nonce, timestamp and signature), built as WeChat Pay sends them — resource encrypted with
 * AEAD_AES_256_GCM under a 32-byte APIv3 key, body signed SHA256withRSA with an RSA-2048 platform key
 * (wxpay-v3.md §3, §4) — with the body as a Buffer and the headers as node:http hands them over (lower-case
 * names, next to the usual others). `--messages 1` measures one repeated message instead.
 *
 * Three phases, each opening the messages round robin:
 *  floor — hand-written with node:crypto only: build the `TS\nNONCE\nBODY\n` message, one-shot `crypto.verify`,
 *          one JSON.parse of the envelope, `createDecipheriv('aes-256-gcm')` with a key made once, one JSON.parse
 *          of the resource. No checks beyond what the crypto itself does.
 *  core  — `parseNotification` from wxpay/, exactly as callbacks/runtime/pay-notify.ts calls it, with every
 *          rule it keeps (headers, ±300 s clock window, serial selection, Base64 strictness, 32-byte key).
 *  peer  — wechatpay-axios-plugin as a merchant uses it (it has no notification helper): Formatter.response +
 *          Rsa.verify with a key loaded once, JSON.parse, Aes.AesGcm.decrypt, JSON.parse.
 * Each phase runs `--seconds` of wall time in total, in `--slices` rounds of one slice per phase (the order
 * rotating each round) after a warm-up, so load from other processes weighs on all three alike. The ratios are
 * taken per round on notifications per CPU second of this process, then the median over rounds: on a shared
 * machine that keeps both the bursts of load and the time others hold the CPU out of the comparison. Prints
 * one JSON line (wall-clock and per-CPU-second rates), then a human line. Goal: core/floor ≥ 1.0.
 */
import os from 'node:os';
import { createDecipheriv, createSecretKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID, verify as rsaVerifyOneShot } from 'node:crypto';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import { positiveArgs } from './lib/args';
import { buildNotification, createNonce, parseNotification, WechatpayVerifier } from '../wxpay';

interface Args { messages: number; seconds: number; warmupSeconds: number; slices: number }

function parseArgs(argv: string[]): Args {
  const a = positiveArgs(argv, { messages: 2000, seconds: 4, warmup: 1, slices: 40 });
  return { messages: Math.round(a.messages), seconds: a.seconds, warmupSeconds: a.warmup, slices: Math.round(a.slices) };
}

interface Message { headers: Record<string, string>; body: Buffer }

interface Fixture {
  messages: Message[];
  serial: string;
  apiV3Key: string;
  publicKey: KeyObject;
  publicKeyPem: string;
}

/** A realistic paid JSAPI order (wxpay-v3.md §1.2), different for every message. */
function transaction(i: number, appid: string, mchid: string): Record<string, unknown> {
  const total = 1 + ((i * 7919) % 100000);
  return {
    appid, mchid, out_trade_no: `BENCH${Date.now()}${String(i).padStart(6, '0')}`, transaction_id: `4200000${String(1_000_000_000 + i * 37)}${String(i).padStart(6, '0')}`,
    trade_type: 'JSAPI', trade_state: 'SUCCESS', trade_state_desc: '支付成功', bank_type: 'OTHERS', attach: '',
    success_time: '2024-08-05T17:33:41+08:00', payer: { openid: `oUpF8uMuAJO_M2pxb1Q9zNj${createNonce(5)}` },
    amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' },
  };
}

function makeFixture(count: number): Fixture {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serial = `PUB_KEY_ID_0114232134912410000000000000${String(Date.now() % 1_000_000).padStart(6, '0')}`;
  const apiV3Key = createNonce(32);
  const [appid, mchid] = ['wxd678efh567hg6787', '1230000109'];
  const now = Math.floor(Date.now() / 1000);
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const n = buildNotification({
      eventType: 'TRANSACTION.SUCCESS', resource: transaction(i, appid, mchid), apiV3Key, signingKey: privateKey, serial,
      createTime: '2024-08-05T17:33:42+08:00', id: randomUUID(), timestamp: now - (i % 60),
    });
    // What node:http hands a handler: lower-case names, the signed ones among the usual others.
    const headers: Record<string, string> = {
      host: 'pay-notify-1g2h3j.ap-shanghai.app.tcloudbase.com', 'user-agent': 'Mozilla/4.0', 'content-type': n.headers['Content-Type'],
      'content-length': String(Buffer.byteLength(n.body)), accept: '*/*', connection: 'keep-alive', pragma: 'no-cache',
      'wechatpay-nonce': n.headers['Wechatpay-Nonce'], 'wechatpay-serial': n.headers['Wechatpay-Serial'], 'wechatpay-signature': n.headers['Wechatpay-Signature'],
      'wechatpay-signature-type': n.headers['Wechatpay-Signature-Type'], 'wechatpay-timestamp': n.headers['Wechatpay-Timestamp'],
      'x-forwarded-for': '101.226.103.15', 'x-real-ip': '101.226.103.15', 'x-request-id': randomBytes(16).toString('hex'),
    };
    messages.push({ headers, body: Buffer.from(n.body, 'utf8') });
  }
  return { messages, serial, apiV3Key, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Opens one notification and returns its amount (so nothing can be skipped as unused). */
type Opener = (m: Message) => number;

function floorOpener(f: Fixture): Opener {
  const aesKey = createSecretKey(Buffer.from(f.apiV3Key, 'utf8'));
  const newline = Buffer.from('\n');
  return (m) => {
    const h = m.headers;
    const message = Buffer.concat([Buffer.from(`${h['wechatpay-timestamp']}\n${h['wechatpay-nonce']}\n`, 'utf8'), m.body, newline]);
    if (!rsaVerifyOneShot('sha256', message, f.publicKey, Buffer.from(h['wechatpay-signature']!, 'base64'))) throw new Error('floor: signature does not verify');
    const r = JSON.parse(m.body.toString('utf8')).resource;
    const data = Buffer.from(r.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(r.nonce, 'utf8'), { authTagLength: 16 });
    decipher.setAuthTag(data.subarray(data.length - 16));
    decipher.setAAD(Buffer.from(r.associated_data, 'utf8'));
    const plaintext = Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
    return JSON.parse(plaintext).amount.total;
  };
}

function coreOpener(f: Fixture): Opener {
  // Made once, as callbacks/runtime/function-kit.ts does for the life of the function instance.
  const verifier = new WechatpayVerifier({ keys: { [f.serial]: f.publicKeyPem } });
  return (m) => parseNotification<{ amount: { total: number } }>({ headers: m.headers, rawBody: m.body, verifier, apiV3Key: f.apiV3Key }).resource.amount.total;
}

function peerOpener(f: Fixture): Opener {
  const keys: Record<string, ReturnType<typeof Rsa.from>> = { [f.serial]: Rsa.from(f.publicKeyPem, Rsa.KEY_TYPE_PUBLIC) };
  return (m) => {
    const h = m.headers;
    const key = keys[h['wechatpay-serial']!];
    if (!key) throw new Error('peer: unknown serial');
    if (Math.abs(Number(Formatter.timestamp()) - Number(h['wechatpay-timestamp'])) > 300) throw new Error('peer: stale timestamp');
    const body = m.body.toString('utf8');
    if (!Rsa.verify(Formatter.response(h['wechatpay-timestamp']!, h['wechatpay-nonce']!, body), h['wechatpay-signature']!, key)) throw new Error('peer: signature does not verify');
    const r = JSON.parse(body).resource;
    return JSON.parse(Aes.AesGcm.decrypt(r.ciphertext, f.apiV3Key, r.nonce, r.associated_data)).amount.total;
  };
}

interface Slice { count: number; cpuMicros: number }

/** Opens messages round robin for `ms` of wall time; returns how many, and the CPU time this process spent. */
function run(open: Opener, messages: Message[], ms: number, cursor: { at: number; sink: number }): Slice {
  const cpu = process.cpuUsage();
  const end = performance.now() + ms;
  let count = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) {
      cursor.sink += open(messages[cursor.at]!);
      cursor.at = cursor.at + 1 === messages.length ? 0 : cursor.at + 1;
      count++;
    }
  }
  const used = process.cpuUsage(cpu);
  return { count, cpuMicros: used.user + used.system };
}

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Notifications per CPU second of this process: the time other processes take the core away does not count. */
const perCpuSecond = (s: Slice): number => (s.count * 1e6) / s.cpuMicros;

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const fixture = makeFixture(args.messages);
  const phases = [
    { name: 'floor', open: floorOpener(fixture) },
    { name: 'core', open: coreOpener(fixture) },
    { name: 'peer', open: peerOpener(fixture) },
  ] as const;

  // All three must agree on every message before any of them is timed.
  for (const m of fixture.messages) {
    const [a, b, c] = phases.map((p) => p.open(m));
    if (a !== b || b !== c) throw new Error(`phases disagree: floor ${a}, core ${b}, peer ${c}`);
  }

  const cursors = phases.map(() => ({ at: 0, sink: 0 }));
  phases.forEach((p, i) => run(p.open, fixture.messages, args.warmupSeconds * 1000, cursors[i]!));
  const rounds: Slice[][] = [];
  const sliceMs = (args.seconds * 1000) / args.slices;
  for (let s = 0; s < args.slices; s++) {
    const inRound: Slice[] = [];
    for (let k = 0; k < phases.length; k++) {
      const i = (s + k) % phases.length;
      inRound[i] = run(phases[i]!.open, fixture.messages, sliceMs, cursors[i]!);
    }
    rounds.push(inRound);
  }

  // Wall-clock rates over the whole run, and the ratios: per round (the three phases ran back to back) the
  // ratio of notifications per CPU second, then the median over rounds — so neither a burst of load from
  // other processes nor the share of the core they take tilts the comparison.
  const [floor, core, peer] = phases.map((_, i) => rounds.reduce((sum, r) => sum + r[i]!.count, 0) / args.seconds) as [number, number, number];
  const [floorCpu, coreCpu, peerCpu] = phases.map((_, i) => median(rounds.map((r) => perCpuSecond(r[i]!)))) as [number, number, number];
  const coreOverFloor = median(rounds.map(([f, c]) => perCpuSecond(c!) / perCpuSecond(f!)));
  const coreOverPeer = median(rounds.map(([, c, p]) => perCpuSecond(c!) / perCpuSecond(p!)));
  const result = {
    bench: 'notification-verify',
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    messages: args.messages,
    bodyBytes: Math.round(fixture.messages.reduce((sum, m) => sum + m.body.length, 0) / fixture.messages.length),
    seconds: args.seconds,
    slices: args.slices,
    floor: { what: 'node:crypto only: one-shot crypto.verify, createDecipheriv aes-256-gcm (key made once), JSON.parse ×2', perSec: round(floor), perCpuSec: round(floorCpu) },
    core: { what: 'wxpay parseNotification (headers, ±300 s, serial, verify, decrypt, parse), as pay-notify calls it', perSec: round(core), perCpuSec: round(coreCpu) },
    peer: { what: 'wechatpay-axios-plugin: Formatter.response + Rsa.verify, Aes.AesGcm.decrypt, JSON.parse ×2', perSec: round(peer), perCpuSec: round(peerCpu) },
    coreOverFloor: round(coreOverFloor, 3),
    coreOverPeer: round(coreOverPeer, 3),
    goal: 1.0,
    meetsGoal: coreOverFloor >= 1.0,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.stdout.write(`notifications opened (${args.messages === 1 ? 'one repeated message' : `${args.messages} distinct messages`}, Buffer body): core ${result.core.perSec}/s, node:crypto floor ${result.floor.perSec}/s, wechatpay-axios-plugin ${result.peer.perSec}/s → core/floor ${result.coreOverFloor} (goal ≥ 1.0: ${result.meetsGoal ? 'met' : 'NOT met'}), core/peer ${result.coreOverPeer}\n`);
}

main();
