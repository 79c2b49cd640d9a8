/**
 * The sandbox's folders are its layers (sandbox/README.md), and imports go one way: http → cloudpay / delivery →
 * domain → state; console stands alone. Checked here over the import graph of sandbox/ (type-only imports
 * included): every import points down or sideways within its folder, nothing outside but wxpay/ and ui/, and no file
 * reaches itself through its imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', 'sandbox');

/** Which folders each folder may import from (its own always allowed). `.` is sandbox/index.ts. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  '.': ['http', 'cloudpay', 'delivery', 'domain', 'state', 'console'],
  http: ['cloudpay', 'delivery', 'domain', 'state', 'console'],
  cloudpay: ['domain', 'state'],
  delivery: ['domain', 'state'],
  domain: ['state'],
  state: [],
  console: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of `import … from`, `export … from` and `import '…'`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map((m) => (m[1] ?? m[2])!);
}

function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // next candidate
    }
  }
  return base; // outside sandbox/ or not TypeScript: judged by path alone
}

const folderOf = (file: string): string => {
  const rel = path.relative(ROOT, file);
  return rel.includes(path.sep) ? rel.split(path.sep)[0]! : '.';
};

const files = sourceFiles(ROOT);
const graph = new Map(files.map((f) => [f, importsOf(f).map((s) => ({ spec: s, target: resolve(f, s) }))]));

test('every folder imports only the layers below it', () => {
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    const from = folderOf(file);
    expect(MAY_IMPORT[from]).toBeDefined();
    for (const { spec, target } of deps) {
      if (target === undefined) continue; // a package
      if (!target.startsWith(ROOT + path.sep)) {
        // Outside sandbox/: the protocol (wxpay/) and the neutral page bundler (ui/), nothing of the product.
        if (!/^\.\.[/\\](wxpay|ui)([/\\]|$)/.test(path.relative(ROOT, target))) wrong.push(`${path.relative(ROOT, file)} imports ${spec}: sandbox/ uses wxpay/ and ui/ only`);
        continue;
      }
      const to = folderOf(target);
      if (to !== from && !MAY_IMPORT[from]!.includes(to)) wrong.push(`${path.relative(ROOT, file)} (${from}) imports ${spec} (${to})`);
    }
  }
  expect(wrong).toEqual([]);
});

test('sandbox code does not use the CloudPay client (a client of the sandbox, not part of it)', () => {
  const client = path.join(ROOT, 'cloudpay', 'client.ts');
  const users = [...graph].filter(([, deps]) => deps.some((d) => d.target === client)).map(([f]) => path.relative(ROOT, f));
  expect(users).toEqual([]);
});

test('no import circle in sandbox/', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (target === undefined || !graph.has(target)) continue;
      if (state.get(target) === 'visiting') cycles.push([...stack.slice(stack.indexOf(target)), target].map((f) => path.relative(ROOT, f)).join(' → '));
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  expect(cycles).toEqual([]);
});
