/**
 * The console page (`GET /sandbox/console`): plain HTML + JS, no build step. It drives the sandbox only through the
 * same `/sandbox/*` control endpoints a test or `weda-wxpay trigger` uses: pay / fail / cancel orders, settle
 * refunds, inspect and resend notifications (with every attempt's request and answer), queue faults, move the clock.
 */
export function consolePage(): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat Pay sandbox console</title>
<style>
  :root { --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --muted:#57606a; --line:#d0d7de; --bg:#f6f8fa; --accent:#07c160; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #1f2328; }
  header { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 24px; display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; position: sticky; top: 0; z-index: 2; }
  header h1 { font-size: 18px; margin: 0; }
  header h1 span { color: var(--accent); }
  main { padding: 8px 24px 48px; max-width: 1400px; }
  section { margin-top: 20px; }
  h2 { font-size: 16px; margin: 0 0 8px; display: flex; align-items: baseline; gap: 8px; }
  h2 small { color: var(--muted); font-weight: normal; font-size: 12px; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
  th { background: var(--bg); font-weight: 600; font-size: 12px; color: var(--muted); }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  .empty td { color: var(--muted); text-align: center; padding: 14px; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: var(--bg); border: 1px solid var(--line); }
  .s-SUCCESS, .s-delivered { color: var(--ok); border-color: var(--ok); }
  .s-NOTPAY, .s-PROCESSING, .s-pending { color: var(--warn); border-color: var(--warn); }
  .s-CLOSED, .s-PAYERROR, .s-ABNORMAL, .s-failed { color: var(--bad); border-color: var(--bad); }
  .s-REFUND { color: #8250df; border-color: #8250df; }
  button { font: inherit; font-size: 13px; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
  button:hover { background: var(--bg); }
  button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
  button.danger { color: var(--bad); }
  select, input { font: inherit; font-size: 13px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 6px; }
  .actions { white-space: nowrap; display: flex; gap: 4px; flex-wrap: wrap; }
  .muted { color: var(--muted); font-size: 12px; }
  .attempt { display: inline-block; margin: 0 4px 2px 0; padding: 0 6px; border-radius: 4px; font-size: 12px; background: var(--bg); }
  .attempt.ok { color: var(--ok); } .attempt.fail { color: var(--bad); }
  details pre { white-space: pre-wrap; word-break: break-all; background: var(--bg); padding: 8px; border-radius: 6px; max-height: 320px; overflow: auto; font-size: 12px; margin: 4px 0; }
  #banner { display: none; margin: 12px 24px 0; padding: 8px 12px; border-radius: 6px; border: 1px solid var(--bad); color: var(--bad); background: #fff5f5; }
  #banner.ok { border-color: var(--ok); color: var(--ok); background: #f0fff4; }
  form.inline { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; margin-bottom: 8px; }
</style>
</head><body>
<header>
  <h1><span>●</span> WeChat Pay v3 sandbox</h1>
  <div>Sandbox time <b id="now">…</b></div>
  <div class="actions" id="clock">
    <button data-advance="15">+15 s</button><button data-advance="60">+1 min</button><button data-advance="300">+5 min</button>
    <button data-advance="3600">+1 h</button><button data-advance="86400">+1 day</button>
    <input id="advance-seconds" type="number" min="0" step="1" placeholder="seconds" style="width:90px"><button id="advance-go">Advance</button>
  </div>
</header>
<div id="banner" role="status"></div>
<main>
  <section>
    <h2>Transactions <small>pay as the user would, or fail / cancel</small></h2>
    <table id="transactions"><thead><tr><th>out_trade_no</th><th>description</th><th>amount</th><th>trade_state</th><th>expires</th><th>last attempt</th><th>actions</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Refunds <small>settle as WeChat's back office would</small></h2>
    <table id="refunds"><thead><tr><th>out_refund_no</th><th>out_trade_no</th><th>refund / total</th><th>status</th><th>created</th><th>auto-settles</th><th>actions</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Notifications <small>every attempt, its answer and latency; click a row's details for what was sent</small></h2>
    <table id="notifications"><thead><tr><th>event</th><th>order / refund</th><th>url</th><th>status</th><th>attempts</th><th>next retry</th><th>actions</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Faults <small>queued, consumed one by one</small></h2>
    <form class="inline" id="fault-form">
      <select name="kind">
        <option>SYSTEM_ERROR</option><option>FREQUENCY_LIMITED</option><option>NOT_ENOUGH</option><option>LATENCY</option>
        <option>DROP</option><option>DELAY</option><option>DUPLICATE</option><option>REORDER</option><option>PROBE</option>
      </select>
      <input name="path" placeholder="path prefix (/v3/…)" style="width:220px">
      <input name="count" type="number" min="1" value="1" style="width:70px" title="count">
      <input name="ms" type="number" min="0" placeholder="ms (LATENCY)" style="width:110px">
      <input name="seconds" type="number" min="0" placeholder="seconds (DELAY)" style="width:120px">
      <input name="event_type" placeholder="event_type prefix" style="width:150px">
      <button type="submit">Queue fault</button><button type="button" id="faults-clear" class="danger">Clear all</button>
    </form>
    <table id="faults"><thead><tr><th>#</th><th>kind</th><th>applies to</th><th>remaining</th><th>queued</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script>
'use strict';
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const yuan = (fen) => (fen / 100).toFixed(2);
const time = (t) => (t ? esc(String(t).replace('T', ' ').replace('+08:00', '')) : '');
const badge = (s) => '<span class="badge s-' + esc(s) + '">' + esc(s) + '</span>';
const openDetails = new Set();

function banner(text, ok) {
  const b = document.getElementById('banner');
  b.textContent = text;
  b.className = ok ? 'ok' : '';
  b.style.display = text ? 'block' : 'none';
}

async function call(method, url, body) {
  const res = await fetch(url, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((json.code ? json.code + ': ' : '') + (json.message || res.status));
  return json;
}

async function act(what, method, url, body) {
  try {
    await call(method, url, body);
    banner(what + ' ✓', true);
  } catch (err) {
    banner(what + ' failed — ' + err.message, false);
  }
  await refresh();
}

function rows(tbody, html, cols, emptyText) {
  tbody.innerHTML = html || '<tr class="empty"><td colspan="' + cols + '">' + esc(emptyText) + '</td></tr>';
}

function renderTransactions(list) {
  rows(document.querySelector('#transactions tbody'), list.map((t) => {
    const no = esc(t.out_trade_no);
    const last = t._sandbox && t._sandbox.last_pay_attempt;
    const actions = t.trade_state === 'NOTPAY'
      ? '<button class="primary" data-action="pay" data-no="' + no + '">Pay</button>'
        + '<select data-fail-kind="' + no + '"><option>NOT_ENOUGH</option><option>PAYERROR</option><option>USER_CANCEL</option></select>'
        + '<button data-action="fail" data-no="' + no + '">Fail</button>'
        + '<button data-action="cancel" data-no="' + no + '">Cancel</button>'
      : '';
    return '<tr data-out-trade-no="' + no + '"><td><code>' + no + '</code>' + (t.transaction_id ? '<div class="muted"><code>' + esc(t.transaction_id) + '</code></div>' : '') + '</td>'
      + '<td>' + esc(t._sandbox && t._sandbox.description) + '</td>'
      + '<td class="num">¥' + yuan(t.amount.total) + '</td>'
      + '<td class="state">' + badge(t.trade_state) + '</td>'
      + '<td class="muted">' + time(t._sandbox && t._sandbox.expires_at) + '</td>'
      + '<td class="muted last-attempt">' + (last ? esc(last.result) + ' · ' + time(last.at) : '') + '</td>'
      + '<td><div class="actions">' + actions + '</div></td></tr>';
  }).join(''), 7, 'No orders yet: place one with POST /v3/pay/transactions/jsapi');
}

function renderRefunds(list) {
  rows(document.querySelector('#refunds tbody'), list.map((r) => {
    const no = esc(r.out_refund_no);
    const actions = r.status === 'PROCESSING'
      ? ['SUCCESS', 'CLOSED', 'ABNORMAL'].map((s) => '<button ' + (s === 'SUCCESS' ? 'class="primary" ' : '') + 'data-action="settle" data-status="' + s + '" data-no="' + no + '">Settle ' + s + '</button>').join('')
      : '';
    return '<tr data-out-refund-no="' + no + '"><td><code>' + no + '</code><div class="muted"><code>' + esc(r.refund_id) + '</code></div></td>'
      + '<td><code>' + esc(r.out_trade_no) + '</code></td>'
      + '<td class="num">¥' + yuan(r.amount.refund) + ' / ¥' + yuan(r.amount.total) + '</td>'
      + '<td class="state">' + badge(r.status) + '</td>'
      + '<td class="muted">' + time(r.create_time) + '</td>'
      + '<td class="muted">' + (r.status === 'PROCESSING' ? (time(r._sandbox && r._sandbox.settle_at) || 'manual only') : '') + '</td>'
      + '<td><div class="actions">' + actions + '</div></td></tr>';
  }).join(''), 7, 'No refunds yet: create one with POST /v3/refund/domestic/refunds');
}

function renderNotifications(list) {
  const tbody = document.querySelector('#notifications tbody');
  rows(tbody, list.slice().reverse().map((n) => {
    const id = esc(n.id);
    const attempts = n.attempts.map((a) => {
      const ok = a.acked;
      return '<span class="attempt ' + (ok ? 'ok' : 'fail') + '" title="' + esc(time(a.at) + (a.error ? ' · ' + a.error : '')) + '">#' + a.attempt + ' ' + esc(a.statusCode ?? 'no answer') + (a.fault ? ' [' + esc(a.fault) + ']' : '') + ' ' + a.latencyMs + 'ms</span>';
    }).join('') || '<span class="muted">' + (n.held ? 'held (REORDER)' : 'none yet') + '</span>';
    return '<tr data-notification-id="' + id + '"><td>' + esc(n.event_type) + (n.fault ? ' <span class="muted">[' + esc(n.fault) + ']</span>' : '') + '</td>'
      + '<td><code>' + esc(n.out_refund_no || n.out_trade_no) + '</code></td>'
      + '<td class="muted"><code>' + esc(n.url) + '</code></td>'
      + '<td class="state">' + badge(n.status) + '</td>'
      + '<td>' + attempts + '<details data-details="' + id + '"' + (openDetails.has(n.id) ? ' open' : '') + '><summary class="muted">details</summary><div class="detail-body">…</div></details></td>'
      + '<td class="muted">' + time(n.nextRetryAt) + '</td>'
      + '<td><div class="actions"><button data-action="resend" data-id="' + id + '">Resend</button></div></td></tr>';
  }).join(''), 7, 'No notifications yet');
  for (const d of tbody.querySelectorAll('details[open]')) loadDetails(d);
}

async function loadDetails(d) {
  const id = d.dataset.details;
  try {
    const n = await call('GET', '/sandbox/notifications/' + encodeURIComponent(id));
    d.querySelector('.detail-body').innerHTML = n.attempts.map((a) => '<div><b>attempt ' + a.attempt + '</b> · ' + time(a.at) + ' · ' + esc(a.statusCode ?? a.error) + ' · ' + a.latencyMs + ' ms' + (a.fault ? ' · fault ' + esc(a.fault) : '') + '</div>'
      + '<pre>' + esc('→ ' + JSON.stringify(a.request.headers, null, 1) + '\\n' + a.request.body) + '</pre>'
      + '<pre>' + esc('← ' + (a.response.statusCode ?? a.error) + ' ' + JSON.stringify(a.response.headers) + '\\n' + (a.response.body ?? '')) + '</pre>').join('') || '<span class="muted">no attempt yet</span>';
  } catch (err) {
    d.querySelector('.detail-body').textContent = err.message;
  }
}

function renderFaults(list) {
  rows(document.querySelector('#faults tbody'), list.map((f) => '<tr><td>' + f.id + '</td><td>' + esc(f.kind) + (f.ms != null ? ' ' + f.ms + ' ms' : '') + (f.seconds != null ? ' ' + f.seconds + ' s' : '') + '</td>'
    + '<td><code>' + esc(f.target === 'http' ? (f.method ? f.method + ' ' : '') + f.path + '…' : 'notifications' + (f.event_type ? ' ' + f.event_type + '…' : '')) + '</code></td>'
    + '<td class="num">' + f.remaining + '</td><td class="muted">' + time(f.created_at) + '</td></tr>').join(''), 5, 'No pending faults');
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [t, r, n, f] = await Promise.all([call('GET', '/sandbox/transactions'), call('GET', '/sandbox/refunds'), call('GET', '/sandbox/notifications'), call('GET', '/sandbox/faults')]);
    document.getElementById('now').textContent = time(n.now);
    // Keep a half-chosen failure kind across refreshes.
    const chosen = {};
    for (const s of document.querySelectorAll('select[data-fail-kind]')) chosen[s.dataset.failKind] = s.value;
    // Don't pull a dropdown away from under the user's pointer.
    const picking = document.activeElement && document.activeElement.matches('#transactions select');
    if (!picking) renderTransactions(t.transactions);
    for (const s of document.querySelectorAll('select[data-fail-kind]')) if (chosen[s.dataset.failKind]) s.value = chosen[s.dataset.failKind];
    renderRefunds(r.refunds);
    renderNotifications(n.notifications);
    renderFaults(f.faults);
  } catch (err) {
    banner('Refresh failed — ' + err.message, false);
  } finally {
    refreshing = false;
  }
}

document.addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  const no = b.dataset.no ? encodeURIComponent(b.dataset.no) : '';
  if (b.dataset.advance) act('Advance ' + b.dataset.advance + ' s', 'POST', '/sandbox/clock/advance', { seconds: Number(b.dataset.advance) });
  else if (b.id === 'advance-go') {
    const s = Number(document.getElementById('advance-seconds').value);
    if (Number.isFinite(s) && s >= 0) act('Advance ' + s + ' s', 'POST', '/sandbox/clock/advance', { seconds: s });
  } else if (b.dataset.action === 'pay') act('Pay ' + b.dataset.no, 'POST', '/sandbox/transactions/' + no + '/pay', { result: 'SUCCESS' });
  else if (b.dataset.action === 'fail') {
    const kind = document.querySelector('select[data-fail-kind="' + CSS.escape(b.dataset.no) + '"]').value;
    act(kind + ' ' + b.dataset.no, 'POST', '/sandbox/transactions/' + no + '/pay', { result: kind });
  } else if (b.dataset.action === 'cancel') act('Cancel ' + b.dataset.no, 'POST', '/sandbox/transactions/' + no + '/cancel');
  else if (b.dataset.action === 'settle') act('Settle ' + b.dataset.no + ' ' + b.dataset.status, 'POST', '/sandbox/refunds/' + no + '/settle', { status: b.dataset.status });
  else if (b.dataset.action === 'resend') act('Resend', 'POST', '/sandbox/notifications/' + encodeURIComponent(b.dataset.id) + '/resend');
  else if (b.id === 'faults-clear') act('Clear faults', 'DELETE', '/sandbox/faults');
});

document.addEventListener('toggle', (e) => {
  const d = e.target;
  if (!(d instanceof HTMLDetailsElement) || !d.dataset.details) return;
  if (d.open) { openDetails.add(d.dataset.details); loadDetails(d); } else openDetails.delete(d.dataset.details);
}, true);

document.getElementById('fault-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const spec = { kind: form.get('kind'), count: Number(form.get('count') || 1) };
  for (const k of ['path', 'event_type']) if (form.get(k)) spec[k] = form.get(k);
  for (const k of ['ms', 'seconds']) if (form.get(k) !== '') spec[k] = Number(form.get(k));
  act('Queue ' + spec.kind, 'POST', '/sandbox/faults', spec);
});

refresh();
setInterval(refresh, 2000);
</script></body></html>
`;
}
