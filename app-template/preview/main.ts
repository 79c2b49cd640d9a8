/** Boots the preview: reads the page config and the CALS app from the server, then runs the app. */
import { PreviewRuntime, PreviewConfig } from './runtime';

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function boot(): Promise<void> {
  const root = document.getElementById('preview-root');
  if (!root) throw new Error('#preview-root is missing from index.html');
  try {
    const [config, app] = await Promise.all([getJson<PreviewConfig>('/app/config.json'), getJson<unknown>('/app/app.json')]);
    new PreviewRuntime(app, config, root).start();
  } catch (err) {
    root.textContent = '';
    const box = document.createElement('pre');
    box.className = 'preview-fatal';
    box.setAttribute('role', 'alert');
    box.textContent = `预览无法启动：${(err as Error).stack ?? String(err)}`;
    root.append(box);
  }
}

void boot();
