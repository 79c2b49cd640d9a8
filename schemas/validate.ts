import type { ErrorObject } from 'ajv';
import { PayError } from '../wxpay';
import { WXPAY_FORMATS } from './formats';
import { validatedSchemas } from './validated';
import * as sentValidators from './validators.generated';
import * as receivedValidators from './received-validators.generated';

/**
 * ajv validation that answers in the builder's words: every problem names the field and the rule
 * ("outTradeNo must match ^[0-9A-Za-z_\-|*]{6,32}$", "totalFee must be an integer ≥ 1"), and the first one
 * becomes a PARAM_ERROR before anything is sent to WeChat Pay.
 *
 * The validators are precompiled by `npm run codegen` (ajv standalone code, scripts/codegen.ts has the options):
 * what is sent gets its defaults filled in; what is received — a notification's resource, an event — is read by
 * the same rules with two differences: a property counts only when the object itself has it (ajv
 * `ownProperties`), never through its prototype, and no default is filled in (what was received is read as received).
 */
interface ValidateFunction {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const sent = new Map<object, ValidateFunction>();
const received = new Map<object, ValidateFunction>();
for (const v of validatedSchemas()) {
  const fn = ((v.received ? receivedValidators : sentValidators) as unknown as Record<string, ValidateFunction | undefined>)[v.name];
  if (fn) (v.received ? received : sent).set(v.schema, fn);
}

function validatorFor(schema: object, from: Map<object, ValidateFunction>): ValidateFunction {
  const fn = from.get(schema);
  if (!fn) throw new Error(`no precompiled validator for schema ${JSON.stringify((schema as { title?: unknown }).title)} (listed in schemas/validated.ts? run \`npm run codegen\`)`);
  return fn;
}

export interface FieldProblem {
  field: string;
  rule: string;
  message: string;
}

/** Validates (and fills defaults into) `value`; returns the problems, most specific first. */
export function findProblems(schema: object, value: unknown): FieldProblem[] {
  const validate = validatorFor(schema, sent);
  if (validate(value)) return [];
  return describeErrors(schema, validate.errors ?? []);
}

/** The problems of something received (own properties only), most specific first; `value` is not changed. */
export function findOwnPropertyProblems(schema: object, value: unknown): FieldProblem[] {
  const validate = validatorFor(schema, received);
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
