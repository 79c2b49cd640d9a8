/**
 * The `goods`, `orders` and `refunds` data models. The JSON Schemas in schemas/models/ are the source of truth (TS
 * record types are generated from them by codegen); from them this module builds
 *  - `buildWedaModel`: the WeDa data-model JSON as the CloudBase CLI pushes it (weda.md §2.3:
 *    `{ type:'object', title, properties, required, 'x-kind':'tcb', 'x-defaultMethods', 'x-primary-column':'_id' }`,
 *    integer → number, WeDa formats, system fields flagged `x-system`, required fields `x-required`,
 *    display order `x-index`), committed under datasources/models/ by scripts/models.ts;
 *  - `buildModelDefinitions`: the stores' `ModelDefinition`s (record checks, unique/plain indexes).
 * Both honour the configuration's model names and the orders field mapping (`models`, `fields`: a model built by
 * hand, like the seed tutorial's `wxzfmbddsj_e3xp7j6` with `ddh` = order number and `zfzt` = status, works as is;
 * the refunds model is new, so its fields keep their names).
 *
 * Keywords of a source field (anything else is refused, so the output stays inside the CALS field schema):
 *   type (string | integer | number | boolean), title, description, default, enum, x-enumObj,
 *   minimum, maximum (numbers), minLength, maxLength, pattern (strings), format (see FORMATS),
 *   x-unique (WeDa: unique value), x-system (set by the store; never written by callers),
 *   x-indexed (local only: the SQLite store indexes the field; not part of the WeDa model), x-index-ties (local
 *   only: `_id` orders that index's equal values by `_id` instead of creation time).
 */
import type { OrderFields } from '../config';
import { MODEL_RECORD_SCHEMAS } from '../schemas';
import type { FieldDefinition, ModelDefinition } from './definitions';
import { NAME_RE, invalidParam, isPlainObject } from './weda';

export interface EnumOption {
  label: string;
  value: string | number;
}

export interface SourceField {
  type: 'string' | 'integer' | 'number' | 'boolean';
  title: string;
  description?: string;
  default?: unknown;
  enum?: (string | number)[];
  'x-enumObj'?: EnumOption[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  'x-unique'?: boolean;
  'x-system'?: boolean;
  'x-indexed'?: boolean;
  'x-index-ties'?: 'createdAt' | '_id';
}

export interface ModelSourceSchema {
  title: string;
  description?: string;
  type: 'object';
  required?: string[];
  properties: Record<string, SourceField>;
  'x-weda-model': { name: string; title: string; description?: string };
  [key: string]: unknown;
}

/** One field of a WeDa data model (the CALS `IJsonSchemaString|Number|Bool` shapes plus `x-system`). */
export interface WedaField {
  type: 'string' | 'number' | 'boolean';
  title: string;
  description?: string;
  format?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: (string | number)[];
  'x-enumObj'?: EnumOption[];
  'x-unique'?: boolean;
  'x-required'?: boolean;
  'x-system'?: boolean;
  'x-index': number;
}

export interface WedaModelJson {
  type: 'object';
  title: string;
  description?: string;
  properties: Record<string, WedaField>;
  required: string[];
  'x-kind': 'tcb';
  'x-defaultMethods': string[];
  'x-primary-column': '_id';
}

/** Logical field name → the model's real field name; fields not listed keep their names. */
export type FieldMapping = Partial<OrderFields> | Readonly<Record<string, string | undefined>>;

export interface BuildWedaModelOptions {
  fields?: FieldMapping;
  /** Model title shown in WeDa (default: the schema's `x-weda-model.title`). */
  title?: string;
  description?: string;
}

/** Model names and order field mapping, as in the configuration (`OrdersBinding` fits). */
export interface ModelsBinding {
  model?: string;
  goodsModel?: string;
  refundsModel?: string;
  fields?: Partial<OrderFields>;
}

/** Every model of schemas/models (a model added there is built, defined and enforced with no change here). */
export const MODEL_SCHEMAS: Readonly<Record<string, ModelSourceSchema>> = MODEL_RECORD_SCHEMAS as unknown as Record<string, ModelSourceSchema>;
export const GOODS_SCHEMA = MODEL_SCHEMAS.goods!;
export const ORDERS_SCHEMA = MODEL_SCHEMAS.orders!;
export const REFUNDS_SCHEMA = MODEL_SCHEMAS.refunds!;

/** The built-in methods real WeDa model exports enable (weda.md §1.5, §2.3). */
export const WEDA_DEFAULT_METHODS: readonly string[] = [
  'wedaCreate', 'wedaUpdate', 'wedaDelete', 'wedaGetItem', 'wedaGetRecords', 'wedaGetList',
  'wedaBatchCreate', 'wedaBatchUpdate', 'wedaBatchDelete',
];

/** WeDa field formats accepted per stored type (weda.md §2.3). `x-enum` is added for string enums. */
export const FORMATS: Readonly<Record<'string' | 'number', readonly string[]>> = {
  string: ['x-image', 'x-file', 'x-rtf', 'x-enum', 'x-area-code', 'email', 'phone', 'url'],
  number: ['datetime', 'date', 'time'],
};

/** Field names the platform owns (weda.md §2.3); a mapping may not rename a field onto one of them. */
export const PLATFORM_FIELDS: readonly string[] = ['_id', 'createdAt', 'updatedAt', 'owner', 'createBy', 'updateBy', '_openid', '_departmentList', '_mainDep'];

const COMMON_KEYS = ['type', 'title', 'description', 'default', 'enum', 'x-enumObj', 'x-unique', 'x-system', 'x-indexed', 'x-index-ties'];
const KEYS_BY_TYPE: Record<SourceField['type'], ReadonlySet<string>> = {
  string: new Set([...COMMON_KEYS, 'format', 'pattern', 'minLength', 'maxLength']),
  integer: new Set([...COMMON_KEYS, 'format', 'minimum', 'maximum']),
  number: new Set([...COMMON_KEYS, 'format', 'minimum', 'maximum']),
  boolean: new Set([...COMMON_KEYS]),
};
const ROOT_KEYS = new Set(['$schema', 'title', 'description', 'type', 'additionalProperties', 'required', 'properties', 'x-weda-model']);

function schemaError(model: string, message: string): Error {
  return new Error(`schemas/models (${model}): ${message}`);
}

/** Checks a source schema's shape and keywords; returns its fields in order. */
function sourceFields(schema: ModelSourceSchema): [string, SourceField][] {
  if (!isPlainObject(schema)) throw schemaError('?', 'must be an object schema');
  const model = isPlainObject(schema['x-weda-model']) ? String(schema['x-weda-model'].name) : String(schema.title);
  if (schema.type !== 'object' || !isPlainObject(schema.properties)) {
    throw schemaError(model, 'must be an object schema with properties');
  }
  for (const key of Object.keys(schema)) if (!ROOT_KEYS.has(key)) throw schemaError(model, `root keyword "${key}" is not supported`);
  const meta = schema['x-weda-model'];
  if (!isPlainObject(meta) || typeof meta.name !== 'string' || !NAME_RE.test(meta.name) || typeof meta.title !== 'string') {
    throw schemaError(model, 'x-weda-model must be { name, title, description? }');
  }
  const fields = Object.entries(schema.properties);
  for (const [name, f] of fields) {
    const at = `${model}.${name}`;
    if (!NAME_RE.test(name)) throw schemaError(model, `field name "${name}" must match ${NAME_RE.source}`);
    if (!isPlainObject(f) || !(f.type in KEYS_BY_TYPE)) throw schemaError(model, `${at}.type must be one of ${Object.keys(KEYS_BY_TYPE).join(', ')}`);
    if (typeof f.title !== 'string' || f.title === '') throw schemaError(model, `${at}.title is required (the label builders see in WeDa)`);
    for (const key of Object.keys(f)) {
      if (!KEYS_BY_TYPE[f.type].has(key)) throw schemaError(model, `${at}: keyword "${key}" is not supported for type ${f.type}`);
    }
    if (f.format !== undefined) {
      const allowed = FORMATS[f.type === 'string' ? 'string' : 'number'];
      if (!allowed.includes(f.format)) throw schemaError(model, `${at}.format "${f.format}" is not a WeDa ${f.type} format (${allowed.join(', ')})`);
    }
    if (f['x-enumObj'] !== undefined) {
      const values = (f['x-enumObj'] ?? []).map((o) => o.value);
      if (!Array.isArray(f.enum) || JSON.stringify(values) !== JSON.stringify(f.enum)) {
        throw schemaError(model, `${at}: x-enumObj values ${JSON.stringify(values)} must equal enum ${JSON.stringify(f.enum)}`);
      }
    }
    if (f['x-index-ties'] !== undefined && (!f['x-indexed'] || !['createdAt', '_id'].includes(f['x-index-ties']))) {
      throw schemaError(model, `${at}: x-index-ties must be "createdAt" or "_id", on an x-indexed field`);
    }
    if (f['x-system'] && !PLATFORM_FIELDS.includes(name)) throw schemaError(model, `${at}: x-system is only for platform fields (${PLATFORM_FIELDS.join(', ')})`);
    if (!f['x-system'] && PLATFORM_FIELDS.includes(name)) throw schemaError(model, `${at} is a platform field and must be flagged x-system`);
  }
  for (const r of schema.required ?? []) {
    const f = schema.properties[r];
    if (!f) throw schemaError(model, `required names "${r}", which is not a field`);
    if (f['x-system']) throw schemaError(model, `required names the system field "${r}"`);
  }
  return fields;
}

/**
 * Validates a field mapping against a schema and returns logical → real names for every field.
 * Refused: unknown logical fields, names not matching NAME_RE, renaming a system field or onto a platform
 * field, two fields ending up with one name.
 */
export function resolveFieldNames(schema: ModelSourceSchema, mapping: FieldMapping = {}): Map<string, string> {
  const fields = mapping as Readonly<Record<string, string | undefined>>;
  const fieldList = sourceFields(schema);
  const modelName = schema['x-weda-model'].name;
  const known = new Set(fieldList.map(([n]) => n));
  for (const [logical, real] of Object.entries(fields)) {
    if (real === undefined) continue;
    if (!known.has(logical)) {
      throw invalidParam(`fields.${logical}: "${logical}" is not a field of the ${modelName} model (fields: ${[...known].filter((n) => !schema.properties[n]!['x-system']).join(', ')})`);
    }
    if (typeof real !== 'string' || !NAME_RE.test(real)) throw invalidParam(`fields.${logical} must be a field name matching ${NAME_RE.source} (got ${JSON.stringify(real)})`);
    if (schema.properties[logical]!['x-system'] && real !== logical) throw invalidParam(`fields.${logical}: the system field ${logical} cannot be renamed`);
  }
  const out = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const [logical, f] of fieldList) {
    const real = fields[logical] ?? logical;
    if (!f['x-system'] && PLATFORM_FIELDS.includes(real)) throw invalidParam(`fields.${logical}: "${real}" is a platform field name`);
    const prev = owner.get(real);
    if (prev !== undefined) throw invalidParam(`fields: ${prev} and ${logical} both map to "${real}"`);
    owner.set(real, logical);
    out.set(logical, real);
  }
  return out;
}

const WEDA_KEY_ORDER = [
  'type', 'title', 'description', 'format', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern',
  'enum', 'x-enumObj', 'x-unique', 'x-required', 'x-system', 'x-index',
] as const;

function wedaField(f: SourceField, required: boolean, index: number): WedaField {
  const out: Record<string, unknown> = { ...f, type: f.type === 'integer' ? 'number' : f.type, 'x-index': index };
  delete out['x-indexed'];
  delete out['x-index-ties'];
  if (f.enum) {
    out['x-enumObj'] = f['x-enumObj'] ?? f.enum.map((v) => ({ label: String(v), value: v }));
    // A WeDa 枚举 is a string field with format x-enum; numeric enums stay plain numbers (weda.md §2.3).
    if (f.type === 'string' && f.format === undefined) out.format = 'x-enum';
  }
  if (required) out['x-required'] = true;
  const ordered: Record<string, unknown> = {};
  for (const k of WEDA_KEY_ORDER) if (out[k] !== undefined) ordered[k] = out[k];
  return ordered as unknown as WedaField;
}

/**
 * The WeDa data-model JSON for `schema`, with the field mapping applied (titles stay, so `ddh` is still
 * 订单号). `name` is the model's identifier in WeDa (the file name under database-schemas/ for the CLI).
 */
export function buildWedaModel(name: string, schema: ModelSourceSchema, opts: BuildWedaModelOptions = {}): WedaModelJson {
  if (!NAME_RE.test(name)) throw invalidParam(`model name "${name}" must match ${NAME_RE.source}`);
  const names = resolveFieldNames(schema, opts.fields);
  const required = new Set(schema.required ?? []);
  const properties: Record<string, WedaField> = {};
  let index = 0;
  for (const [logical, f] of Object.entries(schema.properties)) {
    properties[names.get(logical)!] = wedaField(f, required.has(logical), ++index);
  }
  const meta = schema['x-weda-model'];
  const description = opts.description ?? meta.description;
  return {
    type: 'object',
    title: opts.title ?? meta.title,
    ...(description ? { description } : {}),
    properties,
    required: (schema.required ?? []).map((r) => names.get(r)!),
    'x-kind': 'tcb',
    'x-defaultMethods': [...WEDA_DEFAULT_METHODS],
    'x-primary-column': '_id',
  };
}

/** A store `ModelDefinition` (non-system fields only: the store owns `_id`/`createdAt`/`updatedAt`). */
export function buildModelDefinition(schema: ModelSourceSchema, fields?: FieldMapping): ModelDefinition {
  const names = resolveFieldNames(schema, fields);
  const properties: Record<string, FieldDefinition> = {};
  for (const [logical, f] of Object.entries(schema.properties)) {
    if (f['x-system']) continue;
    const def: FieldDefinition = { type: f.type, title: f.title };
    if (f.enum) def.enum = [...f.enum];
    if (f['x-unique']) def['x-unique'] = true;
    if (f['x-indexed']) def['x-index'] = true;
    if (f['x-indexed'] && f['x-index-ties']) def['x-index-ties'] = f['x-index-ties'];
    properties[names.get(logical)!] = def;
  }
  return { title: schema['x-weda-model'].title, properties, required: (schema.required ?? []).map((r) => names.get(r)!) };
}

/**
 * Each schema's model name and field mapping: goods, orders and refunds take the configured names (`goodsModel`,
 * `model`, `refundsModel`) and orders the configured field mapping; any other model keeps its `x-weda-model.name`.
 */
function namedSchemas(binding: ModelsBinding): Array<{ name: string; schema: ModelSourceSchema; fields: FieldMapping }> {
  const out = Object.entries(MODEL_SCHEMAS).map(([key, schema]) => {
    const configured = key === 'goods' ? binding.goodsModel : key === 'orders' ? binding.model : key === 'refunds' ? binding.refundsModel : undefined;
    const name = configured ?? schema['x-weda-model'].name;
    const what = key === 'goods' ? 'goodsModel' : key === 'orders' ? 'model' : key === 'refunds' ? 'refundsModel' : `the ${key} model`;
    if (!NAME_RE.test(name)) throw invalidParam(`${what} "${name}" must match ${NAME_RE.source}`);
    return { name, schema, fields: key === 'orders' ? binding.fields ?? {} : {} };
  });
  const seen = new Set<string>();
  for (const { name } of out) {
    if (seen.has(name)) {
      const goods = out.find((m) => m.schema === GOODS_SCHEMA)!.name;
      const orders = out.find((m) => m.schema === ORDERS_SCHEMA)!.name;
      throw invalidParam(goods === orders
        ? `the goods and orders models must have different names (both "${goods}")`
        : `two models are both named "${name}"; every model needs its own name`);
    }
    seen.add(name);
  }
  return out;
}

/**
 * Definitions for every model under its configured name, for `openSqliteStore({ models })` (or the CloudBase
 * store). With no binding these are the generated models (datasources/models/*.json).
 */
export function buildModelDefinitions(binding: ModelsBinding = {}): Record<string, ModelDefinition> {
  return Object.fromEntries(namedSchemas(binding).map(({ name, schema, fields }) => [name, buildModelDefinition(schema, fields)]));
}

/** Every WeDa model under its configured name (what datasources/models/*.json hold for the defaults). */
export function buildWedaModels(binding: ModelsBinding = {}): Record<string, WedaModelJson> {
  return Object.fromEntries(namedSchemas(binding).map(({ name, schema, fields }) => [name, buildWedaModel(name, schema, { fields })]));
}
