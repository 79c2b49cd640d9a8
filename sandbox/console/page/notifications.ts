/**
 * The notification log: v3 notifications and CloudPay callbacks, one shape. A row's details show every attempt —
 * what was sent (for v3 the signed headers and the encrypted envelope) and what came back — beside the plaintext:
 * the resource the receiver decrypts, or the event CloudPay invokes the function with.
 */
import { call, Notification } from './api';
import { badge, cell, code, esc, fillRows, pretty, time } from './format';

/** Ids whose details the user opened: they stay open across refreshes. */
const opened = new Set<string>();
/** Rendered details by id, with the state they show (`status|attempts`), so a refresh does not refetch them. */
const rendered = new Map<string, { key: string; html: string }>();

const stateKey = (n: Pick<Notification, 'status' | 'attempts'>): string => `${n.status}|${n.attempts.length}`;

function attemptChips(n: Notification): string {
  const chips = n.attempts.map((a) => {
    const title = `${time(a.at)}${a.error ? ` · ${esc(a.error)}` : ''}`;
    return `<span class="attempt ${a.acked ? 'ok' : 'fail'}" title="${title}">#${a.attempt} ${esc(a.statusCode ?? 'no answer')}${a.fault ? ` [${esc(a.fault)}]` : ''} ${a.latencyMs}ms</span>`;
  }).join('');
  return chips || `<span class="muted">${n.held ? 'held (REORDER)' : 'none yet'}</span>`;
}

export function renderNotifications(tbody: HTMLElement, list: readonly Notification[]): void {
  fillRows(tbody, list.slice().reverse().map((n) => {
    const id = esc(n.id);
    const open = opened.has(n.id) ? ' open' : '';
    return `<tr data-notification-id="${id}">`
      + cell('event', `${esc(n.event_type)}${n.fault ? ` <span class="muted">[${esc(n.fault)}]</span>` : ''}<div class="muted">${n.kind === 'v3' ? 'v3 · http' : 'CloudPay · cloud function'}</div>`)
      + cell('order / refund', code(n.out_refund_no ?? n.out_trade_no), 'no')
      + cell('url', code(n.url), 'url')
      + cell('status', `${badge(n.status)}${n.nextRetryAt ? `<div class="muted">retry ${time(n.nextRetryAt)}</div>` : ''}`
        + `<div class="actions"><button data-action="resend" data-id="${id}" title="deliver it again now">Resend</button></div>`, 'state')
      + cell('attempts', `${attemptChips(n)}<details data-details="${id}" data-key="${esc(stateKey(n))}"${open}><summary class="muted">details</summary><div class="detail-body">…</div></details>`, 'attempts')
      + '</tr>';
  }), 5, 'No notifications yet: they go out when an order is paid or a refund settles.');
}

function headerLines(headers: Record<string, string> | null | undefined): string {
  return Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

function detailHtml(n: Notification): string {
  const sent = n.attempts.map((a) => {
    const req = a.request;
    const res = a.response;
    const answer = a.statusCode ?? a.error ?? 'no answer';
    return `<h4>Attempt ${a.attempt} · ${time(a.at)} · ${esc(answer)} · ${a.latencyMs} ms${a.fault ? ` · fault ${esc(a.fault)}` : ''}</h4>`
      + `<pre class="sent">${esc(`→ POST ${a.url ?? '(nowhere: no such function)'}\n${headerLines(req?.headers)}\n\n${pretty(req?.body)}`)}</pre>`
      + `<pre class="answer">${esc(`← ${res?.statusCode ?? a.error ?? 'no answer'}\n${headerLines(res?.headers)}\n\n${res?.body ?? ''}`)}</pre>`;
  }).join('') || '<p class="muted">No attempt yet.</p>';
  const label = n.kind === 'v3'
    ? 'Decrypted <code>resource</code> — what the receiver reads after AES-256-GCM decryption'
    : 'The event — what CloudPay invokes the callback function with';
  return `<div class="detail-grid"><div class="detail-sent">${sent}</div>`
    + `<div class="detail-plain"><h4>${label}</h4><pre class="plaintext">${esc(JSON.stringify(n.plaintext, null, 2))}</pre></div></div>`;
}

/** Fills an opened row's details: from what was rendered before, refetched when the notification moved on. */
async function loadDetails(d: HTMLDetailsElement): Promise<void> {
  const id = d.dataset.details!;
  const body = d.querySelector<HTMLElement>('.detail-body')!;
  const known = rendered.get(id);
  if (known) body.innerHTML = known.html;
  if (known && known.key === d.dataset.key) return;
  try {
    const n = await call<Notification>('GET', `/sandbox/notifications/${encodeURIComponent(id)}`);
    const html = detailHtml(n);
    rendered.set(id, { key: stateKey(n), html });
    // A refresh may have replaced the row meanwhile: fill the one on the page now.
    const current = document.querySelector<HTMLDetailsElement>(`details[data-details="${CSS.escape(id)}"]`);
    const target = current?.querySelector<HTMLElement>('.detail-body');
    if (target) target.innerHTML = html;
  } catch (err) {
    body.textContent = (err as Error).message;
  }
}

/** Opening a row's details loads them; the `toggle` event also fires for rows re-rendered open. */
export function watchDetails(root: HTMLElement): void {
  root.addEventListener('toggle', (e) => {
    const d = e.target;
    if (!(d instanceof HTMLDetailsElement) || !d.dataset.details) return;
    if (d.open) {
      opened.add(d.dataset.details);
      void loadDetails(d);
    } else opened.delete(d.dataset.details);
  }, true);
}
