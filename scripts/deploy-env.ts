/**
 * The `.env` next to cloudbaserc.json, which `tcb fn deploy` reads to fill each `{{env.NAME}}` in.
 *
 * The CLI pastes each value into cloudbaserc.json's TEXT and only then parses it as JSON (weda-import.md §5,
 * §6 item 10). So a value must be one line and read as JSON string content: a PEM key's line breaks are
 * written as the two characters `\n` (JSON turns them back into line breaks; `wxpay/keys.ts` also repairs a
 * key that arrives with literal `\n`). Real line breaks, or a double-quoted `"…\n…"` (dotenv expands it),
 * break the deploy with a SyntaxError; so does a `"` or a backslash. Values go unquoted: dotenv keeps them
 * as written up to a `#`.
 *
 *   weda-wxpay env     writes dist/.env from the key files, values and environment variables the
 *                      configuration names (`writeDeployEnv`)
 *   .env.example       the same names, empty, with the form explained (`renderEnvExample`; written by build)
 */
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAME, configSettings } from '../config';
import { deployConfig, readDeploySecrets } from '../callbacks/generate';
import type { WedaWxpayConfig } from '../schemas/types.generated';
import { defaultDomainEnvId } from './http-access';
import { projectRoot } from './project-root';

export const DEPLOY_ENV_FILE = '.env';
/** The variable cloudbaserc.json's `envId: "{{env.ENV_ID}}"` reads. */
export const ENV_ID_VARIABLE = 'ENV_ID';

/**
 * One .env line, `NAME=value`, in the one form that survives `tcb fn deploy`: line breaks (a PEM key's)
 * written as `\n`, unquoted. Anything that would still break the JSON text, or that dotenv would cut or
 * change, is refused with the reason; `source` says where the value came from.
 */
export function envLine(name: string, value: string, source: string): string {
  const encoded = value.replace(/\s+$/, '').replace(/\r?\n/g, '\\n');
  const refuse = (what: string) => {
    throw new Error(`${name} (from ${source}) ${what}: \`tcb fn deploy\` pastes .env values into cloudbaserc.json's JSON text, so it would break the deploy or change the value; fix the value`);
  };
  if (encoded === '') refuse('is empty');
  if (encoded.includes('"')) refuse('contains a double quote (")');
  if (/\\(?!n)/.test(encoded)) refuse('contains a backslash other than the \\n line breaks');
  const control = /[\u0000-\u001f\u007f]/.exec(encoded);
  if (control) refuse(`contains the control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  if (encoded.includes('#')) refuse('contains # (dotenv ends an unquoted value there)');
  if (/^\s|^['`]/.test(encoded)) refuse('starts with a space or a quote (dotenv would strip or unquote it)');
  return `${name}=${encoded}`;
}

export interface DeployEnvOptions {
  /** Default <root>/weda-wxpay.config.json. */
  configPath?: string;
  /** Default <root>/dist/.env (next to the cloudbaserc.json that `weda-wxpay build` writes). */
  outFile?: string;
  /** The CloudBase environment id (ENV_ID). Default: cloudpay.envId, else the notify URL's default domain. */
  envId?: string;
  /** Where `*Env` names are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  root?: string;
}

export interface DeployEnvResult {
  file: string;
  /** The variables written, ENV_ID first. */
  names: string[];
}

/**
 * The .env text for a configuration: ENV_ID and every secret variable the functions read, each from the
 * key file, value or environment variable the configuration names. A missing value is an error naming its
 * field; so is a value `envLine` refuses.
 */
export function renderDeployEnv(config: WedaWxpayConfig, opts: { baseDir: string; envId?: string; env?: NodeJS.ProcessEnv; configFile?: string }): string {
  const configFile = opts.configFile ?? CONFIG_FILE_NAME;
  const valid = configSettings(config).config; // the whole file validated first: its errors name the field
  const envId = opts.envId ?? deployEnvId(valid);
  if (!envId) throw new Error(`${configFile}: cannot tell the CloudBase environment id (ENV_ID); pass --env-id <id>`);
  const secrets = readDeploySecrets(valid, { baseDir: opts.baseDir, ...(opts.env ? { env: opts.env } : {}) });
  const missing = secrets.filter((s) => s.value === undefined);
  if (missing.length) {
    throw new Error(`${configFile}: ${missing.map((s) => `${s.field} gives no value for ${s.env}${s.field.endsWith('Env') ? ' (that environment variable is not set here)' : ''}`).join('; ')}`);
  }
  return [
    `# Written by \`weda-wxpay env\` from ${configFile}. \`tcb fn deploy\` fills {{env.NAME}} in cloudbaserc.json from it.`,
    '# SECRET: never commit or share this file. Every value is one line; a PEM key\'s line breaks are the two characters \\n.',
    envLine(ENV_ID_VARIABLE, envId, opts.envId ? '--env-id' : 'the configuration'),
    ...secrets.map((s) => envLine(s.env, s.value!, s.field)),
    '',
  ].join('\n');
}

/** Writes the .env (owner-only: it holds keys). */
export function writeDeployEnv(opts: DeployEnvOptions = {}): DeployEnvResult {
  const root = opts.root ?? projectRoot(__dirname);
  const configPath = path.resolve(opts.configPath ?? path.join(root, CONFIG_FILE_NAME));
  const file = path.resolve(opts.outFile ?? path.join(root, 'dist', DEPLOY_ENV_FILE));
  if (!fs.existsSync(configPath)) throw new Error(`no configuration: ${configPath} does not exist (pass --config <file>)`);
  let config: WedaWxpayConfig;
  try {
    config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as WedaWxpayConfig;
  } catch (err) {
    throw new Error(`${configPath} is not valid JSON: ${(err as Error).message}`);
  }
  const text = renderDeployEnv(config, {
    baseDir: path.dirname(configPath), configFile: configPath,
    ...(opts.envId ? { envId: opts.envId } : {}), ...(opts.env ? { env: opts.env } : {}),
  });
  // Built from another configuration, the functions would read a variable this file lacks.
  const rcPath = path.join(path.dirname(file), 'cloudbaserc.json');
  if (fs.existsSync(rcPath)) {
    const written = new Set(envNamesOf(text));
    const read = [...fs.readFileSync(rcPath, 'utf8').matchAll(/\{\{env\.([A-Za-z_][A-Za-z0-9_]*)\}\}/g)].map((m) => m[1]!);
    const lacking = [...new Set(read.filter((n) => !written.has(n)))];
    if (lacking.length) throw new Error(`${rcPath} reads ${lacking.join(', ')}, which ${configPath} does not give: build and env from the same configuration`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // an existing file keeps its mode on write
  return { file, names: envNamesOf(text) };
}

/** The names a .env text assigns, in order. */
function envNamesOf(text: string): string[] {
  return text.split('\n').filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
}

/** The environment id the configuration implies: CloudPay's envId, else the v3 notify URL's CloudBase default domain. */
export function deployEnvId(config: WedaWxpayConfig): string | undefined {
  if (config.provider === 'cloudpay') return config.cloudpay?.envId;
  const url = config.v3?.notifyUrl;
  if (!url) return undefined;
  try {
    return defaultDomainEnvId(new URL(url).hostname);
  } catch {
    return undefined;
  }
}

/**
 * The .env.example next to cloudbaserc.json: the names the deploy reads, empty, with the one form each value
 * must take and the command that fills them in. `pemSample` adds a sample key line (the package's guide
 * points to it); the build leaves it out, so no PEM header appears in what it writes.
 */
export function renderEnvExample(config: WedaWxpayConfig, envNames: string[], opts: { pemSample?: boolean } = {}): string {
  const deployed = deployConfig(config).config.v3;
  const pem = new Set([deployed?.privateKeyEnv, ...(deployed?.platformKeys ?? []).map((k) => k.env)].filter((n): n is string => !!n));
  const lines = [
    '# Copy to .env next to cloudbaserc.json (never commit it). `tcb fn deploy` fills {{env.NAME}} from it.',
    '# 复制为 cloudbaserc.json 旁边的 .env（不要提交）。`tcb fn deploy` 用它填入 {{env.NAME}}。',
    '#',
    '# `npx weda-wxpay env --config weda-wxpay.config.json` writes dist/.env for you, from the key files and',
    '# variables the configuration names, in the one form below (and refuses a value that would break the deploy).',
    '# `npx weda-wxpay env --config weda-wxpay.config.json` 会按配置中的密钥文件和变量直接写好 dist/.env。',
    '#',
    '# Every value must be ONE line. A PEM key: the whole key on one line, its line breaks written as the two',
    `# characters \\n, unquoted or in single quotes${opts.pemSample ? ', e.g.' : '.'}`,
    ...(opts.pemSample ? ['#   WXPAY_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\\nMIIEv…(the rest of the key)…\\n-----END PRIVATE KEY-----'] : []),
    '# Real line breaks, or double quotes ("…\\n…"), break the deploy (the CLI pastes values into JSON).',
    '# 每个值只能占一行：PEM 密钥写成一行，换行处写成字面的 \\n，不加引号或用单引号；真实换行或双引号会使部署失败。',
    '#',
    '# By hand, one way to produce the line:  awk \'{printf "%s\\\\n", $0}\' apiclient_key.pem',
    '',
    '# CloudBase environment id (云开发环境 ID)',
    `${ENV_ID_VARIABLE}=`,
  ];
  for (const name of envNames) {
    lines.push('', pem.has(name) ? '# PEM, one line with literal \\n (一行，字面 \\n)' : name === deployed?.apiV3KeyEnv ? '# APIv3 key, 32 characters (APIv3 密钥，32 个字符)' : `# ${name}`, `${name}=`);
  }
  return `${lines.join('\n')}\n`;
}
