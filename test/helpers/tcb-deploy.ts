import type { WedaWxpayConfig } from '../../schemas/types.generated';
/**
 * What `tcb fn deploy` does with cloudbaserc.json and the .env beside it, offline (weda-import.md §5, §6 item
 * 10): the .env is read with dotenv's rules, every `{{env.NAME}}` in cloudbaserc.json's TEXT is replaced by
 * the value as it is, and only then is the text parsed as JSON. The functions' envVariables are what comes out.
 */

/**
 * dotenv's reading of a .env file: `NAME=value` lines (an optional `export `), `#` comments; a value in
 * single, double or back quotes is taken whole (it may span lines), and only a double-quoted one has its
 * `\n` / `\r` turned into line breaks; an unquoted value ends at `#` or the end of its line and is trimmed.
 */
export function parseDotenv(text: string): Record<string, string> {
  const src = text.replace(/\r\n?/g, '\n');
  const out: Record<string, string> = {};
  let at = 0;
  while (at < src.length) {
    const eol = src.indexOf('\n', at) < 0 ? src.length : src.indexOf('\n', at);
    const line = src.slice(at, eol);
    const assignment = /^\s*(?:export\s+)?([\w.-]+)\s*=[ \t]*/.exec(line);
    if (!assignment) {
      at = eol + 1;
      continue;
    }
    const name = assignment[1]!;
    const start = at + assignment[0].length;
    const quote = src[start];
    const close = quote === '"' || quote === "'" || quote === '`' ? src.indexOf(quote, start + 1) : -1;
    if (close > 0) {
      const inner = src.slice(start + 1, close);
      out[name] = quote === '"' ? inner.replace(/\\n/g, '\n').replace(/\\r/g, '\r') : inner;
      const after = src.indexOf('\n', close);
      at = after < 0 ? src.length : after + 1;
      continue;
    }
    // Unquoted (or an opening quote never closed, which dotenv keeps as a character of the value).
    const rest = src.slice(start, eol);
    const hash = rest.indexOf('#');
    out[name] = (hash < 0 ? rest : rest.slice(0, hash)).trim();
    at = eol + 1;
  }
  return out;
}

export interface DeployedRc {
  envId: string;
  /** Function name → the envVariables CloudBase would give it. */
  envVariables: Record<string, Record<string, string>>;
}

/**
 * cloudbaserc.json's text with each `{{env.NAME}}` replaced by the .env value, then JSON.parse: throws the
 * SyntaxError the CLI would meet. A name the .env does not give is an error here (the deploy would send "").
 */
export function simulateTcbDeploy(cloudbasercText: string, dotenvText: string): DeployedRc {
  const env = parseDotenv(dotenvText);
  const text = cloudbasercText.replace(/\{\{env\.([A-Za-z_][A-Za-z0-9_]*)\}\}/g, (_m, name: string) => {
    if (!(name in env)) throw new Error(`.env does not give ${name}`);
    return env[name]!;
  });
  const rc = JSON.parse(text) as { envId: string; functions: Array<{ name: string; envVariables: Record<string, string> }> };
  return { envId: rc.envId, envVariables: Object.fromEntries(rc.functions.map((f) => [f.name, f.envVariables])) };
}

/** WeChat Pay public key id of the official vector V4 (34 digits, as merchants get them). */
export const PLATFORM_KEY_ID = 'PUB_KEY_ID_0000000000000024101100397200000006';

/** A v3 configuration as a merchant deploys it (HTTP access notify URLs on cloud1-abc), with overrides. */
export const deployV3Config = (v3: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): WedaWxpayConfig => ({
  provider: 'v3',
  appid: 'wx1234567890abcdef',
  mchid: '1900000109',
  envType: 'prod',
  v3: {
    merchantSerialNo: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
    privateKeyPath: 'certs/apiclient_key.pem',
    apiV3KeyEnv: 'WXPAY_APIV3_KEY',
    platformKeys: [{ id: PLATFORM_KEY_ID, path: 'certs/pub_key.pem' }],
    notifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay/pay-notify',
    refundNotifyUrl: 'https://cloud1-abc.service.tcloudbase.com/wxpay/refund-notify',
    ...v3,
  },
  ...extra,
} as WedaWxpayConfig);
