/**
 * Browser pages kept as real files (.ts type-checked against the DOM by the page's own tsconfig, .css, .html),
 * bundled by esbuild on first request, cached, and rebuilt when a file that went into the bundle changes. The app
 * preview (/app) and the sandbox console (/sandbox/console) are served this way. Imports nothing of the product.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface UiBundleOptions {
  /** The page's folder, relative to the checkout root (e.g. `sandbox/console/page`), or absolute. */
  dir: string;
  /** The script entry in `dir` (bundled with what it imports into one IIFE). */
  entry: string;
  /** The stylesheet in `dir` (bundled with what it @imports). */
  css: string;
  /** The page in `dir`, served as is: it links the script and the stylesheet by the URLs its server gives them. */
  html: string;
}

export interface UiAssets {
  js: string;
  css: string;
  html: string;
}

export interface UiBundle {
  /** The bundled page; built on first call, then reused until one of its source files changes. */
  assets(): Promise<UiAssets>;
}

export function createUiBundle(opts: UiBundleOptions): UiBundle {
  let cached: { inputs: string[]; stamp: string; assets: Promise<UiAssets> } | undefined;
  let building: Promise<UiAssets> | undefined;
  return {
    assets() {
      if (cached && stampOf(cached.inputs) === cached.stamp) return cached.assets;
      building ??= build(opts).then(
        ({ assets, inputs }) => {
          // A failed build is not cached: the next request tries again (after the file is fixed).
          cached = { inputs, stamp: stampOf(inputs), assets: Promise.resolve(assets) };
          building = undefined;
          return assets;
        },
        (err: unknown) => {
          building = undefined;
          throw err;
        },
      );
      return building;
    },
  };
}

async function build(opts: UiBundleOptions): Promise<{ assets: UiAssets; inputs: string[] }> {
  const dir = sourceDir(opts.dir, opts.entry);
  const { build: esbuild } = await import('esbuild'); // only a server that serves a page loads the bundler
  const result = await esbuild({
    entryPoints: [path.join(dir, opts.entry), path.join(dir, opts.css)],
    bundle: true,
    write: false,
    metafile: true,
    absWorkingDir: dir,
    outdir: path.join(dir, '.ui-out'), // not written: outputs stay in memory
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    charset: 'utf8',
    logLevel: 'silent',
  });
  const out = (ext: string): string => {
    const file = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`esbuild produced no ${ext} file for ${opts.dir}`);
    return file.text;
  };
  const htmlFile = path.join(dir, opts.html);
  const inputs = [...Object.keys(result.metafile.inputs).map((f) => path.resolve(dir, f)), htmlFile];
  return { assets: { js: out('.js'), css: out('.css'), html: fs.readFileSync(htmlFile, 'utf8') }, inputs };
}

/** Modification times of the files that went into a bundle: when one changes, the bundle is stale. */
function stampOf(files: readonly string[]): string {
  return files.map((f) => `${f}:${fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 'gone'}`).join('|');
}

/**
 * `dir` in the checkout, whether this module runs from sources (`<root>/ui/`) or compiled (`<root>/.build/ui/`):
 * the page's sources are never compiled to .build/, they are read where they are.
 */
function sourceDir(dir: string, entry: string): string {
  if (path.isAbsolute(dir)) return dir;
  for (const root of [path.join(__dirname, '..'), path.join(__dirname, '..', '..')]) {
    const candidate = path.join(root, dir);
    if (fs.existsSync(path.join(candidate, entry))) return candidate;
  }
  throw new Error(`${path.join(dir, entry)} not found in the checkout above ${__dirname}`);
}
