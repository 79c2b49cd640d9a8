import type { Readable } from 'node:stream';
import { SandboxError } from '../domain/errors';

/** What a route handler sees: path parameters already URL-decoded. */
export interface RouteRequest {
  method: string;
  /** Path plus "?query", exactly as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  /** Raw body text (already checked to be UTF-8). */
  body: string;
  /** Request headers (lower-case names), when the pipeline passes them. */
  headers?: Record<string, string | string[] | undefined>;
}

/** `body` undefined = empty body (204). Objects are sent as JSON, strings as they are. */
export interface RouteResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Bytes sent as they are, without the v3 response signature (bill download, wxpay-v3.md §1.7); a stream for a
   * bill of any size (with `Content-Length` when `headers` give it, else chunked).
   */
  unsignedRaw?: Buffer | Readable;
  /** The key a v3 response is signed with when the request's Wechatpay-Serial names none of ours. */
  defaultSerial?: 'certificate' | 'publicKey';
}

export type RouteHandler<C> = (req: RouteRequest, ctx: C) => RouteResponse | Promise<RouteResponse>;

interface Route<C> {
  method: string;
  segments: string[];
  handler: RouteHandler<C>;
}

/** A tiny method + path-template router ("/v3/pay/transactions/out-trade-no/:out_trade_no"). */
export class Router<C> {
  private readonly routes: Route<C>[] = [];

  add(method: string, template: string, handler: RouteHandler<C>): this {
    this.routes.push({ method, segments: template.split('/'), handler });
    return this;
  }

  /** Returns the handler and decoded params, or undefined when no route matches. */
  match(method: string, path: string): { handler: RouteHandler<C>; params: Record<string, string> } | undefined {
    const parts = path.split('/');
    for (const r of this.routes) {
      if (r.method !== method || r.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = r.segments[i]!;
        if (seg.startsWith(':')) {
          if (parts[i] === '') ok = false;
          else params[seg.slice(1)] = decodePathSegment(parts[i]!, seg.slice(1));
        } else ok = seg === parts[i];
      }
      if (ok) return { handler: r.handler, params };
    }
    return undefined;
  }
}

/** decodeURIComponent for one path segment: malformed percent-encoding is the client's 400, naming the parameter. */
export function decodePathSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SandboxError(400, 'PARAM_ERROR', `path parameter ${name} is not valid percent-encoding`, { field: name, location: 'path', issue: 'invalid percent-encoding' });
  }
}

/** Splits "path?query" without normalising either part. */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: new URLSearchParams() } : { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}
