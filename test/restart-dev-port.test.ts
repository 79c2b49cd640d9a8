/**
 * The dev server keeps its port across restarts (notify URLs carry it): the first start takes a free port and
 * records it in the data directory, later starts listen on it again; `devPort` (`--dev-port`) moves it and is
 * remembered; a remembered port that is taken, or a broken record, is an error naming the port, the file and the
 * flag — never a silent move. `restart-crash.test.ts` runs the same through the CLI, across a crash.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../scripts/dev-server';
import { DEV_PORT_FILE } from '../scripts/dev-port';
import { listenOnLoopback } from './helpers/loopback';

let dataDir: string;
beforeEach(() => { dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-devport-')); });
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const portOf = (url: string): number => Number(new URL(url).port);
const recorded = (): unknown => JSON.parse(fs.readFileSync(path.join(dataDir, DEV_PORT_FILE), 'utf8'));

async function devPortOfRun(devPort?: number): Promise<number> {
  const dev = await startDevServer({ dataDir, ...(devPort !== undefined ? { devPort } : {}) });
  try {
    const port = portOf(dev.info.devServer.baseUrl);
    expect(portOf(dev.info.devServer.payNotify)).toBe(port);
    return port;
  } finally {
    await dev.close();
  }
}

it('takes a free port once, records it, and listens on it again at the next start', async () => {
  const first = await devPortOfRun();
  expect(first).toBeGreaterThan(0);
  expect(recorded()).toEqual({ port: first });
  expect(await devPortOfRun()).toBe(first);
});

it('moves with devPort (0 = any free port) and remembers where it went', async () => {
  const first = await devPortOfRun();
  const moved = await devPortOfRun(0);
  expect(recorded()).toEqual({ port: moved });
  expect(await devPortOfRun()).toBe(moved);
  // An explicit port is used and remembered too (the one just freed is free again).
  expect(await devPortOfRun(first)).toBe(first);
  expect(recorded()).toEqual({ port: first });
});

it('refuses a remembered port that is taken, naming the port, the file and the flag; nothing is left running', async () => {
  const port = await devPortOfRun();
  const squatter = http.createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  try {
    await expect(startDevServer({ dataDir })).rejects.toThrow(new RegExp(`dev server's port ${port} \\(remembered in .*${DEV_PORT_FILE}.*\\) is in use.*--dev-port <n>`));
    await expect(startDevServer({ dataDir, devPort: port })).rejects.toThrow(`the dev server's port ${port} (--dev-port) is in use`);
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
  // The failed starts closed what they opened: the data directory's sandbox opens again at once.
  expect(await devPortOfRun()).toBe(port);
});

it('refuses a broken record with the way out', async () => {
  fs.writeFileSync(path.join(dataDir, DEV_PORT_FILE), '{"port": "soon"}');
  await expect(startDevServer({ dataDir })).rejects.toThrow(/dev-server\.json must be \{"port": N\} with N from 1 to 65535; pass --dev-port <n> to replace it/);
  const free = http.createServer();
  const { port, close } = await listenOnLoopback(free);
  await close();
  expect(await devPortOfRun(port)).toBe(port);
  expect(recorded()).toEqual({ port });
});
