import { createUiBundle, UiAssets } from '../../ui/bundle';

/** Where the console is served; its page links `${CONSOLE_PATH}/assets/console.js|.css`. */
export const CONSOLE_PATH = '/sandbox/console';

/** The console's browser code: sandbox/console/page/ (real .ts/.css/.html, type-checked by its own tsconfig). */
const bundle = createUiBundle({ dir: 'sandbox/console/page', entry: 'main.ts', css: 'console.css', html: 'index.html' });

/** The console page, bundled on first request and reused until a source file changes (ui/bundle.ts). */
export function consoleAssets(): Promise<UiAssets> {
  return bundle.assets();
}
