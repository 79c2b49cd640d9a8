import path from 'node:path';
import fs from 'node:fs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** `shared/` sits beside the checkout (CI clones main with shared/ next to it). */
export const SHARED_REFERENCE = path.resolve(REPO_ROOT, '..', 'shared', 'reference');

export function readReference(name: string): Buffer {
  return fs.readFileSync(path.join(SHARED_REFERENCE, name));
}
