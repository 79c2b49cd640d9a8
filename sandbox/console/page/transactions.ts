/** Transactions: pay as the user would (or fail, or close the sheet), and refund a paid one as the back office would. */
import type { Refund, Transaction } from './api';
import { badge, cell, code, esc, fillRows, time, yuan } from './format';

const FAIL_KINDS = ['NOT_ENOUGH', 'PAYERROR', 'USER_CANCEL'];

/** Fen of the order not yet refunded or being refunded (CLOSED refunds give theirs back). */
export function refundable(t: Transaction, refunds: readonly Refund[]): number {
  const committed = refunds.filter((r) => r.out_trade_no === t.out_trade_no && r.status !== 'CLOSED').reduce((s, r) => s + r.amount.refund, 0);
  return t.amount.total - committed;
}

function actions(t: Transaction, refunds: readonly Refund[]): string {
  const no = esc(t.out_trade_no);
  if (t.trade_state === 'NOTPAY') {
    return `<button class="primary" data-action="pay" data-no="${no}">Pay</button>`
      + `<select data-fail-kind="${no}" aria-label="failure kind">${FAIL_KINDS.map((k) => `<option>${k}</option>`).join('')}</select>`
      + `<button data-action="fail" data-no="${no}">Fail</button>`
      + `<button data-action="cancel" data-no="${no}">Cancel</button>`;
  }
  const left = refundable(t, refunds);
  if ((t.trade_state === 'SUCCESS' || t.trade_state === 'REFUND') && left > 0) {
    return `<label class="money" title="refund amount, yuan">¥<input type="number" min="0.01" step="0.01" max="${yuan(left)}" value="${yuan(left)}" data-refund-amount="${no}" aria-label="refund amount"></label>`
      + `<button data-action="refund" data-no="${no}" title="a refund made in WeChat's merchant back office">Refund</button>`;
  }
  return '';
}

export function renderTransactions(tbody: HTMLElement, list: readonly Transaction[], refunds: readonly Refund[]): void {
  fillRows(tbody, list.map((t) => {
    const no = esc(t.out_trade_no);
    const last = t._sandbox.last_pay_attempt;
    return `<tr data-out-trade-no="${no}">`
      + cell('out_trade_no', `${code(t.out_trade_no)}${t.transaction_id ? `<div class="muted">${code(t.transaction_id)}</div>` : ''}`)
      + cell('description', esc(t._sandbox.description))
      + cell('amount', `¥${yuan(t.amount.total)}`, 'num')
      + cell('trade_state', badge(t.trade_state), 'state')
      + cell('expires', time(t._sandbox.expires_at), 'muted')
      + cell('last attempt', last ? `${esc(last.result)} · ${time(last.at)}` : '', 'muted last-attempt')
      + cell('', `<div class="actions">${actions(t, refunds)}</div>`, 'row-actions')
      + '</tr>';
  }), 7, 'No orders yet — see <a href="#start">how to place one</a>.');
}
