/**
 * The sandbox console (GET /sandbox/console): drives the sandbox only through the same `/sandbox/*` control
 * endpoints a test or `weda-wxpay trigger` uses — pay / fail / cancel orders, refund paid ones, settle refunds,
 * inspect and resend notifications, read the API request log, download trade bills, queue faults, move the clock.
 * It polls every two seconds and redraws a table only when its data changed.
 */
import { call, Fault, Notification, Refund, Settings, Transaction } from './api';
import { BillPanel } from './bills';
import { faultSpec, renderFaults } from './faults';
import { byId, clockText } from './format';
import { renderNotifications, watchDetails } from './notifications';
import { RequestLogPanel } from './requests';
import { renderRefunds } from './refunds';
import { renderAppLink, renderProvider, renderStart } from './start';
import { renderTransactions } from './transactions';

const POLL_MS = 2000;

const tables = {
  transactions: byId('transactions').querySelector('tbody')!,
  refunds: byId('refunds').querySelector('tbody')!,
  notifications: byId('notifications').querySelector('tbody')!,
  faults: byId('faults').querySelector('tbody')!,
};

function banner(text: string, ok: boolean): void {
  const b = byId('banner');
  b.textContent = text;
  b.className = ok ? 'ok' : '';
  b.hidden = text === '';
}

const bills = new BillPanel(banner);
const requests = new RequestLogPanel(byId('requests').querySelector('tbody')!);

/** The JSON each part was last drawn from: an unchanged poll redraws nothing (no flicker, no lost input). */
const drawn = new Map<string, string>();
function changed(part: string, data: unknown): boolean {
  const json = JSON.stringify(data);
  if (drawn.get(part) === json) return false;
  drawn.set(part, json);
  return true;
}

/** Keeps what the user chose in a row's controls (failure kind, an edited refund amount) across a redraw. */
function redrawKeepingInputs(tbody: HTMLElement, draw: () => void): void {
  const kept = [...tbody.querySelectorAll<HTMLInputElement | HTMLSelectElement>('select[data-fail-kind], input[data-refund-amount][data-edited]')]
    .map((el) => ({ selector: el.matches('select') ? `select[data-fail-kind="${CSS.escape(el.dataset.failKind!)}"]` : `input[data-refund-amount="${CSS.escape(el.dataset.refundAmount!)}"]`, value: el.value, edited: el.dataset.edited }));
  draw();
  for (const k of kept) {
    const el = tbody.querySelector<HTMLInputElement | HTMLSelectElement>(k.selector);
    if (!el) continue;
    el.value = k.value;
    if (k.edited) el.dataset.edited = k.edited;
  }
}

let refreshing = false;
async function refresh(): Promise<void> {
  if (refreshing) return;
  refreshing = true;
  try {
    const [t, r, n, f, s] = await Promise.all([
      call<{ transactions: Transaction[] }>('GET', '/sandbox/transactions'),
      call<{ refunds: Refund[] }>('GET', '/sandbox/refunds'),
      call<{ now: string; notifications: Notification[] }>('GET', '/sandbox/notifications'),
      call<{ faults: Fault[] }>('GET', '/sandbox/faults'),
      call<Settings>('GET', '/sandbox/settings'),
      requests.poll(),
    ]);
    byId('now').textContent = clockText(n.now);
    bills.clock(n.now);
    if (changed('settings', s)) {
      renderProvider(byId('provider'), s);
      renderAppLink(byId<HTMLAnchorElement>('app-link'), s);
    }
    if (changed('start', [s, t.transactions.length > 0])) renderStart(byId('start'), s, t.transactions.length > 0);
    // Don't pull a dropdown or a half-typed amount away from under the user.
    const busy = document.activeElement?.matches('#transactions select, #transactions input') ?? false;
    if (!busy && changed('transactions', [t.transactions, r.refunds])) {
      redrawKeepingInputs(tables.transactions, () => renderTransactions(tables.transactions, t.transactions, r.refunds));
    }
    if (changed('refunds', r.refunds)) renderRefunds(tables.refunds, r.refunds);
    if (changed('notifications', n.notifications)) renderNotifications(tables.notifications, n.notifications);
    if (changed('faults', f.faults)) renderFaults(tables.faults, f.faults);
  } catch (err) {
    banner(`Refresh failed — ${(err as Error).message}`, false);
  } finally {
    refreshing = false;
  }
}

/** One control call from a button: says how it went in the banner, then redraws. */
async function act(what: string, method: string, url: string, body?: unknown): Promise<void> {
  try {
    await call(method, url, body);
    banner(`${what} ✓`, true);
  } catch (err) {
    banner(`${what} failed — ${(err as Error).message}`, false);
  }
  await refresh();
}

function advance(seconds: number): void {
  if (Number.isFinite(seconds) && seconds >= 0) void act(`Advance ${seconds} s`, 'POST', '/sandbox/clock/advance', { seconds });
}

document.addEventListener('click', (e) => {
  const b = (e.target as Element | null)?.closest('button');
  if (!b) return;
  const d = b.dataset;
  const no = d.no ? encodeURIComponent(d.no) : '';
  if (d.advance) advance(Number(d.advance));
  else if (d.action === 'pay') void act(`Pay ${d.no}`, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
  else if (d.action === 'fail') {
    const kind = document.querySelector<HTMLSelectElement>(`select[data-fail-kind="${CSS.escape(d.no!)}"]`)!.value;
    void act(`${kind} ${d.no}`, 'POST', `/sandbox/transactions/${no}/pay`, { result: kind });
  } else if (d.action === 'cancel') void act(`Cancel ${d.no}`, 'POST', `/sandbox/transactions/${no}/cancel`);
  else if (d.action === 'refund') {
    const input = document.querySelector<HTMLInputElement>(`input[data-refund-amount="${CSS.escape(d.no!)}"]`)!;
    const fen = Math.round(Number(input.value) * 100);
    void act(`Refund ¥${(fen / 100).toFixed(2)} of ${d.no}`, 'POST', '/sandbox/refunds', { out_trade_no: d.no, amount: fen });
  } else if (d.action === 'settle') void act(`Settle ${d.no} ${d.status}`, 'POST', `/sandbox/refunds/${no}/settle`, { status: d.status });
  else if (d.action === 'resend') void act('Resend', 'POST', `/sandbox/notifications/${encodeURIComponent(d.id!)}/resend`);
  else if (d.copy !== undefined) {
    void navigator.clipboard?.writeText(d.copy).then(() => banner('Copied', true), () => banner('Copy failed: select the text instead', false));
  } else if (b.id === 'faults-clear') void act('Clear faults', 'DELETE', '/sandbox/faults');
});

// An edited refund amount survives redraws until the order changes under it.
tables.transactions.addEventListener('input', (e) => {
  const el = e.target as HTMLElement;
  if (el.matches('input[data-refund-amount]')) el.dataset.edited = '1';
});

byId<HTMLFormElement>('clock').addEventListener('submit', (e) => {
  e.preventDefault();
  advance(Number(byId<HTMLInputElement>('advance-seconds').value));
});

byId<HTMLFormElement>('fault-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const spec = faultSpec(e.target as HTMLFormElement);
  void act(`Queue ${String(spec.kind)}`, 'POST', '/sandbox/faults', spec);
});

watchDetails(tables.notifications);
void refresh();
setInterval(() => void refresh(), POLL_MS);
