/**
 * The schemas validated at run time, each with the name of its precompiled validator in validators.generated.ts:
 * what is sent (method input and output, the configuration; defaults filled in) and what is received (events and
 * notifications; own properties only, nothing filled in — see validate.ts).
 */
import { CONFIG_SCHEMA, EVENT_SCHEMAS, METHOD_SCHEMAS } from './index';

export interface ValidatedSchema {
  name: string;
  schema: object;
  /** Read as received: own properties only, no defaults. */
  received: boolean;
}

export function validatedSchemas(): ValidatedSchema[] {
  const out: ValidatedSchema[] = [];
  for (const [method, { input, output }] of Object.entries(METHOD_SCHEMAS)) {
    out.push({ name: `${method}Input`, schema: input, received: false }, { name: `${method}Output`, schema: output, received: false });
  }
  out.push({ name: 'config', schema: CONFIG_SCHEMA, received: false });
  for (const [event, schema] of Object.entries(EVENT_SCHEMAS)) out.push({ name: `${event}Received`, schema, received: true });
  return out;
}
