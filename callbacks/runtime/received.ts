/**
 * What the callbacks receive is checked against its schema (schemas/events) before anything is read from it, and
 * read with own-property semantics: a field counts only when the object itself has it. A JSON `"__proto__"` key
 * is an own property of that name (JSON.parse never sets a prototype from it), so it supplies no field; an event
 * handed over in-process is first made what CloudBase delivers — JSON — so no prototype supplies one either.
 */
import { EVENT_SCHEMAS } from '../../schemas';
import { findOwnPropertyProblems } from '../../schemas/validate';

export type EventSchema = keyof typeof EVENT_SCHEMAS;

/** The first problem of `value` against one of schemas/events, in words ("refund_status must be one of …"), or undefined. */
export function shapeProblem(schema: EventSchema, value: unknown): string | undefined {
  const [first] = findOwnPropertyProblems(EVENT_SCHEMAS[schema], value);
  if (!first) return undefined;
  return first.field === '(input)' ? `it must be ${first.message.replace(/^\(input\) must be /, '')}` : first.message;
}

/**
 * A direct invocation's event as CloudBase hands it to a function: JSON, own data properties only (a JSON round
 * trip). Undefined when it is not JSON at all (a function, a cycle): nothing a real invocation could carry.
 */
export function asDelivered(event: unknown): unknown {
  try {
    const text = JSON.stringify(event ?? {});
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An own string property for a log line (clipped: a hostile value cannot flood the log), else null. */
export function ownText(value: unknown, key: string, max = 64): string | null {
  if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) return null;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'string' ? (v.length > max ? `${v.slice(0, max)}…` : v) : null;
}

/**
 * What WeChat Pay's own answer (queryOrder / queryRefund) says about an event nobody signed. Confirmed, `facts` are
 * WeChat Pay's — the only facts ever written for such an event; the event itself only names what to look up.
 * Not confirmed, `retry` tells whether a genuine event could still be confirmed later (WeChat Pay does not show
 * the payment or refund yet) or never (WeChat Pay contradicts it); `reason` is safe to answer (it names states and
 * fields, never WeChat Pay's values, which would hand a forger what to copy), `detail` is for the log only.
 */
export type Confirmation<F> =
  | { confirmed: true; facts: F }
  | { confirmed: false; retry: boolean; reason: string; detail?: Record<string, unknown> };
