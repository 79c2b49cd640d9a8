/**
 * HTTP access (HTTP 访问服务) for the v3 notify URLs. WeChat Pay POSTs payment results to `v3.notifyUrl` and
 * refund results to `v3.refundNotifyUrl` (wxpay-v3.md §1.1, §1.4, §4); a CloudBase function answers a URL
 * only once HTTP access routes the URL's path to it, `tcb service create -p <path> -f <function>`, which
 * cloudbaserc.json cannot declare (weda-import.md §5, §6 item 12). The build derives those commands from the
 * configured URLs and checks the URLs can work: https, a CloudBase default domain of the environment (or a
 * custom domain, with a warning: this build cannot see what it is bound to), a path, a different path each.
 * CloudPay calls the functions by name: nothing to route.
 */
import type { FunctionNames } from '../config';
import { CONFIG_FILE_NAME } from '../config';
import { PayError } from '../wxpay';
import type { WedaWxpayConfig } from '../schemas/types.generated';

export const HTTP_ACCESS_SCRIPT = 'http-access.sh';

export type NotifyField = 'v3.notifyUrl' | 'v3.refundNotifyUrl';

export interface HttpAccessRoute {
  field: NotifyField;
  kind: 'pay-notify' | 'refund-notify';
  url: string;
  host: string;
  /** The URL's path: what `tcb service create -p` routes. */
  path: string;
  /** The function the path goes to. */
  functionName: string;
}

export interface HttpAccess {
  /** The routes to create; empty when none is needed (`notNeeded` says why). */
  routes: HttpAccessRoute[];
  /** The environment the commands name: given (--env-id), else read from a default domain; otherwise the script asks for ENV_ID. */
  envId?: string;
  /** Things this build cannot check (a custom domain); the build still succeeds. */
  warnings: string[];
  notNeeded?: string;
}

/** HTTP access default domains: `<envId>.service.tcloudbase.com`, and the newer `<envId>.<region>.app.tcloudbase.com`. */
const DEFAULT_DOMAINS = [/^([a-z0-9][a-z0-9-]*)\.service\.tcloudbase\.com$/, /^([a-z0-9][a-z0-9-]*)\.[a-z]+-[a-z0-9-]+\.app\.tcloudbase\.com$/];
/** CloudBase's own domains that are not HTTP access (static hosting, cloud run, the API gateway): no function answers there. */
const OTHER_CLOUDBASE_DOMAIN = /(^|\.)(tcloudbase\.com|tcloudbaseapp\.com|tcloudbasegateway\.com)$/;
const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/;

/** The environment id a CloudBase HTTP access default domain names, or undefined for any other host. */
export function defaultDomainEnvId(host: string): string | undefined {
  for (const re of DEFAULT_DOMAINS) {
    const m = re.exec(host.toLowerCase());
    if (m) return m[1];
  }
  return undefined;
}

function configError(field: string, issue: string): PayError {
  return new PayError({ code: 'CONFIG_ERROR', message: `${CONFIG_FILE_NAME}: ${field} ${issue}`, detail: { field, issue } });
}

/**
 * The HTTP access a configuration needs, checked. Errors name the field; `functions` are the deployed names
 * (a path that names another of them is taken for a swapped or copied URL).
 */
export function planHttpAccess(config: WedaWxpayConfig, opts: { functions: FunctionNames; envId?: string }): HttpAccess {
  if (config.provider === 'cloudpay') {
    return { routes: [], warnings: [], notNeeded: 'CloudPay calls the notify functions by name (cloudpay.payCallbackFunction, refundCallbackFunction): no HTTP access is needed' };
  }
  if (config.provider === 'sandbox') {
    return { routes: [], warnings: [], notNeeded: 'provider "sandbox": the local sandbox calls the functions; no HTTP access is needed' };
  }
  const v3 = config.v3;
  if (!v3) throw configError('v3', `is required when provider is "${config.provider}"`);
  const { functions } = opts;
  const wanted: Array<{ field: NotifyField; kind: HttpAccessRoute['kind']; url: string | undefined; functionName: string }> = [
    { field: 'v3.notifyUrl', kind: 'pay-notify', url: v3.notifyUrl, functionName: functions.payNotify },
    { field: 'v3.refundNotifyUrl', kind: 'refund-notify', url: v3.refundNotifyUrl, functionName: functions.refundNotify },
  ];
  const warnings: string[] = [];
  const routes: HttpAccessRoute[] = [];
  const envIds = new Map<string, NotifyField>();
  for (const w of wanted) {
    if (w.url === undefined) continue; // no refund URL: refund results reach the orders through reconcile
    let url: URL;
    try {
      url = new URL(w.url);
    } catch {
      throw configError(w.field, `is not a URL: ${w.url}`);
    }
    if (url.protocol !== 'https:') throw configError(w.field, `must be an https:// URL: WeChat Pay only calls HTTPS notify URLs (wxpay-v3.md §1.1), got ${w.url}`);
    const host = url.hostname.toLowerCase();
    if (url.pathname === '/' || url.pathname === '') {
      throw configError(w.field, `has no path (${w.url}): HTTP access routes a path to a function, e.g. https://<envId>.service.tcloudbase.com/${w.kind} → ${w.functionName}`);
    }
    const path = url.pathname;
    const other = [...new Set([...Object.values(functions), 'pay-notify', 'refund-notify'])].filter((n) => n !== w.functionName && n !== w.kind);
    const named = path.split('/').find((segment) => other.includes(segment));
    if (named) {
      const counterpart = wanted.find((o) => o.kind !== w.kind)!;
      const swapped = named === counterpart.kind || named === counterpart.functionName ? '; are v3.notifyUrl and v3.refundNotifyUrl swapped?' : '';
      throw configError(w.field, `path ${path} names "${named}", but ${w.kind === 'pay-notify' ? 'payment' : 'refund'} results go to ${w.functionName}${swapped}`);
    }
    const envId = defaultDomainEnvId(host);
    if (envId) {
      if (opts.envId && envId !== opts.envId) throw configError(w.field, `is on environment ${envId}'s domain (${host}), but the functions deploy to ${opts.envId} (--env-id)`);
      envIds.set(envId, envIds.get(envId) ?? w.field);
    } else if (OTHER_CLOUDBASE_DOMAIN.test(host)) {
      throw configError(w.field, `host ${host} is a CloudBase domain but not HTTP access's: use <envId>.service.tcloudbase.com (or <envId>.<region>.app.tcloudbase.com), where HTTP access routes paths to functions`);
    } else if (LOCAL_HOST.test(host)) {
      throw configError(w.field, `host ${host} is this machine: WeChat Pay cannot reach it (the local sandbox is provider "sandbox")`);
    } else {
      warnings.push(`${w.field}: ${host} is not a CloudBase default domain; if it is your own domain, bind it to the environment's HTTP access (tcb service domain bind ${host}) — this build cannot check that it reaches ${w.functionName}`);
    }
    routes.push({ field: w.field, kind: w.kind, url: w.url, host, path, functionName: w.functionName });
  }
  const [pay, refund] = [routes.find((r) => r.kind === 'pay-notify'), routes.find((r) => r.kind === 'refund-notify')];
  if (pay && refund && pay.path === refund.path) {
    throw configError('v3.refundNotifyUrl', `has the same path as v3.notifyUrl (${pay.path}): one path routes to one function, and payment and refund results go to different ones (${pay.functionName}, ${refund.functionName})`);
  }
  if (envIds.size > 1) {
    throw configError('v3.refundNotifyUrl', `is on environment ${[...envIds.keys()][1]}'s domain but v3.notifyUrl on ${[...envIds.keys()][0]}'s: both functions deploy to one environment`);
  }
  const envId = opts.envId ?? [...envIds.keys()][0];
  return { routes, warnings, ...(envId ? { envId } : {}) };
}

/** `tcb service create` for each route; `$ENV_ID` where the environment is not known. */
export function httpAccessCommands(access: HttpAccess): string[] {
  return access.routes.map((r) => `tcb service create -p ${shellQuote(r.path)} -f ${shellQuote(r.functionName)} -e ${access.envId ? shellQuote(access.envId) : '"$ENV_ID"'}`);
}

/** dist/http-access.sh: the commands, runnable once `tcb fn deploy --all` has created the functions. */
export function renderHttpAccessScript(access: HttpAccess, configFile: string): string {
  const lines = [
    '#!/bin/sh',
    `# Written by \`weda-wxpay build\` from ${configFile}; rebuild instead of editing.`,
    '# HTTP access for the v3 notify URLs: WeChat Pay POSTs payment and refund results to these paths, and',
    '# CloudBase routes each path to its function. Run once per environment, after `tcb fn deploy --all`.',
    '# v3 通知地址的 HTTP 访问服务：在 `tcb fn deploy --all` 之后，每个环境运行一次。',
    'set -eu',
  ];
  for (const r of access.routes) lines.push(`# ${r.field} = ${r.url} → ${r.functionName}`);
  if (!access.envId) {
    // ENV_ID from the environment, else from the .env next to this script (`weda-wxpay env` writes it).
    lines.push(
      'cd "$(dirname "$0")"',
      'ENV_ID="${ENV_ID:-$(sed -n \'s/^ENV_ID=//p\' .env 2>/dev/null | head -n 1)}"',
      ': "${ENV_ID:?set ENV_ID to the CloudBase environment id (or run weda-wxpay env, which writes it to .env)}"',
    );
  }
  lines.push(...httpAccessCommands(access), '');
  return lines.join('\n');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
