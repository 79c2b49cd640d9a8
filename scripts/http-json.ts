import { IncomingMessage, ServerResponse } from 'node:http';
import { jsonTextNestsDeeperThan, MAX_JSON_NESTING } from '../wxpay';

/** Largest body the dev server accepts; notifications and connector calls are a few KiB. */
const MAX_BODY_BYTES = 1 << 20;

/** A request the dev server cannot read (body or URL): answered with `statusCode` and the message, never a 500. */
function unreadable(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}

export async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw unreadable(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const text = raw.toString('utf8');
  refuseDeepJson(text);
  try {
    return JSON.parse(text);
  } catch {
    throw unreadable(400, 'request body is not valid JSON');
  }
}

/**
 * Refuses JSON text that nests arrays/objects deeper than any request here needs (MAX_JSON_NESTING), before
 * anything parses or walks it: what handles the parsed value (structuredClone, JSON.stringify, validation) is
 * recursive and would run out of stack. A linear count of brackets outside strings, not a parser: text that is
 * not JSON passes here and is refused (or not) by whoever parses it.
 */
export function refuseDeepJson(text: string | Buffer): void {
  if (jsonTextNestsDeeperThan(typeof text === 'string' ? text : text.toString('utf8'))) {
    throw unreadable(400, `request body nests JSON objects or arrays deeper than ${MAX_JSON_NESTING} levels`);
  }
}

/**
 * The request's URL against `base`. A request target no URL parser accepts (`//`, `//[`) is the client's mistake:
 * 400 before any handler parses it (a handler's `new URL` throwing in the 'request' listener would end the process).
 */
export function requestUrl(req: IncomingMessage, base: string): URL {
  try {
    return new URL(req.url ?? '/', base);
  } catch {
    throw unreadable(400, `request target ${JSON.stringify(req.url)} is not a valid URL path`);
  }
}

/**
 * The path's segments, percent-decoded. A malformed escape (`%E0%A4%A`) is the client's mistake: 400 naming the
 * segment, not decodeURIComponent's URIError as a 500.
 */
export function pathSegments(pathname: string): string[] {
  return pathname.split('/').filter(Boolean).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw unreadable(400, `path segment "${segment}" is not valid percent-encoding`);
    }
  });
}

export function sendJson(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
