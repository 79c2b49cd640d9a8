/**
 * Serves the local app preview under `/app`: a page that renders a CALS app JSON in the browser and runs its
 * listeners against the dev server (connector methods, data models) and the sandbox (the pay sheet behind
 * `wx.requestPayment`). The page is built from app-template/preview/ (real .ts/.css/.html, bundled by
 * esbuild through ui/bundle.ts on first request and rebuilt when those files change).
 *
 *   GET  /app, /app/                  the preview page (HTML)
 *   GET  /app/app.json                the CALS app being previewed, as given
 *   GET  /app/config.json             {devServerUrl, sandboxUrl, openid} for the page (same-origin proxy bases)
 *   GET  /app/assets/preview.js|.css  the bundled browser code
 *   POST /app/api/dev/connector/{method}, /app/api/dev/models/{name}/{methodName}?envType=
 *                                     → the same path on devServerUrl
 *   GET|POST /app/api/sandbox/sandbox/transactions…
 *                                     → the same path on sandboxUrl
 *
 * The page only talks to its own origin; the proxy forwards to the dev server and the sandbox, which live on
 * other ports and send no CORS headers. Only the paths above are forwarded.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createUiBundle, UiAssets } from '../ui/bundle';

export const PREVIEW_BASE_PATH = '/app';

/** `$w.auth.currentUser.openId` in the preview: one fixed sandbox payer. */
export const PREVIEW_OPENID = 'oSandboxPreviewPayer000000001';

export interface PreviewOptions {
  /** A CALS app JSON object (app-template/app.json or any other). */
  app: unknown;
  /** Where `POST /connector/{method}` and `POST /models/{name}/{methodName}` are answered. */
  devServerUrl: string;
  /** The sandbox base URL (`GET /sandbox/transactions?prepay_id=`, `POST /sandbox/transactions/{no}/pay|cancel`). */
  sandboxUrl: string;
  /** `$w.auth.currentUser.openId` (default PREVIEW_OPENID). */
  openid?: string;
}

/** Answers requests under /app; returns false (and leaves `res` alone) for anything else. */
export type PreviewHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What the browser page reads from /app/config.json. */
export interface PreviewPageConfig {
  devServerUrl: string;
  sandboxUrl: string;
  openid: string;
}

const DEV_PROXY = `${PREVIEW_BASE_PATH}/api/dev`;
const SANDBOX_PROXY = `${PREVIEW_BASE_PATH}/api/sandbox`;
/** The only upstream paths the proxy forwards. */
const DEV_PATHS = /^\/(connector\/[^/]+|models\/[^/]+\/[^/]+)$/;
const SANDBOX_PATHS = /^\/sandbox\/transactions(\/[^/]+\/(pay|cancel))?$/;
const MAX_BODY = 1 << 20;

export function createPreviewHandler(opts: PreviewOptions): PreviewHandler {
  const appJson = JSON.stringify(opts.app);
  const config: PreviewPageConfig = { devServerUrl: DEV_PROXY, sandboxUrl: SANDBOX_PROXY, openid: opts.openid ?? PREVIEW_OPENID };
  const devServerUrl = opts.devServerUrl.replace(/\/+$/, '');
  const sandboxUrl = opts.sandboxUrl.replace(/\/+$/, '');

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://preview.local');
    const p = url.pathname;
    if (p !== PREVIEW_BASE_PATH && !p.startsWith(`${PREVIEW_BASE_PATH}/`)) return false;
    const method = req.method ?? 'GET';
    const answer = async (): Promise<void> => {
      if (p.startsWith(`${DEV_PROXY}/`) || p.startsWith(`${SANDBOX_PROXY}/`)) {
        const [base, allowed, upstream] = p.startsWith(`${DEV_PROXY}/`) ? [DEV_PROXY, DEV_PATHS, devServerUrl] : [SANDBOX_PROXY, SANDBOX_PATHS, sandboxUrl];
        const rest = p.slice(base.length);
        if (!allowed.test(rest)) return send(res, 404, 'application/json', JSON.stringify({ code: 'NOT_FOUND', message: `the preview does not forward ${rest}` }));
        return forward(req, res, `${upstream}${rest}${url.search}`);
      }
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'application/json', JSON.stringify({ code: 'METHOD_NOT_ALLOWED', message: `${method} ${p}` }));
      if (p === PREVIEW_BASE_PATH || p === `${PREVIEW_BASE_PATH}/` || p === `${PREVIEW_BASE_PATH}/index.html`) return send(res, 200, 'text/html; charset=utf-8', (await buildPreviewAssets()).html);
      if (p === `${PREVIEW_BASE_PATH}/app.json`) return send(res, 200, 'application/json; charset=utf-8', appJson);
      if (p === `${PREVIEW_BASE_PATH}/config.json`) return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(config));
      if (p === `${PREVIEW_BASE_PATH}/assets/preview.js`) return send(res, 200, 'text/javascript; charset=utf-8', (await buildPreviewAssets()).js);
      if (p === `${PREVIEW_BASE_PATH}/assets/preview.css`) return send(res, 200, 'text/css; charset=utf-8', (await buildPreviewAssets()).css);
      return send(res, 404, 'application/json', JSON.stringify({ code: 'NOT_FOUND', message: `no preview resource ${p}` }));
    };
    answer().catch((err: Error) => {
      if (res.headersSent) res.destroy();
      else send(res, 500, 'application/json', JSON.stringify({ code: 'PREVIEW_ERROR', message: err.message }));
    });
    return true;
  };
}

export type PreviewAssets = UiAssets;

/** The browser page: preview/main.ts (and what it imports, the shared CALS module included), preview.css, index.html. */
const previewBundle = createUiBundle({ dir: 'app-template/preview', entry: 'main.ts', css: 'preview.css', html: 'index.html' });

/** The preview page, bundled on first request and reused until a source file changes (ui/bundle.ts). */
export function buildPreviewAssets(): Promise<PreviewAssets> {
  return previewBundle.assets();
}

/** app-template/ in the checkout, whether this module runs from sources or from .build/app-template/. */
function templateDir(): string {
  for (const dir of [__dirname, path.join(__dirname, '..', '..', 'app-template')]) {
    if (fs.existsSync(path.join(dir, 'preview', 'main.ts'))) return dir;
  }
  throw new Error(`app-template/preview/main.ts not found from ${__dirname}`);
}

/** Path of the shipped template app (app-template/app.json). */
export function templateAppPath(): string {
  return path.join(templateDir(), 'app.json');
}

/** The shipped template app, parsed. */
export function loadTemplateApp(): unknown {
  return JSON.parse(fs.readFileSync(templateAppPath(), 'utf8'));
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function forward(req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: req.method ?? 'GET',
      headers: { 'Content-Type': String(req.headers['content-type'] ?? 'application/json'), Accept: 'application/json' },
      ...(body !== undefined ? { body } : {}),
    });
  } catch (err) {
    return send(res, 502, 'application/json', JSON.stringify({ code: 'PREVIEW_UPSTREAM_UNREACHABLE', message: `${target}: ${(err as Error).message}` }));
  }
  const text = await upstream.text();
  send(res, upstream.status, upstream.headers.get('content-type') ?? 'application/json', text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Error('request body over 1 MiB')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
