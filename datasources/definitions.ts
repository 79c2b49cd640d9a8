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
  const out: JsonRecord = {};
  for (const [field, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const at = `${path}.${field}`;
    if (!NAME_RE.test(field)) throw invalidParam(`${at}: field name must match ${NAME_RE.source}`);
    if (field === '_id' && mode === 'create') {
      if (typeof value !== 'string' || value === '') throw invalidParam(`${at} must be a non-empty string`);
      out._id = value;
      continue;
    }
    if (isSystemField(field)) continue; // read-only system field: ignored, never overwritten
    if (!isJsonValue(value)) throw invalidParam(`${at} must be a JSON value (got ${describe(value)}); dates are stored as ms numbers`);
    if (def) {
      const fd = def.properties[field];
      if (!fd || !isPlainObject(fd)) throw schemaViolation(model, field, `${model}.${field} is not a field of model "${model}" (${at})`);
      const types = [fd.type].flat() as string[];
      const required = (def.required ?? []).includes(field);
      if (value === null) {
        if (required) throw schemaViolation(model, field, `${model}.${field} is required and must not be null (${at})`);
      } else if (!types.some((t) => hasType(value, t))) {
        throw schemaViolation(model, field, `${model}.${field} must be of type ${types.join('|')} (got ${describe(value)}) (${at})`);
      } else if (Array.isArray(fd.enum) && !fd.enum.includes(value)) {
        throw schemaViolation(model, field, `${model}.${field} must be one of ${JSON.stringify(fd.enum)} (got ${describe(value)}) (${at})`);
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
