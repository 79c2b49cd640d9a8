/**
 * The CLI as a user runs it (`npm start` → `weda-wxpay start`): one JSON ready line on stdout with the
 * DESIGN.md contract fields, everything on 127.0.0.1, and a clean exit on SIGTERM. Runs the compiled CLI
 * (`npm test` builds first).
 */
import { spawn, ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { REPO_ROOT } from './helpers/paths';

function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcessWithoutNullStreams; ready: Promise<any>; stderr: () => string } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'weda-wxpay.js'), ...args], { env: { ...process.env, ...env }, cwd: REPO_ROOT });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ready = new Promise<any>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code} before ready: ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

/** Resolves to "exit <code>" plus whatever the CLI said on stderr when it did not exit 0, so failures explain themselves. */
const exited = (cli: { child: ChildProcessWithoutNullStreams; stderr: () => string }) =>
  new Promise<string>((resolve) => cli.child.once('exit', (code, signal) => resolve(code === 0 ? 'exit 0' : `exit ${code} ${signal ?? ''}: ${cli.stderr()}`)));

it('start prints the ready line, serves on loopback, and exits cleanly on SIGTERM', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-cli-'));
  const cli = startCli(['start', '--port', '0', '--data', dataDir, '--config', path.join(dataDir, 'absent.json')]);
  const { child, ready } = cli;
  try {
    const info = await ready;
    expect(info.event).toBe('ready');
    expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(info.merchant).toEqual(expect.objectContaining({ mchid: expect.any(String), appid: expect.any(String), serialNo: expect.any(String), apiV3Key: expect.stringMatching(/^.{32}$/) }));
    expect(fs.existsSync(info.merchant.privateKeyPath)).toBe(true);
    expect(info.platform.publicKeyId).toMatch(/^PUB_KEY_ID_0{13}\d{21}$/);
    expect(fs.existsSync(info.platform.publicKeyPath) && fs.existsSync(info.platform.certPath)).toBe(true);
    expect(info.devServer.envType).toBe('pre');
    const goods = await fetch(`${info.devServer.models}/goods/wedaGetRecordsV2`, { method: 'POST', body: '{}' }).then((r) => r.json() as Promise<{ records: unknown[] }>);
    expect(goods.records.length).toBeGreaterThanOrEqual(3);
    const done = exited(cli);
    child.kill('SIGTERM');
    expect(await done).toBe('exit 0');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

it('honours WEDA_WXPAY_DATA and keeps key material across restarts', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weda-wxpay-cli-'));
  try {
    const serials: string[] = [];
    for (let i = 0; i < 2; i++) {
      const cli = startCli(['sandbox', '--port', '0'], { WEDA_WXPAY_DATA: dataDir });
      const info = await cli.ready;
      expect(info.merchant.privateKeyPath.startsWith(dataDir)).toBe(true);
      serials.push(info.platform.certSerial);
      const done = exited(cli);
      cli.child.kill('SIGTERM');
      expect(await done).toBe('exit 0');
    }
    expect(serials[1]).toBe(serials[0]);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

it('refuses a bad --port with a clear message', async () => {
  const { child, ready } = startCli(['start', '--port', 'eighty']);
  await expect(ready).rejects.toThrow(/--port must be an integer from 0 to 65535/);
  expect(child.exitCode).not.toBe(0);
});
