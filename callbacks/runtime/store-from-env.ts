/**
 * Which data-model store a callback function talks to, chosen by environment so the *same bundle* runs on
 * CloudBase and locally:
 * - `WEDA_WXPAY_STORE` unset or `cloudbase` → CloudBase data models (the models API as `@cloudbase/node-sdk` calls
 *   it, datasources/cloudbase-store.ts), in the function's own environment (`WEDA_WXPAY_ENV_ID`, else `TCB_ENV` /
 *   `SCF_NAMESPACE`, which CloudBase sets), with the function's own credentials (its role's); `WEDA_WXPAY_CLOUDBASE_SERVICE_URL` (host[:port] of a models gateway)
 *   and `WEDA_WXPAY_CLOUDBASE_ACCESS_KEY` (or `CLOUDBASE_APIKEY`) point it elsewhere, e.g. from outside CloudBase;
 * - `WEDA_WXPAY_STORE=sqlite:/path/to/dir` → the local SQLite store in that directory (what the dev server and
 *   the tests use; `models-pre.sqlite` / `models-prod.sqlite`).
 * Each store is loaded only when chosen (`require` inside the function), so a CloudBase function never loads
 * the native SQLite module and a local run never needs CloudBase credentials.
 */
import { createWeda, type ModelStore, type WedaSdk } from '../../datasources/weda';

export const STORE_ENV = 'WEDA_WXPAY_STORE';

function openStoreFromEnv(env: NodeJS.ProcessEnv = process.env): ModelStore {
  const spec = (env[STORE_ENV] ?? '').trim();
  if (spec.startsWith('sqlite:')) {
    const dataDir = spec.slice('sqlite:'.length);
    if (!dataDir) throw new Error(`${STORE_ENV}=sqlite:<dir> needs a directory`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openSqliteStore } = require('../../datasources/sqlite-store') as typeof import('../../datasources/sqlite-store');
    return openSqliteStore({ dataDir });
  }
  if (spec === '' || spec === 'cloudbase') {
    const cloudEnv = env.WEDA_WXPAY_ENV_ID || env.TCB_ENV || env.SCF_NAMESPACE;
    if (!cloudEnv) throw new Error(`no CloudBase environment: set WEDA_WXPAY_ENV_ID (or run inside a CloudBase function), or ${STORE_ENV}=sqlite:<dir> locally`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openCloudbaseStore } = require('../../datasources/cloudbase-store') as typeof import('../../datasources/cloudbase-store');
    const serviceUrl = env.WEDA_WXPAY_CLOUDBASE_SERVICE_URL;
    const accessKey = env.WEDA_WXPAY_CLOUDBASE_ACCESS_KEY || env.CLOUDBASE_APIKEY;
    return openCloudbaseStore({ env: cloudEnv, ...(serviceUrl ? { serviceUrl, keepalive: false } : {}), ...(accessKey ? { accessKey } : {}) });
  }
  throw new Error(`${STORE_ENV} must be "cloudbase" or "sqlite:<dir>" (got ${JSON.stringify(spec)})`);
}

let shared: { store: ModelStore; weda: WedaSdk } | undefined;

/**
 * The `weda` object of a generated function: `weda.callModel({ name, methodName, params, envType })`, the call
 * shape of `@cloudbase/weda-scf-sdk` (weda.md §3). Opened once per function instance (warm invocations reuse it).
 */
export function wedaFromEnv(env: NodeJS.ProcessEnv = process.env): WedaSdk {
  if (!shared) {
    const store = openStoreFromEnv(env);
    shared = { store, weda: createWeda({ store }) };
  }
  return shared.weda;
}

/** Closes the shared store (tests and local runs that exit). */
export async function closeSharedStore(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await s.store.close();
}
