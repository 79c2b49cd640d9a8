import Ajv, { ErrorObject, SchemaValidateFunction, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import { PayError, parseChinaTime } from '../wxpay';

/**
 * ajv validation that answers in the builder's words: every problem names the field and the rule
 * ("outTradeNo must match ^[0-9A-Za-z_\-|*]{6,32}$", "totalFee must be an integer ≥ 1"), and the first one
 * becomes a PARAM_ERROR before anything is sent to WeChat Pay.
 */
// strictRequired off: "exactly one of outTradeNo, transactionId" is written as oneOf branches that only list `required`.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, useDefaults: true, allowUnionTypes: true });
addFormats(ajv);

/** ajv-formats' own ipv4 and ipv6 expressions (both are RegExps), for the one format that accepts either. */
const IPV4 = fullFormats.ipv4 as RegExp;
const IPV6 = fullFormats.ipv6 as RegExp;

/**
 * WeChat Pay's rules on a string that a pattern cannot say, as `format`s the method schemas name. `rule` is what
 * the error says after the field name.
 */
const WXPAY_FORMATS: Record<string, { validate: (text: string) => boolean; rule: string }> = {
  // Surrogates are how a JavaScript string holds a 4-byte UTF-8 character (or, alone, no character at all).
  'bmp-text': {
    validate: (text) => !/[\uD800-\uDFFF]/.test(text),
    rule: 'must not contain characters outside the Basic Multilingual Plane (emoji): WeChat Pay accepts 1–3-byte UTF-8 only (wxpay-v3.md §0)',
  },
  'ip-address': {
    validate: (text) => IPV4.test(text) || IPV6.test(text),
    rule: 'must be an IPv4 or IPv6 address, e.g. 203.0.113.7 or 2001:db8::1 (wxpay-v3.md §1.1 payer_client_ip)',
  },
  'calendar-date': {
    validate: isCalendarDate,
    rule: 'must be a date that exists (yyyy-MM-dd or yyyyMMdd; no 30 February, no month 13)',
  },
  'calendar-date-time': {
    validate: isCalendarDateTime,
    rule: 'must be a time that exists (yyyyMMddHHmmss China time, or RFC 3339 with an offset; no 30 February, no hour 24)',
  },
};
for (const [name, f] of Object.entries(WXPAY_FORMATS)) ajv.addFormat(name, { type: 'string', validate: f.validate });

/**
 * Cross-field rules, as a keyword on the smaller field: `"atMostField": "totalFee"` on refundFee says refundFee ≤
 * totalFee whenever both are numbers (each one's own type and range are its own keywords' business).
 */
const atMostField: SchemaValidateFunction = (other: string, value: number, _parentSchema, data): boolean => {
  const limit = (data?.parentData as Record<string, unknown> | undefined)?.[other];
  if (typeof limit !== 'number' || value <= limit) return true;
  atMostField.errors = [{ keyword: 'atMostField', params: { other, limit } }];
  return false;
};
ajv.addKeyword({ keyword: 'atMostField', type: 'number', schemaType: 'string', errors: true, validate: atMostField });

/**
 * For what arrives from outside — a notification's resource, an event — the same rules with two differences: a
 * property counts only when the object itself has it (ajv `ownProperties`), never through its prototype, and no
 * default is filled in (what was received is read as received).
 */
const ownPropertiesAjv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, ownProperties: true });
addFormats(ownPropertiesAjv);
for (const [name, f] of Object.entries(WXPAY_FORMATS)) ownPropertiesAjv.addFormat(name, { type: 'string', validate: f.validate });
ownPropertiesAjv.addKeyword({ keyword: 'atMostField', type: 'number', schemaType: 'string', errors: true, validate: atMostField });

const compiled = new WeakMap<object, ValidateFunction>();
const compiledOwnProperties = new WeakMap<object, ValidateFunction>();

function compile(schema: object, on = ajv, cache = compiled): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = on.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

export interface FieldProblem {
  field: string;
  rule: string;
  message: string;
}

/** Validates (and fills defaults into) `value`; returns the problems, most specific first. */
export function findProblems(schema: object, value: unknown): FieldProblem[] {
  const validate = compile(schema);
  if (validate(value)) return [];
  return describeErrors(schema, validate.errors ?? []);
}

/** The problems of something received (see `ownPropertiesAjv`), most specific first; `value` is not changed. */
export function findOwnPropertyProblems(schema: object, value: unknown): FieldProblem[] {
  const validate = compile(schema, ownPropertiesAjv, compiledOwnProperties);
  if (validate(value)) return [];
  return describeErrors(schema, validate.errors ?? []);
}

/** Throws PayError PARAM_ERROR naming the first problem's field and rule; `detail.problems` lists them all. */
export function assertValid(schema: object, value: unknown, what: string): void {
  const problems = findProblems(schema, value);
  if (problems.length === 0) return;
  const first = problems[0]!;
  throw new PayError({
    code: 'PARAM_ERROR',
    message: problems.length === 1 ? `${what}: ${first.message}` : `${what}: ${first.message} (and ${problems.length - 1} more)`,
    detail: { field: first.field, issue: first.rule, problems },
    retryable: false,
  });
}

function describeErrors(rootSchema: object, errors: ErrorObject[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  // ajv reports `type` and `minimum` separately; merge them into one sentence per field.
  const byField = new Map<string, ErrorObject[]>();
  // Errors inside a oneOf/anyOf branch are explained by the combinator's own sentence.
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.schemaPath);
  for (const e of errors) {
    if (combinators.some((c) => e.schemaPath.startsWith(`${c}/`))) continue;
    const field = fieldOf(e);
    byField.set(field, [...(byField.get(field) ?? []), e]);
  }
  for (const [field, errs] of byField) {
    for (const e of errs) {
      const p = describe(rootSchema, field, e, errs);
      if (!p) continue;
      const key = `${p.field}|${p.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(p);
    }
  }
  // Structural problems first: they explain the rest. An input that is not an object at all explains everything.
  const rank = (p: FieldProblem) => (p.field === '(input)' && p.rule === 'type' ? -1 : ['required', 'additionalProperties', 'oneOf', 'anyOf'].includes(p.rule) ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b));
}

function fieldOf(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') return joinPath(base, (e.params as { missingProperty: string }).missingProperty);
  if (e.keyword === 'additionalProperties') return joinPath(base, (e.params as { additionalProperty: string }).additionalProperty);
  return base || '(input)';
}

function joinPath(base: string, leaf: string): string {
  return base ? `${base}.${leaf}` : leaf;
}

function describe(rootSchema: object, field: string, e: ErrorObject, siblings: ErrorObject[]): FieldProblem | undefined {
  const p = e.params as Record<string, unknown>;
  const sub = schemaAt(rootSchema, e.schemaPath);
  switch (e.keyword) {
    case 'required':
      return { field, rule: 'required', message: `${field} is required` };
    case 'additionalProperties':
      return { field, rule: 'additionalProperties', message: `${field} is not a known field` };
    case 'type':
    case 'minimum':
    case 'maximum': {
      // One sentence per numeric field: "totalFee must be an integer ≥ 1" (and "≤ max" when bounded).
      if (e.keyword !== 'type' && siblings.some((s) => s.keyword === 'type')) return undefined;
      const parent = schemaAt(rootSchema, e.schemaPath.replace(/\/[^/]+$/, '')) as { type?: string; minimum?: number; maximum?: number } | undefined;
      const type = (e.keyword === 'type' ? p.type : parent?.type) as string | string[] | undefined;
      if (type === 'integer' || type === 'number') {
        const noun = type === 'integer' ? 'an integer' : 'a number';
        const bounds = [parent?.minimum !== undefined ? `≥ ${parent.minimum}` : '', parent?.maximum !== undefined ? `≤ ${parent.maximum}` : ''].filter(Boolean).join(' and ');
        return { field, rule: e.keyword, message: `${field} must be ${noun}${bounds ? ' ' + bounds : ''}` };
      }
      return { field, rule: 'type', message: `${field} must be ${article(String(type))}` };
    }
    case 'pattern':
      return { field, rule: 'pattern', message: `${field} must match ${String(p.pattern)}` };
    case 'format': {
      // A value whose shape already broke the pattern is told that once; the format speaks about the content.
      if (siblings.some((s) => s.keyword === 'pattern')) return undefined;
      const format = String(p.format);
      return { field, rule: 'format', message: `${field} ${WXPAY_FORMATS[format]?.rule ?? `must be a valid ${format}`}` };
    }
    case 'atMostField':
      return { field, rule: 'atMostField', message: `${field} must be ≤ ${String(p.other)} (${String(p.limit)})` };
    case 'minLength':
      return { field, rule: 'minLength', message: p.limit === 1 ? `${field} must not be empty` : `${field} must be at least ${String(p.limit)} characters` };
    case 'maxLength':
      return { field, rule: 'maxLength', message: `${field} must be at most ${String(p.limit)} characters` };
    case 'enum':
      return { field, rule: 'enum', message: `${field} must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { field, rule: 'const', message: `${field} must be ${JSON.stringify(p.allowedValue)}` };
    case 'oneOf':
    case 'anyOf': {
      const branches = (sub as { required?: string[] }[] | undefined) ?? [];
      const names = branches.flatMap((b) => b.required ?? []);
      if (names.length === branches.length && names.length > 0) {
        const rule = e.keyword === 'oneOf' ? 'exactly one' : 'at least one';
        return { field: names.join('|'), rule: e.keyword, message: `${rule} of ${names.join(', ')} is required` };
      }
      return { field, rule: e.keyword, message: `${field} ${e.message ?? 'is invalid'}` };
    }
    default:
      return { field, rule: e.keyword, message: `${field} ${e.message ?? 'is invalid'}` };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function schemaAt(root: object, schemaPath: string): unknown {
  let node: unknown = root;
  for (const raw of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/** yyyy-MM-dd or yyyyMMdd naming a day on the calendar. */
function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  return !!m && dayExists(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** yyyyMMddHHmmss (China wall time, v2/CloudPay) or RFC 3339 with an offset (v3), naming a real instant (wxpay-v3.md §0). */
function isCalendarDateTime(text: string): boolean {
  if (/^\d{14}$/.test(text)) return parseChinaTime(text) !== undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(text);
  if (!m) return false;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  const offsetOk = m[8] === 'Z' || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return dayExists(Number(m[1]), Number(m[2]), Number(m[3])) && hour <= 23 && minute <= 59 && second <= 59 && offsetOk;
}

function dayExists(year: number, month: number, day: number): boolean {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return days !== undefined && day >= 1 && day <= days;
}
