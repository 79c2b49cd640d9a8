import { MANIFEST, MethodIntent, MethodRow } from './manifest';
import { DEFAULT_FUNCTION_NAMES } from '../config';

/**
 * `weda-wxpay export connector`: the manifest as a WeDa connector (CALS `ICloudIntegrationDataSource`,
 * weda.md §1.5, §5), importable by the platform. Each method is a `cloud-function` method whose callee
 * forwards to the deployed connector function, where configuration and keys live (never in the app).
 */
export interface ExportOptions {
  /** Data-source identifier builders see in the editor (`dataSourceName`). */
  name?: string;
  title?: string;
  /** The connector cloud function to forward to. */
  connectorFunction?: string;
  version?: string;
}

const INTENTS: Record<MethodIntent, 'create' | 'get-item' | 'update'> = { create: 'create', query: 'get-item', update: 'update' };

export function exportWedaConnector(opts: ExportOptions = {}): Record<string, unknown> {
  const name = opts.name ?? 'wedaWxpay';
  const fn = opts.connectorFunction ?? DEFAULT_FUNCTION_NAMES.connector;
  return {
    id: name,
    name,
    title: opts.title ?? '微信支付（weda-wxpay）',
    description: 'WeChat Pay for mini-programs: unified order, query, close, refund, refund query and trade bills, plus checkout and refund by order on the server (prices from the goods model). CloudPay or APIv3, chosen by the connector function\'s configuration.',
    type: 'cloud-integration',
    subType: 'custom-connector',
    configuration: {},
    schema: { type: 'object', properties: {} },
    version: opts.version ?? '1.0.0',
    schemaVersion: '1.0.0',
    methods: MANIFEST.map((row) => exportMethod(row, fn)),
  };
}

function exportMethod(row: MethodRow, fn: string): Record<string, unknown> {
  return {
    name: row.name,
    title: row.title,
    description: row.description,
    type: 'cloud-function',
    intent: INTENTS[row.intent],
    inParams: toCalsSchema(row.input),
    outParams: toCalsSchema(row.output),
    calleeBody: { callee: calleeSource(row.name, fn), config: {} },
  };
}

/** The method body WeDa runs: `context.app` is the node-sdk app of the environment (weda.md §3). */
export function calleeSource(method: string, fn: string): string {
  return [
    `// weda-wxpay: ${method} runs in the cloud function "${fn}", which holds the configuration and keys.`,
    'module.exports = async function (params, context) {',
    `  const res = await context.app.callFunction({ name: ${JSON.stringify(fn)}, data: { method: ${JSON.stringify(method)}, params: params } });`,
    '  const out = res && res.result;',
    '  if (!out || out.ok !== true) {',
    "    const error = (out && out.error) || { code: 'SYSTEM_ERROR', message: 'no answer from " + fn + "' };",
    "    throw Object.assign(new Error(error.code + ': ' + error.message), error);",
    '  }',
    '  return out.data;',
    '};',
  ].join('\n');
}

type Json = Record<string, unknown>;

/**
 * Our schemas use full JSON Schema (integer, patterns, closed objects, oneOf); CALS field schemas accept a
 * subset (platform_data_source.json: number not integer, open objects, no combinators). Translate, keep
 * every constraint CALS can express, and say the rest in the description. The connector function validates
 * the full schema anyway, so nothing is lost at run time.
 */
export function toCalsSchema(schema: Json, index?: number): Json {
  const type = schema.type;
  const out: Json = {};
  const copy = (keys: string[]) => { for (const k of keys) if (schema[k] !== undefined) out[k] = schema[k]; };
  copy(['title', 'description', 'default']);
  if (index !== undefined) out['x-index'] = index;
  if (type === 'object') {
    out.type = 'object';
    const props = (schema.properties ?? {}) as Record<string, Json>;
    out.properties = Object.fromEntries(Object.entries(props).map(([k, v], i) => [k, toCalsSchema(v, i + 1)]));
    const required = (schema.required ?? []) as string[];
    if (required.length) {
      out.required = required;
      for (const r of required) if (out.properties && (out.properties as Record<string, Json>)[r]) ((out.properties as Record<string, Json>)[r]!)['x-required'] = true;
    }
    const either = (schema.oneOf ?? schema.anyOf) as Array<{ required?: string[] }> | undefined;
    if (either) {
      const names = either.flatMap((b) => b.required ?? []);
      const rule = `${schema.oneOf ? 'Exactly one' : 'At least one'} of ${names.join(', ')} is required.`;
      out.description = out.description ? `${String(out.description)} ${rule}` : rule;
    }
  } else if (type === 'array') {
    out.type = 'array';
    out.items = toCalsSchema((schema.items ?? { type: 'string' }) as Json);
  } else if (type === 'integer' || type === 'number') {
    out.type = 'number';
    copy(['minimum', 'maximum', 'enum']);
  } else if (type === 'boolean') {
    out.type = 'boolean';
    if (schema.const !== undefined) out.enum = [schema.const];
  } else {
    out.type = 'string';
    copy(['pattern', 'minLength', 'maxLength', 'enum']);
    if (schema.const !== undefined) out.enum = [schema.const];
  }
  return out;
}
