/**
 * The floor of bench/function-cold-start.ts: the least a Node function can do for reconcile's first call with the
 * function role — node:https and node:crypto only, no bundle, no checks — so that what any function pays
 * (Node's TLS, OpenSSL's root store, the connection, the four round trips) is measured apart from what ours adds.
 * It sends what the deployed function sends on a new instance: the token exchange at the env's gateway, signed
 * TC3-HMAC-SHA256 with the role's credentials (weda.md §4.1), then three model lists with the token, on one
 * keep-alive connection. Run by the bench as `node -r <route-gateway> <this file>`, in the function's environment.
 */
import { createHash, createHmac } from 'node:crypto';
import https from 'node:https';

const host = `${process.env.WEDA_WXPAY_ENV_ID}.api.tcloudbasegateway.com`;
const envType = 'pre';

function post(path: string, body: string, authorization: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization };
    const req = https.request({ host, path, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${path} answered ${res.statusCode} ${text}`));
        try {
          resolve(JSON.parse(text) as Record<string, unknown>);
        } catch {
          reject(new Error(`${path} answered 200 with a body that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** `Authorization` for the token request: TC3-HMAC-SHA256 over content-type and host, service `tcb`. */
function tc3(path: string, body: string): string {
  const timestamp = Math.floor(Date.now() / 1000);
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const scope = `${date}/tcb/tc3_request`;
  const canonical = ['POST', path, '', `content-type:application/json\nhost:${host}\n`, 'content-type;host', sha256(body)].join('\n');
  const key = hmac(hmac(hmac(`TC3${process.env.TENCENTCLOUD_SECRETKEY}`, date), 'tcb'), 'tc3_request');
  const signature = createHmac('sha256', key).update(['TC3-HMAC-SHA256', timestamp, scope, sha256(canonical)].join('\n')).digest('hex');
  return `TC3-HMAC-SHA256 Credential=${process.env.TENCENTCLOUD_SECRETID}/${scope}, SignedHeaders=content-type;host, Signature=${signature}, Timestamp=${timestamp}, Token=${process.env.TENCENTCLOUD_SESSIONTOKEN}`;
}

async function firstCall(): Promise<void> {
  const tokenPath = '/auth/v1/token/clientCredential';
  const tokenBody = JSON.stringify({ grant_type: 'client_credentials' });
  const { access_token: token } = await post(tokenPath, tokenBody, tc3(tokenPath, tokenBody));
  if (typeof token !== 'string') throw new Error('no access_token in the token answer');
  for (const model of ['orders', 'orders', 'refunds']) {
    await post(`/v1/model/${envType}/${model}/list`, JSON.stringify({ filter: { where: {} }, pageSize: 50, envType }), `Bearer ${token}`);
  }
}

firstCall().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(3);
});
