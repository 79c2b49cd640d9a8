/**
 * ARCHITECTURE.md's table, checked: which top-level folder may import which, and no import circle anywhere in the
 * product. Reads the sources as text (static `import … from`, `export … from`, `import(…)`, `require(…)`).
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');

/** ARCHITECTURE.md "may import" (the folder itself is always allowed). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  wxpay: [],
  schemas: ['wxpay'],
  config: ['schemas', 'wxpay'],
  datasources: ['config', 'schemas', 'wxpay'],
  connector: ['datasources', 'config', 'schemas', 'wxpay'],
  reconcile: ['connector', 'datasources', 'config', 'schemas', 'wxpay'],
  callbacks: ['reconcile', 'connector', 'datasources', 'config', 'schemas', 'wxpay'],
  sandbox: ['wxpay', 'ui'],
  'app-template': ['ui'],
  ui: [],
  workbench: ['ui'],
};
const PRODUCT = [...Object.keys(MAY_IMPORT), 'scripts'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name)) out.push(p);
  }
  return out;
}

const SPECIFIER = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** Relative imports of a file, resolved to the .ts file they name (JSON and other assets left out). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4]!;
    if (!spec.startsWith('.')) continue;
    const base = path.resolve(path.dirname(file), spec);
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((p) => fs.existsSync(p));
    if (target) out.push(target);
  }
  return out;
}

const topFolder = (file: string) => path.relative(root, file).split(path.sep)[0]!;
const files = PRODUCT.flatMap((d) => sourceFiles(path.join(root, d)));
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the folders are the layers (ARCHITECTURE.md)', () => {
  test('every import goes the way the table allows', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = topFolder(file);
      const allowed = MAY_IMPORT[from];
      if (!allowed) continue; // scripts/ may import everything
      for (const t of targets) {
        const to = topFolder(t);
        if (to !== from && !allowed.includes(to)) wrong.push(`${path.relative(root, file)} → ${path.relative(root, t)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('no import circle in the product', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 'open') circles.push(stack.slice(stack.indexOf(t)).concat(t).map((p) => path.relative(root, p)).join(' → '));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(circles).toEqual([]);
  });

  test('the checker sees imports (it would catch a wrong one)', () => {
    const connectorImports = [...graph].filter(([f]) => topFolder(f) === 'connector').flatMap(([, t]) => t.map(topFolder));
    expect(connectorImports).toEqual(expect.arrayContaining(['wxpay', 'schemas']));
    expect(graph.size).toBeGreaterThan(100);
  });
});
