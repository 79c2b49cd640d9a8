import fs from 'node:fs';
import { generateTypes, GENERATED_TYPES_PATH } from '../scripts/codegen';
import { METHOD_SCHEMAS } from '../schemas';

describe('generated TypeScript types', () => {
  it('are up to date with the JSON Schemas (run `npm run codegen` when this fails)', async () => {
    const committed = fs.readFileSync(GENERATED_TYPES_PATH, 'utf8');
    expect(await generateTypes()).toBe(committed);
  }, 60_000);
});

describe('schemas written once per field', () => {
  // Each method schema is self-contained (WeDa imports dereferenced schemas); the shared fields must agree.
  const fieldsEverywhere = new Map<string, string>();
  for (const [method, { input, output }] of Object.entries(METHOD_SCHEMAS)) {
    for (const [kind, schema] of [['input', input], ['output', output]] as const) {
      for (const [name, def] of Object.entries((schema as { properties: Record<string, { pattern?: string }> }).properties)) {
        if (!['outTradeNo', 'transactionId', 'outRefundNo'].includes(name)) continue;
        it(`${method}.${kind}.${name} uses the shared pattern`, () => {
          const seen = fieldsEverywhere.get(name);
          if (seen === undefined) fieldsEverywhere.set(name, def.pattern!);
          expect(def.pattern).toBe(fieldsEverywhere.get(name));
        });
      }
    }
  }
});
