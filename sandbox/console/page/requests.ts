/** The API request log: every `/v3/*` and `/cloudpay/*` call the sandbox answered, newest first. */
import { call, LoggedRequest } from './api';
import { cell, code, esc, fillRows, pretty, time } from './format';

/** How many requests the panel keeps. */
const KEEP = 100;

export class RequestLogPanel {
  private entries: LoggedRequest[] = [];
  private lastSeq = 0;
  private shown = false;

  constructor(private readonly tbody: HTMLElement) {}

  /** Fetches what is new since the last poll; re-renders only when something is. */
  async poll(): Promise<void> {
    const { requests } = await call<{ requests: LoggedRequest[] }>('GET', `/sandbox/requests?since=${this.lastSeq}&last=${KEEP}`);
    if (requests.length === 0 && this.shown) return;
    this.entries = [...this.entries, ...requests].slice(-KEEP);
    this.lastSeq = this.entries[this.entries.length - 1]?.seq ?? this.lastSeq;
    this.render();
  }

  private render(): void {
    this.shown = true;
    const open = new Set([...this.tbody.querySelectorAll<HTMLDetailsElement>('details[open]')].map((d) => d.dataset.seq));
    fillRows(this.tbody, this.entries.slice().reverse().map((r) => {
      const outcome = r.status < 400 ? 'ok' : 'bad';
      return `<tr data-seq="${r.seq}">`
        + cell('time', time(r.at), 'muted')
        + cell('request', `${esc(r.method)} ${code(r.path)}`, 'no')
        + cell('status', `<span class="badge s-http-${outcome}">${r.status}</span>${r.code ? ` ${esc(r.code)}` : ''}${r.fault ? ` <span class="muted">[${esc(r.fault)}]</span>` : ''}`, 'state')
        + cell('took', `${r.durationMs} ms`, 'num')
        + cell('bodies', `<details data-seq="${r.seq}"${open.has(String(r.seq)) ? ' open' : ''}><summary class="muted">bodies</summary>`
          + `<pre>${esc(`→ ${r.method} ${r.url}\n\n${pretty(r.requestBody)}`)}</pre><pre>${esc(`← ${r.status}\n\n${pretty(r.responseBody)}`)}</pre></details>`)
        + '</tr>';
    }), 5, 'No API requests yet: the connector’s calls to the v3 API or to CloudPay show up here.');
  }
}
