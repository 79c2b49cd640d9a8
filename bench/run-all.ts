/**
 * `npm run bench`: every benchmark in bench/, one after the other, each in a process of its own (so one's heap,
 * JIT state and open handles cannot weigh on the next). Arguments after `--` go to every benchmark. Run after
 * `tsc -p bench/tsconfig.json`, from the compiled .build/bench/; a compiled file whose bench/*.ts source is gone is
 * not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const compiled = __dirname;
const sources = path.join(compiled, '..', '..', 'bench');
const self = path.basename(__filename);

const benchmarks = readdirSync(compiled)
  .filter((f) => f.endsWith('.js') && f !== self && existsSync(path.join(sources, f.replace(/\.js$/, '.ts'))))
  .sort();
if (benchmarks.length === 0) throw new Error(`no compiled benchmarks in ${compiled}`);

let failed = 0;
for (const file of benchmarks) {
  process.stdout.write(`# ${file.replace(/\.js$/, '')}\n`);
  const run = spawnSync(process.execPath, [path.join(compiled, file), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write(`${file} failed (${run.signal ?? `exit ${run.status}`})\n`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
