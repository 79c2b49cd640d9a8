import fs from 'node:fs';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * The dev server's port outlives a restart: every notify URL the sandbox holds (orders' `notify_url`, queued
 * notifications) carries it, and placing the same order again must send the same `notify_url` (wxpay-v3.md §1.1:
 * a re-entry with other parameters is refused). The first start takes a free port and records it here, in the
 * data directory; later starts listen on it again.
 */
export const DEV_PORT_FILE = 'dev-server.json';

/**
 * Listens on the dev server's port on 127.0.0.1: `requested` when given (0 = any free port), else the one
 * remembered in `dataDir`, else any free port; records the port it got. A port in use is an error that names the
 * port and the flag, rather than a silent move that would strand every notification queued for the old port.
 */
export async function listenOnDevPort(server: http.Server, dataDir: string, requested: number | undefined): Promise<number> {
  const file = path.join(dataDir, DEV_PORT_FILE);
  const remembered = requested === undefined ? readRememberedPort(file) : undefined;
  const port = requested ?? remembered ?? 0;
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new Error(remembered !== undefined
      ? `the dev server's port ${port} (remembered in ${file}; the notify URLs of orders already placed carry it) is in use: stop what holds it, or pass --dev-port <n> to move (0 = any free port; notifications still queued for port ${port} are then not delivered)`
      : `the dev server's port ${port} (--dev-port) is in use: pass another --dev-port <n> (0 = any free port)`);
  }
  const actual = (server.address() as AddressInfo).port;
  if (actual !== remembered) writeRememberedPort(file, actual);
  return actual;
}

function readRememberedPort(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let port: unknown;
  try {
    port = (JSON.parse(text) as { port?: unknown }).port;
  } catch {
    port = undefined;
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${file} must be {"port": N} with N from 1 to 65535; pass --dev-port <n> to replace it (0 = any free port)`);
  }
  return port;
}

/** Written whole and renamed into place, so a crash never leaves half a file. */
function writeRememberedPort(file: string, port: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ port })}\n`);
  fs.renameSync(tmp, file);
}

/**
 * Holds requests that arrive before the routes are in place — the sandbox re-drives queued notifications to this
 * port as soon as it starts, which is before the dev server has wired its functions — and hands them over once
 * `serve` is called.
 */
export function holdRequestsUntilServed(server: http.Server): { serve(handler: (req: IncomingMessage, res: ServerResponse) => void): void } {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const held: [IncomingMessage, ServerResponse][] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (handler) handler(req, res);
    else held.push([req, res]);
  });
  return {
    serve(h) {
      handler = h;
      for (const [req, res] of held.splice(0)) h(req, res);
    },
  };
}
