import path from 'node:path';
import fs from 'node:fs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** tsc's output (tsconfig.json outDir), which `npm test` builds before jest runs; dist/ is the deploy folder. */
export const COMPILED_ROOT = path.join(REPO_ROOT, '.build');
/**
 * The public WeChat Pay test vectors and sample bill the tests check against, copied into the project so a
 * clone without anything beside it runs every test (wxpay-v3.md §6).
 */
export const REFERENCE_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'reference');

export function readReference(name: string): Buffer {
  return fs.readFileSync(path.join(REFERENCE_FIXTURES, name));
}
