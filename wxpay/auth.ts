import { KeyInput } from './keys';
import { createNonce, MessageParts, rsaSign, unixSeconds } from './rsa';
import { signError } from './errors';

/** The only scheme v3 accepts in `Authorization` (wxpay-v3.md §2, §8 item 1). */
export const AUTH_SCHEME = 'WECHATPAY2-SHA256-RSA2048';

/**
 * Request signature message: five lines, each ending in "\n", the last being the raw body (empty for GET),
 * so a GET message ends in "\n\n" (wxpay-v3.md §2; wechatpay-go SignatureMessageFormat).
 * `url` is the path plus "?query", exactly as sent (no host, no re-encoding).
 */
export function requestSignatureMessage(method: string, url: string, timestamp: number | string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;
}

/**
 * Response / notification signature message `TS\nNONCE\nBODY\n` over the raw body bytes (wxpay-v3.md §3), in
 * its three pieces: rsaSign / rsaVerify hash them in order, so a Buffer body is used as it is — never decoded,
 * re-encoded or copied into one message.
 */
export function responseSignatureParts(timestamp: number | string, nonce: string, body: string | Buffer): MessageParts {
  return [`${timestamp}\n${nonce}\n`, body, '\n'];
}

/** The same message in one Buffer. */
export function responseSignatureMessage(timestamp: number | string, nonce: string, body: string | Buffer): Buffer {
  return Buffer.concat(responseSignatureParts(timestamp, nonce, body).map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));
}

export interface RequestSigner {
  mchid: string;
  /** Merchant API certificate serial (hex). */
  serialNo: string;
  privateKey: KeyInput;
}

export interface SignRequestOptions {
  method: string;
  url: string;
  body?: string;
  timestamp?: number;
  nonce?: string;
}

/** Builds the v3 `Authorization` header value for one request. */
export function buildAuthorization(signer: RequestSigner, opts: SignRequestOptions): string {
  const timestamp = opts.timestamp ?? unixSeconds();
  const nonce = opts.nonce ?? createNonce();
  const signature = rsaSign(requestSignatureMessage(opts.method, opts.url, timestamp, nonce, opts.body ?? ''), signer.privateKey);
  return formatAuthorization(AUTH_SCHEME, { mchid: signer.mchid, nonce_str: nonce, timestamp: String(timestamp), serial_no: signer.serialNo, signature });
}

export interface AuthorizationParams {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

/** Same parameter order as wechatpay-go (mchid, nonce_str, timestamp, serial_no, signature); order is free on the wire. */
export function formatAuthorization(scheme: string, p: AuthorizationParams): string {
  return `${scheme} mchid="${p.mchid}",nonce_str="${p.nonce_str}",timestamp="${p.timestamp}",serial_no="${p.serial_no}",signature="${p.signature}"`;
}

/** Parses an `Authorization` header by key (SDKs emit the parameters in different orders, wxpay-v3.md §2). */
export function parseAuthorization(header: string | undefined): { scheme: string } & AuthorizationParams {
  if (!header) throw signError('Authorization header is missing', 'Authorization');
  const space = header.indexOf(' ');
  if (space < 0) throw signError('Authorization header has no parameters', 'Authorization');
  const scheme = header.slice(0, space);
  const params: Record<string, string> = {};
  const re = /\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/gy;
  const rest = header.slice(space + 1);
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(rest)) !== null) {
    params[m[1]!] = m[2]!;
    consumed = re.lastIndex;
    if (consumed >= rest.length) break;
  }
  if (consumed < rest.trimEnd().length) throw signError('Authorization header is malformed', 'Authorization');
  for (const key of ['mchid', 'nonce_str', 'timestamp', 'serial_no', 'signature'] as const) {
    if (!params[key]) throw signError(`Authorization lacks ${key}`, 'Authorization');
  }
  return { scheme, mchid: params.mchid!, nonce_str: params.nonce_str!, timestamp: params.timestamp!, serial_no: params.serial_no!, signature: params.signature! };
}

/** A type alias (not an interface) so it is usable wherever a plain header record is expected. */
export type ResponseSignature = {
  'Wechatpay-Timestamp': string;
  'Wechatpay-Nonce': string;
  'Wechatpay-Signature': string;
  'Wechatpay-Serial': string;
  'Wechatpay-Signature-Type': string;
};

/** Signs a response or notification body (204's empty body included) with a WeChat Pay key. */
export function signResponse(opts: { privateKey: KeyInput; serial: string; body: string | Buffer; timestamp?: number; nonce?: string }): ResponseSignature {
  const timestamp = opts.timestamp ?? unixSeconds();
  const nonce = opts.nonce ?? createNonce();
  return {
    'Wechatpay-Timestamp': String(timestamp),
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': rsaSign(responseSignatureParts(timestamp, nonce, opts.body), opts.privateKey),
    'Wechatpay-Serial': opts.serial,
    'Wechatpay-Signature-Type': AUTH_SCHEME,
  };
}
