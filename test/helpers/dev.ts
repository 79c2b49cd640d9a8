import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, RunningDevServer, DevServerOptions } from '../../scripts/dev-server';

export interface TestDev {
  dev: RunningDevServer;
  dataDir: string;
  /** POST JSON to a full URL; returns status and parsed body. */
  post(url: string, body?: unknown): Promise<{ status: number; body: any }>;
  get(url: string): Promise<{ status: number; body: any }>;
  connector(method: string, params: unknown): Promise<{ status: number; body: any }>;
  model(name: string, methodName: string, params: unknown, envType?: 'pre' | 'prod'): Promise<any>;
  sandboxRequestCount(): Promise<number>;
  /** Polls `probe` until it returns a truthy value or the deadline passes. */
  waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startTestDev(opts: Partial<DevServerOptions> = {}): Promise<TestDev> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-dev-'));
  // Reconcile runs when a test asks for it, not when the sandbox clock happens to cross its timer.
  const dev = await startDevServer({ dataDir, port: 0, reconcileOnSchedule: false, ...opts });
  const call = async (url: string, init: RequestInit) => {
    const res = await fetch(url, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const t: TestDev = {
    dev,
    dataDir,
    post: (url, body) => call(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) }),
    get: (url) => call(url, { method: 'GET' }),
    connector: (method, params) => t.post(`${dev.info.devServer.connector}/${method}`, params),
    async model(name, methodName, params, envType) {
      const r = await t.post(`${dev.info.devServer.models}/${name}/${methodName}${envType ? `?envType=${envType}` : ''}`, params);
      if (r.status !== 200) throw new Error(`${name}.${methodName} → ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async sandboxRequestCount() {
      const r = await t.get(`${dev.info.baseUrl}/sandbox/requests`);
      const list = Array.isArray(r.body) ? r.body : r.body.requests;
      return list.length;
    },
    async waitFor(probe, what, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await probe();
        if (v) return v as never;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await dev.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

let counter = 0;
/** A fresh, valid out_trade_no per call. */
export function newOrderNo(prefix = 'T'): string {
  counter += 1;
  return `${prefix}${Date.now()}${process.pid}${counter}`.slice(0, 32);
}
