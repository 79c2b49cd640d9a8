/**
 * Browser pages as real files (ui/bundle.ts): the console's and the workbench's browser code type-check against the
 * DOM with their own tsconfig; a bundle is built once, reused while its sources stand still, rebuilt when one of
 * them (an imported module included) changes, and a failed build is not kept. The bundler imports nothing of the
 * product, so the sandbox may use it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createUiBundle } from '../ui/bundle';
import { COMPILED_ROOT, REPO_ROOT } from './helpers/paths';

const tsc = (project: string) => promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], { cwd: REPO_ROOT });

test.each(['sandbox/console/page/tsconfig.json', 'workbench/page/tsconfig.json'])('the browser code type-checks against the DOM (%s)', async (project) => {
  await expect(tsc(project)).resolves.toBeDefined();
}, 60000);

test('ui/bundle.ts imports only Node and esbuild', () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'ui', 'bundle.ts'), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]!);
  expect(specs.length).toBeGreaterThan(0);
  expect(specs.filter((s) => !s.startsWith('node:') && s !== 'esbuild')).toEqual([]);
});

describe('createUiBundle', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-bundle-'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script src="/x.js"></script>');
    fs.writeFileSync(path.join(dir, 'page.css'), 'body { color: red; }\n');
    fs.writeFileSync(path.join(dir, 'greeting.ts'), "export const greeting: string = 'hello';\n");
    fs.writeFileSync(path.join(dir, 'main.ts'), "import { greeting } from './greeting';\ndocument.title = greeting;\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Rewrites a file with a later modification time (a file system may keep mtimes coarse). */
  const edit = (file: string, text: string): void => {
    const p = path.join(dir, file);
    const before = fs.statSync(p).mtimeMs;
    fs.writeFileSync(p, text);
    fs.utimesSync(p, new Date(), new Date(before + 2000));
  };

  test('bundles the script with its imports, the stylesheet and the page; rebuilds when an imported file changes', async () => {
    const bundle = createUiBundle({ dir, entry: 'main.ts', css: 'page.css', html: 'index.html' });
    const first = await bundle.assets();
    expect(first.js).toContain('"hello"');
    expect(first.css).toMatch(/color: red/);
    expect(first.html).toContain('<script src="/x.js">');
    expect(await bundle.assets()).toBe(first); // nothing changed: the same build

    edit('greeting.ts', "export const greeting: string = 'bonjour';\n");
    const second = await bundle.assets();
    expect(second).not.toBe(first);
    expect(second.js).toContain('"bonjour"');

    edit('index.html', '<!doctype html><title>new</title>');
    expect((await bundle.assets()).html).toContain('<title>new</title>');
  });

  test('a failed build is reported and not kept: fixing the file is enough', async () => {
    const bundle = createUiBundle({ dir, entry: 'main.ts', css: 'page.css', html: 'index.html' });
    await bundle.assets();
    edit('main.ts', 'this is not ( typescript');
    await expect(bundle.assets()).rejects.toThrow();
    edit('main.ts', "document.title = 'fixed';\n");
    expect((await bundle.assets()).js).toContain('"fixed"');
  });

  test('compiled to .build/ (as the CLI runs), pages are still read from their sources (`npm test` builds .build/ first)', async () => {
    const compiled = require(path.join(COMPILED_ROOT, 'sandbox', 'console', 'assets.js')) as typeof import('../sandbox/console/assets');
    const assets = await compiled.consoleAssets();
    expect(assets.html).toContain('/sandbox/console/assets/console.js');
    expect(assets.css).toContain('max-width: 700px');
  });

  test('a page folder is found relative to the checkout', async () => {
    const assets = await createUiBundle({ dir: 'sandbox/console/page', entry: 'main.ts', css: 'console.css', html: 'index.html' }).assets();
    expect(assets.html).toContain('/sandbox/console/assets/console.js');
    expect(assets.js.length).toBeGreaterThan(1000);
  });
});
