import { IncomingMessage, ServerResponse } from 'node:http';
import { SandboxError } from '../domain/errors';
import { decodeUtf8, isLoopback, readBody } from './body';
import { ControlContext } from './control-routes';
import { RouteResponse, Router, splitUrl } from './router';

/** Serves one `/sandbox/*` request — the CloudPay ones included: loopback only, unsigned, JSON (DESIGN.md "Sandbox (contract)"). */
export async function handleControl(req: IncomingMessage, res: ServerResponse, router: Router<ControlContext>, ctx: ControlContext, log: (line: string) => void): Promise<void> {
  let result: RouteResponse;
  try {
    if (!isLoopback(req.socket.remoteAddress)) throw new SandboxError(403, 'NO_AUTH', 'the sandbox control API answers loopback clients only');
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const body = decodeUtf8(await readBody(req));
    const { path, query } = splitUrl(url);
    const route = router.match(method, path);
    if (!route) throw new SandboxError(404, 'NOT_FOUND', `no such control endpoint: ${method} ${path}`);
    ctx.housekeeper.maybeRun(); // what the sandbox clock made due is visible before we answer
    result = await route.handler({ method, url, path, query, params: route.params, body }, ctx);
  } catch (err) {
    if (!(err instanceof SandboxError)) log(`control: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    const e = err instanceof SandboxError ? err : new SandboxError(500, 'SYSTEM_ERROR', err instanceof Error ? err.message : String(err));
    result = { status: e.status, body: e.body() };
  }
  const text = result.body === undefined ? '' : typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
  res.writeHead(result.status, {
    'Content-Type': 'application/json; charset=utf-8',
    ...result.headers,
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
