/**
 * The workbench, the dev server's front page (`GET /`): the app preview at phone width beside the sandbox console
 * — the phone, and WeChat Pay — stacked on narrow screens. The console lives on the sandbox's own port, so both are
 * iframes. A client that asks for JSON (`Accept: application/json`) is left to the dev server's JSON index.
 *
 *   GET /                                  the page (HTML)
 *   GET /workbench/config.json             {appUrl, consoleUrl}
 *   GET /workbench/assets/workbench.js|.css
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createUiBundle } from '../ui/bundle';

export interface WorkbenchOptions {
  /** The app preview (the dev server's `/app`). */
  appUrl: string;
  /** The sandbox console (the ready line's `console`). */
  consoleUrl: string;
}

/** What the browser page reads from /workbench/config.json. */
export type WorkbenchPageConfig = WorkbenchOptions;

/** Answers the workbench's requests; returns false (and leaves `res` alone) for anything else. */
export type WorkbenchHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const bundle = createUiBundle({ dir: 'workbench/page', entry: 'main.ts', css: 'workbench.css', html: 'index.html' });

export function createWorkbenchHandler(opts: WorkbenchOptions): WorkbenchHandler {
  const config = JSON.stringify({ appUrl: opts.appUrl, consoleUrl: opts.consoleUrl } satisfies WorkbenchPageConfig);
  const files: Record<string, [string, (a: { js: string; css: string; html: string }) => string]> = {
    '/': ['text/html; charset=utf-8', (a) => a.html],
    '/workbench/assets/workbench.js': ['text/javascript; charset=utf-8', (a) => a.js],
    '/workbench/assets/workbench.css': ['text/css; charset=utf-8', (a) => a.css],
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const p = new URL(req.url ?? '/', 'http://workbench.local').pathname;
    if (p === '/workbench/config.json') {
      send(res, 200, 'application/json; charset=utf-8', config);
      return true;
    }
    const file = files[p];
    if (!file || (p === '/' && wantsJson(req))) return false;
    bundle.assets().then(
      (assets) => send(res, 200, file[0], file[1](assets)),
      (err: Error) => send(res, 500, 'application/json; charset=utf-8', JSON.stringify({ code: 'WORKBENCH_ERROR', message: err.message })),
    );
    return true;
  };
}

/** An API client: asks for JSON and not for HTML (a browser's Accept names text/html). */
function wantsJson(req: IncomingMessage): boolean {
  const accept = String(req.headers.accept ?? '');
  return accept.includes('application/json') && !accept.includes('text/html');
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}
