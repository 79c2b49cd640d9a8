/**
 * Optional model definitions (a JSON-Schema-like subset of WeDa's data-model schema, weda.md §2.3):
 * `{ properties: { field: { type, enum?, 'x-unique'?, 'x-index'? } }, required? }`. Extra keys (title,
 * format, x-system, …) are ignored, so a WeDa model JSON can be passed as is.
 * Records are checked before anything is written; without a definition only the generic rules apply
 * (field names match NAME_RE, values are JSON values).
 */
import { NAME_RE, WedaErrorCode, WedaModelError, invalidParam, isPlainObject } from './weda';
import { SYSTEM_FIELDS, describe } from './where-v2';

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';
export const FIELD_TYPES: readonly FieldType[] = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

export interface FieldDefinition {
  type: FieldType | FieldType[] | string | string[];
  enum?: unknown[];
  /** Creates a unique index on the field (duplicates refused with code DuplicateValue). */
  'x-unique'?: boolean;
  /**
   * `true` creates a plain index on the field. In WeDa model JSON `x-index` is the display order (a number,
   * CALS `IJsonSchemaAny`), which creates nothing, so a WeDa model can still be passed as is.
   */
  'x-index'?: boolean | number;
  /** What orders an `x-index` index's entries of equal value: creation time (the default) or `_id`. */
  'x-index-ties'?: 'createdAt' | '_id';
  [extra: string]: unknown;
}

export interface ModelDefinition {
  properties: Record<string, FieldDefinition>;
  required?: string[];
  [extra: string]: unknown;
}

export type JsonRecord = Record<string, unknown>;

const SYSTEM_SET: ReadonlySet<string> = new Set<string>(SYSTEM_FIELDS);
export const isSystemField = (f: string): boolean => SYSTEM_SET.has(f);

function schemaViolation(model: string, field: string, message: string): WedaModelError {
  return new WedaModelError(WedaErrorCode.SchemaViolation, message, { model, field });
}

/** Checked once when the store opens: a bad definition is a configuration error, not a runtime one. */
export function checkDefinitions(models: Record<string, ModelDefinition>): void {
  for (const [model, def] of Object.entries(models)) {
    if (!NAME_RE.test(model)) throw invalidParam(`model name "${model}" must match ${NAME_RE.source}`);
    if (!isPlainObject(def) || !isPlainObject(def.properties)) throw invalidParam(`models.${model}.properties must be an object`);
    for (const [field, fd] of Object.entries(def.properties)) {
      if (!NAME_RE.test(field)) throw invalidParam(`models.${model}.properties: field name "${field}" must match ${NAME_RE.source}`);
      const types = isPlainObject(fd) ? [fd.type].flat() : [];
      if (types.length === 0 || types.some((t) => !FIELD_TYPES.includes(t as FieldType))) {
        throw invalidParam(`models.${model}.properties.${field}.type must be one of ${FIELD_TYPES.join(', ')} (got ${describe(isPlainObject(fd) ? fd.type : fd)})`);
      }
    }
    for (const r of def.required ?? []) {
      if (!(r in def.properties)) throw invalidParam(`models.${model}.required names "${r}", which is not in properties`);
    }
  }
}

function isJsonValue(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJsonValue);
  if (isPlainObject(v)) return Object.values(v).every((x) => x === undefined || isJsonValue(x));
  return false;
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number';
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isPlainObject(v);
    case 'array': return Array.isArray(v);
    case 'null': return v === null;
    default: return false;
  }
}

/** A field's rules, read once per definition (checkRecord runs on every write). */
interface FieldRule {
  /** The field's name matches NAME_RE (checked once here rather than on every write of the field). */
  nameOk: boolean;
  types: readonly string[];
  required: boolean;
  enum: readonly unknown[] | undefined;
}
const rulesByDefinition = new WeakMap<ModelDefinition, Map<string, FieldRule>>();

function rulesOf(def: ModelDefinition): Map<string, FieldRule> {
  let rules = rulesByDefinition.get(def);
  if (!rules) {
    const required = new Set(def.required ?? []);
    rules = new Map();
    for (const [field, fd] of Object.entries(def.properties)) {
      if (!isPlainObject(fd)) continue;
      rules.set(field, { nameOk: NAME_RE.test(field), types: [fd.type].flat() as string[], required: required.has(field), enum: Array.isArray(fd.enum) ? fd.enum : undefined });
    }
    rulesByDefinition.set(def, rules);
  }
  return rules;
}

/**
 * Returns the record to store: undefined values dropped, system fields (`_id`, `createdAt`, `updatedAt`)
 * removed — they are the store's to set (weda.md §2.3) — except `_id` on create, which may be given.
 * `mode` 'create' also enforces `required`.
 */
export function checkRecord(
  model: string,
  def: ModelDefinition | undefined,
  record: unknown,
  mode: 'create' | 'update',
  path: string,
): JsonRecord {
  if (!isPlainObject(record)) throw invalidParam(`${path} must be an object of fields (got ${describe(record)})`);
  const rules = def && rulesOf(def);
  const out: JsonRecord = {};
  for (const field of Object.keys(record)) {
    const value = record[field];
    if (value === undefined) continue;
    const rule = rules?.get(field);
    if (rule?.nameOk !== true && !NAME_RE.test(field)) throw invalidParam(`${path}.${field}: field name must match ${NAME_RE.source}`);
    if (field === '_id' && mode === 'create') {
      if (typeof value !== 'string' || value === '') throw invalidParam(`${path}.${field} must be a non-empty string`);
      out._id = value;
      continue;
    }
    if (isSystemField(field)) continue; // read-only system field: ignored, never overwritten
    if (!isJsonValue(value)) throw invalidParam(`${path}.${field} must be a JSON value (got ${describe(value)}); dates are stored as ms numbers`);
    if (rules) {
      if (!rule) throw schemaViolation(model, field, `${model}.${field} is not a field of model "${model}" (${path}.${field})`);
      if (value === null) {
        if (rule.required) throw schemaViolation(model, field, `${model}.${field} is required and must not be null (${path}.${field})`);
      } else if (!rule.types.some((t) => hasType(value, t))) {
        throw schemaViolation(model, field, `${model}.${field} must be of type ${rule.types.join('|')} (got ${describe(value)}) (${path}.${field})`);
      } else if (rule.enum && !rule.enum.includes(value)) {
        throw schemaViolation(model, field, `${model}.${field} must be one of ${JSON.stringify(rule.enum)} (got ${describe(value)}) (${path}.${field})`);
      }
    }
    out[field] = value;
  }
  if (def && mode === 'create') {
    for (const r of def.required ?? []) {
      if (isSystemField(r)) continue;
      if (out[r] === undefined || out[r] === null) throw schemaViolation(model, r, `${model}.${r} is required (${path}.${r} is missing)`);
    }
  }
  return out;
}
