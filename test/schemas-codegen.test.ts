import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { METHOD_SCHEMAS } from '../schemas';
import { COMPILED_ROOT, REPO_ROOT } from './helpers/paths';

describe('generated TypeScript types', () => {
  it('are up to date with the JSON Schemas (run `npm run codegen` when this fails)', () => {
    // Runs the compiled generator in a plain Node process (`npm test` builds first): prettier, used by
    // json-schema-to-typescript, needs dynamic import, which jest's module sandbox lacks.
    const generated = execFileSync(process.execPath, [path.join(COMPILED_ROOT, 'scripts', 'codegen.js'), '--stdout'], { encoding: 'utf8' });
    const committed = fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'types.generated.ts'), 'utf8');
    expect(generated).toBe(committed);
  }, 60_000);
});

describe('precompiled validators (ajv standalone)', () => {
  for (const [kind, file] of [['sent', 'validators.generated.ts'], ['received', 'received-validators.generated.ts']] as const) {
    it(`schemas/${file} is up to date with the JSON Schemas (run \`npm run codegen\` when this fails)`, () => {
      const generated = execFileSync(process.execPath, [path.join(COMPILED_ROOT, 'scripts', 'codegen.js'), '--stdout', '--validators', kind], { encoding: 'utf8' });
      const committed = fs.readFileSync(path.join(REPO_ROOT, 'schemas', file), 'utf8');
      expect(generated).toBe(committed);
    }, 60_000);
  }
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
