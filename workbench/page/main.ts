/** Points the workbench's two frames (and their open-in-a-tab links) at the app preview and the sandbox console. */

interface WorkbenchPageConfig {
  appUrl: string;
  consoleUrl: string;
}

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

async function boot(): Promise<void> {
  const res = await fetch('/workbench/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`/workbench/config.json: HTTP ${res.status}`);
  const config = (await res.json()) as WorkbenchPageConfig;
  element<HTMLIFrameElement>('app-frame').src = config.appUrl;
  element<HTMLIFrameElement>('console-frame').src = config.consoleUrl;
  element<HTMLAnchorElement>('app-open').href = config.appUrl;
  element<HTMLAnchorElement>('console-open').href = config.consoleUrl;
}

boot().catch((err: Error) => {
  const box = document.createElement('pre');
  box.className = 'wb-fatal';
  box.setAttribute('role', 'alert');
  box.textContent = `The workbench could not start: ${err.message}`;
  document.body.prepend(box);
});
