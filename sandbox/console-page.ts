/**
 * The console page (placeholder for issue 4's full console): lists orders and deliveries and can pay an order
 * or advance the clock, all through the same `/sandbox/*` control endpoints a test would use.
 */
export function consolePage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WeChat Pay sandbox</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}code{font-size:12px}</style>
</head><body>
<h1>WeChat Pay v3 sandbox</h1>
<p>Sandbox time: <b id="now">…</b> <button onclick="advance(15)">+15 s</button> <button onclick="advance(3600)">+1 h</button></p>
<h2>Orders</h2><table id="orders"><tr><th>out_trade_no</th><th>state</th><th>total (fen)</th><th></th></tr></table>
<h2>Notifications</h2><table id="notes"><tr><th>event</th><th>out_trade_no</th><th>status</th><th>attempts</th><th>next retry</th></tr></table>
<script>
const j = (u, o) => fetch(u, o).then((r) => r.json());
const post = (u, b) => j(u, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) });
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => '&#' + c.charCodeAt(0) + ';');
async function pay(no) { await post('/sandbox/transactions/' + encodeURIComponent(no) + '/pay', { result: 'SUCCESS' }); refresh(); }
async function advance(s) { await post('/sandbox/clock/advance', { seconds: s }); refresh(); }
async function refresh() {
  const [{ transactions }, { now, notifications }] = await Promise.all([j('/sandbox/transactions'), j('/sandbox/notifications')]);
  document.getElementById('now').textContent = now;
  document.getElementById('orders').innerHTML = '<tr><th>out_trade_no</th><th>state</th><th>total (fen)</th><th></th></tr>' + transactions.map((t) =>
    '<tr><td><code>' + esc(t.out_trade_no) + '</code></td><td>' + esc(t.trade_state) + '</td><td>' + esc(t.amount.total) + '</td><td>' +
    (t.trade_state === 'NOTPAY' ? '<button data-no="' + esc(t.out_trade_no) + '" onclick="pay(this.dataset.no)">pay</button>' : '') + '</td></tr>').join('');
  document.getElementById('notes').innerHTML = '<tr><th>event</th><th>out_trade_no</th><th>status</th><th>attempts</th><th>next retry</th></tr>' + notifications.map((n) =>
    '<tr><td>' + esc(n.event_type) + '</td><td><code>' + esc(n.out_trade_no) + '</code></td><td>' + esc(n.status) + '</td><td>' +
    n.attempts.map((a) => esc(a.statusCode ?? a.error)).join(', ') + '</td><td>' + esc(n.nextRetryAt) + '</td></tr>').join('');
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
`;
}
