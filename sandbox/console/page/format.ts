/** Small helpers for building the console's HTML: everything from the sandbox goes through `esc`. */

export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Fen → "12.34". */
export const yuan = (fen: number): string => (fen / 100).toFixed(2);

/** An RFC 3339 time on the sandbox clock (China time) → "2024-05-01 12:00:00". */
export const clockText = (t: string | null | undefined): string => (t ? t.replace('T', ' ').replace('+08:00', '') : '');

/** {@link clockText}, escaped for HTML. */
export const time = (t: string | null | undefined): string => esc(clockText(t));

/** A state name as a coloured pill (the colour comes from `.s-<STATE>` in console.css). */
export const badge = (s: string): string => `<span class="badge s-${esc(s)}">${esc(s)}</span>`;

export const code = (s: unknown): string => `<code>${esc(s)}</code>`;

/** A table cell; `label` names it where the table collapses into cards (phone width, console.css). */
export function cell(label: string, html: string, cls = ''): string {
  return `<td data-label="${esc(label)}"${cls ? ` class="${cls}"` : ''}>${html}</td>`;
}

/** Fills a table body, or shows one muted row saying why it is empty. */
export function fillRows(tbody: HTMLElement, rows: string[], cols: number, emptyHtml: string): void {
  tbody.innerHTML = rows.length ? rows.join('') : `<tr class="empty"><td colspan="${cols}">${emptyHtml}</td></tr>`;
}

/** Pretty JSON when the text is JSON, else the text. */
export function pretty(text: string | null | undefined): string {
  if (!text) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Looks up an element the page must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/** The China date of an RFC 3339 time, moved by `days` ("2024-05-01"). */
export function chinaDate(rfc3339: string, days = 0): string {
  const ms = Date.parse(rfc3339) + 8 * 3600_000 + days * 86_400_000;
  return new Date(ms).toISOString().slice(0, 10);
}
