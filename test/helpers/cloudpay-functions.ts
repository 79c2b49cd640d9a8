/** Test helpers for the CloudPay emulation: "cloud functions" on 127.0.0.1 and their registration. */
import http from 'node:http';
import { SandboxReadyInfo } from '../../sandbox';
import { listenOnLoopback } from './loopback';

export interface FunctionAnswer {
  /** HTTP status of the invocation; default 200. */
  status?: number;
  /** What the function returns (JSON-encoded unless a string). */
  result: unknown;
  /** Answer this late (to exceed the sandbox's timeout). */
  delayMs?: number;
}

export interface FakeCloudFunction {
  url: string;
  /** Events received, in order (parsed JSON). */
  events: any[];
  close: () => Promise<void>;
}

/** A cloud function: records each event and answers `answer(event, n)` for the n-th invocation (0-based). */
export async function startCloudFunction(answer: (event: any, n: number) => FunctionAnswer = () => ({ result: { errcode: 0, errmsg: 'OK' } })): Promise<FakeCloudFunction> {
  const events: any[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const a = answer(event, events.length);
      events.push(event);
      const reply = () => {
        const text = typeof a.result === 'string' ? a.result : JSON.stringify(a.result);
        res.writeHead(a.status ?? 200, { 'Content-Type': 'application/json' });
        res.end(text);
      };
      if (a.delayMs) {
        const t = setTimeout(() => { timers.delete(t); reply(); }, a.delayMs);
        timers.add(t);
      } else reply();
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/invoke`,
    events,
    close: () => {
      for (const t of timers) clearTimeout(t);
      return close();
    },
  };
}

/** `POST /sandbox/cloudpay/functions`: invoking (envId, functionName) = POSTing the event to url. */
export async function registerFunction(info: SandboxReadyInfo, envId: string, functionName: string, url: string): Promise<void> {
  const res = await fetch(`${info.baseUrl}/sandbox/cloudpay/functions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ envId, functionName, url }) });
  if (res.status !== 200) throw new Error(`registering ${envId}/${functionName} failed: ${res.status} ${await res.text()}`);
}

/** The CloudPay deliveries of the shared notification log (kind "cloudpay"). */
export async function cloudPayDeliveries(info: SandboxReadyInfo, query = ''): Promise<any[]> {
  const res = await fetch(`${info.baseUrl}/sandbox/notifications${query}`);
  const body = (await res.json()) as { notifications: any[] };
  return body.notifications.filter((n) => n.kind === 'cloudpay');
}

/** The sandbox's CloudPay info: v2 key, provider ids, registered functions, settings. */
export async function cloudPayInfo(info: SandboxReadyInfo): Promise<any> {
  return (await fetch(`${info.baseUrl}/sandbox/cloudpay`)).json();
}
