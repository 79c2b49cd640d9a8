/**
 * What the sandbox was told by the dev server (provider, where the app runs), shown in the header, and the empty
 * state: how to place a first order — in the app preview, or with one curl to the dev server's connector.
 */
import type { Settings } from './api';
import { esc } from './format';

export function renderProvider(el: HTMLElement, s: Settings): void {
  el.className = `badge provider${s.provider ? ` p-${s.provider}` : ''}`;
  el.textContent = s.provider === 'v3' ? 'v3 API' : s.provider === 'cloudpay' ? 'CloudPay' : 'provider not set';
  el.title = s.provider
    ? `the dev server's connector uses ${s.provider === 'v3' ? 'the signed v3 API' : 'CloudPay (cloud.cloudPay, callbacks as cloud functions)'}`
    : 'a bare sandbox: no dev server has said which API its app uses';
}

export function renderAppLink(el: HTMLAnchorElement, s: Settings): void {
  el.hidden = !s.devServerUrl;
  if (s.devServerUrl) el.href = `${s.devServerUrl}/app`;
}

/** An order number for the unifiedOrder example, fixed for the page's life so the text does not change under a selection. */
const demoOrderNo = `DEMO${Date.now()}`;

function command(text: string): string {
  return `<div class="command"><pre><code>${esc(text)}</code></pre><button type="button" data-copy="${esc(text)}" title="copy to the clipboard">Copy</button></div>`;
}

export function renderStart(el: HTMLElement, s: Settings, hasOrders: boolean): void {
  el.hidden = hasOrders;
  if (hasOrders) return;
  const dev = s.devServerUrl;
  el.innerHTML = dev
    ? '<h2>No orders yet — place one</h2>'
      + `<p>Open the app preview at <a href="${esc(dev)}/app" target="_blank" rel="noopener">${esc(dev)}/app</a>, pick something and tap 支付: `
      + 'the order appears below, to pay here or on the preview’s pay sheet.</p>'
      + '<p>Or from a terminal, through the dev server’s connector — a checkout of a goods record:</p>'
      + command(`curl -s ${dev}/connector/checkout -d '{"goodsId":"<goods _id>","openid":"o-demo"}'`)
      + '<p>or an order of any amount (fen), with your own order number:</p>'
      + command(`curl -s ${dev}/connector/unifiedOrder -d '{"body":"demo","outTradeNo":"${demoOrderNo}","totalFee":1,"openid":"o-demo"}'`)
    : '<h2>No orders yet</h2>'
      + '<p>This sandbox runs on its own. Start the dev server with <code>npm start</code> and open its app preview (<code>/app</code>), '
      + `or place orders through the v3 API at <code>${esc(location.origin)}</code> with any WeChat Pay v3 SDK and the keys of the sandbox’s ready line.</p>`;
}
