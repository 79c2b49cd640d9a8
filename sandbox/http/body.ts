import { IncomingMessage } from 'node:http';
import { jsonTextNestsDeeperThan, MAX_JSON_NESTING } from '../../wxpay';
import { SandboxError } from '../domain/errors';

/** Largest request body accepted; v3 bodies are a few KB. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Reads the raw body bytes, exactly as sent (signatures cover them byte for byte, wxpay-v3.md §2). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c); // past the limit: keep draining so a 413 can still be answered
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new SandboxError(413, 'PARAM_ERROR', `request body exceeds ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decode: v3 is UTF-8 only (wxpay-v3.md §0). */
export function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new SandboxError(400, 'PARAM_ERROR', '请求体不是合法的UTF-8编码', { location: 'body', issue: 'body is not valid UTF-8' });
  }
}

/** Deepest nesting of JSON objects/arrays a request body may have; WeChat Pay's bodies nest a few levels. */

/** Parses a JSON body; an empty, malformed or too deeply nested body is a PARAM_ERROR. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new SandboxError(400, 'PARAM_ERROR', '请求体为空', { location: 'body', issue: 'a JSON body is required' });
  if (jsonTextNestsDeeperThan(text)) {
    throw new SandboxError(400, 'PARAM_ERROR', `请求体JSON嵌套过深（超过${MAX_JSON_NESTING}层）`, { location: 'body', issue: `JSON objects/arrays nest deeper than ${MAX_JSON_NESTING} levels` });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SandboxError(400, 'PARAM_ERROR', '请求体不是合法的JSON', { location: 'body', issue: `invalid JSON: ${(err as Error).message}` });
  }
}

/** The control API and console are for this machine only. */
export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || (address?.startsWith('127.') ?? false);
}
