/**
 * A loopback stand-in for the CloudBase models API (weda.md §4.1) that `@cloudbase/node-sdk` can be
 * pointed at with `serviceUrl: '127.0.0.1:PORT'`:
 *   POST|PUT /v1/model/{prod|pre}/{model}/{op}  body = the op's params (+ envType)
 *   → 200 { data, requestId }  |  4xx { code, message, requestId }
 * update/updateMany must be PUT, the other ops POST; `Authorization: Bearer <accessKey>` is required — or a token
 * from `POST /auth/v1/token/clientCredential`, which answers a TC3-signed request (the function role's way;
 * routeGatewayToEmulator brings the gateway's requests here) as CloudBase documents it:
 * `{ token_type: "Bearer", access_token, expires_in: 432000 }` (docs.cloudbase.net/http-api/auth/auth-client-credential).
 * A token past its lifetime (by Date.now(), so a test's fake clock moves it) or revoked by `revokeTokens` is
 * refused with 401 ACCESS_TOKEN_EXPIRED.
 * Answers come from a real SQLite model store (one database per envType), so the emulator is truthful:
 * a second compare-and-set really updates 0 rows. Every request is recorded for the tests to assert.
 *
 * HTTPS only (the SDK hard-codes https): a throwaway CA and a leaf for 127.0.0.1 are made with node-forge;
 * `trustCa` makes the SDK's agent (https.globalAgent when the store runs with keepalive:false) accept it —
 * TLS verification stays on.
 */
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import type { ModelDefinition } from '../../datasources/definitions';
import { openSqliteStore } from '../../datasources/sqlite-store';
import { WedaModelError, type ModelStore } from '../../datasources/weda';

export interface LoopbackTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function rsaKeys(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
    privatePem: privateKey,
  };
}

/** The CloudBase gateway's domains: `<env>.api.tcloudbasegateway.com`, `<env>.api.intl.tcloudbasegateway.com` outside China. */
const GATEWAY_DOMAINS = ['api.tcloudbasegateway.com', 'api.intl.tcloudbasegateway.com'];
const GATEWAY_HOST = /^[a-z0-9_-]+\.api\.(intl\.)?tcloudbasegateway\.com$/;

/**
 * Sends every connection https.globalAgent opens to a CloudBase gateway host to the emulator on 127.0.0.1:`port`
 * instead (no DNS lookup; the TLS name checked is still the gateway's, which the emulator's certificate carries):
 * what the function role's credentials need, since node-sdk asks the gateway of the env for a token whatever
 * serviceUrl says. Returns the undo.
 */
export function routeGatewayToEmulator(port: number): () => void {
  const agent = https.globalAgent as unknown as { createConnection: (options: { host?: string; port?: number }, cb?: unknown) => unknown };
  const original = agent.createConnection;
  agent.createConnection = function (this: unknown, options, cb) {
    const to = GATEWAY_HOST.test(options.host ?? '') ? { ...options, host: '127.0.0.1', port } : options;
    return original.call(this, to, cb);
  };
  return () => {
    agent.createConnection = original;
  };
}

/** A CA and a server certificate for 127.0.0.1 / localhost signed by it, valid for a day around now. */
export function makeLoopbackTls(): LoopbackTls {
  const now = Date.now();
  const validity = (cert: forge.pki.Certificate): void => {
    cert.validity.notBefore = new Date(now - 3_600_000);
    cert.validity.notAfter = new Date(now + 86_400_000);
  };
  const ca = rsaKeys();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = '01';
  validity(caCert);
  const caName = [{ name: 'commonName', value: 'weda-wxpay test CA' }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const leaf = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = leaf.publicKey;
  cert.serialNumber = '02';
  validity(cert);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // The gateway names too, for connections routeGatewayToEmulator sends here (TLS still checks the name).
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }, ...GATEWAY_DOMAINS.map((d) => ({ type: 2, value: `*.${d}` }))] },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());
  return { caPem: forge.pki.certificateToPem(caCert), certPem: forge.pki.certificateToPem(cert), keyPem: leaf.privatePem };
}

/**
 * Makes https.globalAgent trust `caPem` (the agent's options override each request's, so the SDK's
 * requests verify against it). Returns the undo.
 */
export function trustCa(caPem: string): () => void {
  const options = https.globalAgent.options as https.AgentOptions;
  const had = Object.prototype.hasOwnProperty.call(options, 'ca');
  const before = options.ca;
  options.ca = caPem;
  return () => {
    if (had) options.ca = before;
    else delete options.ca;
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The headers as sent, in order: [name, value, name, value, …] (Node's rawHeaders). */
  rawHeaders: string[];
  /** The parsed JSON body (or the raw text when it was not JSON). */
  body: unknown;
  /** The body's bytes as text. */
  text: string;
}

export interface CannedAnswer {
  status?: number;
  /** JSON-encoded as the answer; ignored when `raw` is given. */
  body?: unknown;
  raw?: string;
  /** Wait this long before answering (a timeout test). */
  delayMs?: number;
}

export interface CloudbaseEmulator {
  /** What to pass as the SDK's `serviceUrl`. */
  serviceUrl: string;
  port: number;
  caPem: string;
  accessKey: string;
  requests: RecordedRequest[];
  /** How many TLS connections clients have opened so far (each one a handshake). */
  readonly connections: number;
  /** The SQLite store behind the API. */
  backing: ModelStore;
  /** Answers the next request with `answer` instead of the backing store (queued, first in first out). */
  answerNext(answer: CannedAnswer): void;
  /** Every token given out so far is refused from now on (as if expired early). */
  revokeTokens(): void;
  close(): Promise<void>;
}

/** The SDK operation → the V2 method the backing store runs (wx-cloud-client-sdk CRUD_METHODS). */
export const OP_TO_V2: Record<string, string> = {
  create: 'wedaCreateV2', createMany: 'wedaBatchCreateV2', update: 'wedaUpdateV2', updateMany: 'wedaBatchUpdateV2',
  upsert: 'wedaUpsertV2', delete: 'wedaDeleteV2', deleteMany: 'wedaBatchDeleteV2', get: 'wedaGetItemV2', list: 'wedaGetRecordsV2',
};
const PUT_OPS = new Set(['update', 'updateMany']);
const TOKEN_PATH = '/auth/v1/token/clientCredential';
/** The lifetime CloudBase documents for a client-credential token, in seconds. */
export const TOKEN_LIFETIME_S = 432000;
const ROUTE = /^\/v1\/model\/(prod|pre)\/([A-Za-z_][A-Za-z0-9_]*)\/([A-Za-z]+)$/;

export async function startCloudbaseEmulator(opts: {
  dataDir: string;
  models?: Record<string, ModelDefinition>;
  accessKey?: string;
  tls?: LoopbackTls;
}): Promise<CloudbaseEmulator> {
  const tls = opts.tls ?? makeLoopbackTls();
  const accessKey = opts.accessKey ?? 'fake';
  const backing = openSqliteStore({ dataDir: opts.dataDir, ...(opts.models ? { models: opts.models } : {}) });
  const requests: RecordedRequest[] = [];
  const canned: CannedAnswer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  /** Tokens the token exchange gave out, with when each expires (ms): accepted like the access key until then. */
  const tokens = new Map<string, number>();
  let seq = 0;

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // recorded as text
      }
      const url = req.url ?? '';
      requests.push({ method: req.method ?? '', path: url, authorization: req.headers.authorization, rawHeaders: req.rawHeaders, body, text });
      const requestId = `emu-${++seq}`;
      const send = (status: number, payload: unknown, raw?: string): void => {
        if (res.destroyed) return;
        const out = raw ?? JSON.stringify(payload);
        res.writeHead(status, { 'content-type': raw === undefined ? 'application/json' : 'text/html', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      };
      const fail = (status: number, code: string, message: string): void => send(status, { code, message, requestId });

      const answer = canned.shift();
      if (answer) {
        const go = (): void => send(answer.status ?? 200, answer.body, answer.raw);
        if (answer.delayMs) {
          const t = setTimeout(() => {
            timers.delete(t);
            go();
          }, answer.delayMs);
          timers.add(t);
        } else go();
        return;
      }
      // The function role's token exchange (node-sdk auth getClientCredential): a TC3-signed request gets a token.
      if (url === TOKEN_PATH) {
        if (req.method !== 'POST') return fail(405, 'MethodNotAllowed', `${TOKEN_PATH} takes POST, got ${req.method}`);
        if (!/^TC3-HMAC-SHA256 Credential=[^/]+\/\d{4}-\d{2}-\d{2}\/tcb\/tc3_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}, Timestamp=\d+/.test(req.headers.authorization ?? '')) {
          return fail(401, 'SIGN_PARAM_INVALID', 'the token request must be signed with TC3-HMAC-SHA256');
        }
        const token = `token-${seq}`;
        tokens.set(token, Date.now() + TOKEN_LIFETIME_S * 1000);
        return send(200, { token_type: 'Bearer', access_token: token, expires_in: TOKEN_LIFETIME_S });
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const expiresAt = bearer === undefined ? undefined : tokens.get(bearer);
      if (expiresAt !== undefined && Date.now() >= expiresAt) return fail(401, 'ACCESS_TOKEN_EXPIRED', 'access token expired');
      if (bearer !== accessKey && expiresAt === undefined) return fail(401, 'INVALID_ACCESS_TOKEN', 'missing or wrong access token');
      const m = ROUTE.exec(url);
      const op = m?.[3];
      if (!m || !op || !Object.prototype.hasOwnProperty.call(OP_TO_V2, op)) return fail(404, 'NotFound', `no route ${req.method} ${url}`);
      const want = PUT_OPS.has(op) ? 'PUT' : 'POST';
      if (req.method !== want) return fail(405, 'MethodNotAllowed', `${op} takes ${want}, got ${req.method}`);
      if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) return fail(400, 'InvalidParameter', 'body must be a JSON object');
      const { envType: bodyEnv, ...params } = (body ?? {}) as Record<string, unknown>;
      const envType = m[1] as 'pre' | 'prod';
      if (bodyEnv !== undefined && bodyEnv !== envType) return fail(400, 'InvalidParameter', `envType ${String(bodyEnv)} in the body, ${envType} in the path`);
      backing.callModel({ name: m[2]!, methodName: OP_TO_V2[op]!, params, envType }).then(
        (data) => {
          // get answers { record }, which the SDK unwraps (wx-cloud-client-sdk: `data.record ?? data`).
          if (op === 'get') send(200, { data: { record: Object.keys(data as object).length ? data : null }, requestId });
          else send(200, { data, requestId });
        },
        (e: unknown) => {
          if (e instanceof WedaModelError) fail(400, e.code, e.message);
          else fail(500, 'InternalError', String(e));
        },
      );
    });
  });
  let connections = 0;
  server.on('secureConnection', () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    serviceUrl: `127.0.0.1:${port}`,
    port,
    caPem: tls.caPem,
    accessKey,
    requests,
    get connections() {
      return connections;
    },
    backing,
    answerNext: (a) => void canned.push(a),
    revokeTokens: () => {
      for (const token of tokens.keys()) tokens.set(token, 0);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backing.close();
    },
  };
}
