/** Refunds: settle a PROCESSING one as WeChat's back office would. */
import type { Refund } from './api';
import { badge, cell, code, esc, fillRows, time, yuan } from './format';

const OUTCOMES = ['SUCCESS', 'CLOSED', 'ABNORMAL'];

export function renderRefunds(tbody: HTMLElement, list: readonly Refund[]): void {
  fillRows(tbody, list.map((r) => {
    const no = esc(r.out_refund_no);
    const actions = r.status === 'PROCESSING'
      ? OUTCOMES.map((s) => `<button ${s === 'SUCCESS' ? 'class="primary" ' : ''}data-action="settle" data-status="${s}" data-no="${no}">Settle ${s}</button>`).join('')
      : '';
    const settles = r.status === 'PROCESSING' ? (time(r._sandbox.settle_at) || 'manual only') : '';
    return `<tr data-out-refund-no="${no}">`
      + cell('out_refund_no', `${code(r.out_refund_no)}<div class="muted">${code(r.refund_id)} · via ${esc(r._sandbox.source)}</div>`)
      + cell('out_trade_no', code(r.out_trade_no))
      + cell('refund / total', `¥${yuan(r.amount.refund)} / ¥${yuan(r.amount.total)}`, 'num')
      + cell('status', badge(r.status), 'state')
      + cell('created', time(r.create_time), 'muted')
      + cell('auto-settles', settles, 'muted')
      + cell('', `<div class="actions">${actions}</div>`, 'row-actions')
      + '</tr>';
  }), 7, 'No refunds yet: use Refund on a paid order above, or the app’s refund button.');
}
