/**
 * Writes the WeDa data-model JSON of the `goods` and `orders` models (default names, no field mapping) to
 * datasources/models/<name>.json, generated from schemas/models/ by datasources/models.ts. The files are
 * committed; test/models-weda.test.ts fails when they are stale. `npm run codegen` calls `writeModels()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildWedaModels } from '../datasources/models';
import { projectRoot } from './project-root';

export const MODELS_OUT_DIR = path.join(projectRoot(), 'datasources', 'models');

/** File name → file text, exactly as committed. */
export function renderModels(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, model] of Object.entries(buildWedaModels())) out[`${name}.json`] = `${JSON.stringify(model, null, 2)}\n`;
  return out;
}

/** Writes every model file into `dir` (default datasources/models); returns the paths written. */
export function writeModels(dir: string = MODELS_OUT_DIR): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(renderModels()).map(([file, text]) => {
    const full = path.join(dir, file);
    fs.writeFileSync(full, text);
    return full;
  });
}

if (require.main === module) {
  for (const file of writeModels()) console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
