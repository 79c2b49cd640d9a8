/**
 * The `wx` an app's code sees in the preview. `wx.requestPayment` opens a sandbox pay sheet instead of
 * WeChat's: it finds the sandbox transaction by the `prepay_id` in `package`, and the person at the preview
 * plays the payer — pay, fail (NOT_ENOUGH, PAYERROR) or cancel — through the sandbox control API
 * (DESIGN.md "Sandbox (contract)"), so the sandbox sends the same notification a real payment would.
 * Callback and promise forms as in the mini-program API: with success/fail/complete it returns nothing.
 */
import { h, yuan } from './dom';
import type { ModalOptions, Shell, ToastOptions } from './shell';

export interface PaymentParams {
  timeStamp?: unknown;
  nonceStr?: unknown;
  package?: unknown;
  signType?: unknown;
  paySign?: unknown;
}

export interface WxCallbacks<T> {
  success?: (res: T) => void;
  fail?: (err: { errMsg: string }) => void;
  complete?: (res: T | { errMsg: string }) => void;
}

export interface PreviewWx {
  requestPayment(opts: PaymentParams & WxCallbacks<{ errMsg: string }>): Promise<{ errMsg: string }> | undefined;
  showToast(opts: ToastOptions & WxCallbacks<{ errMsg: string }>): void;
  hideToast(): void;
  showModal(opts: ModalOptions & WxCallbacks<{ errMsg: string; confirm: boolean; cancel: boolean }>): Promise<{ errMsg: string; confirm: boolean; cancel: boolean }> | undefined;
}

/** Sandbox pay results a payer can end with (sandbox/payments.ts PAY_RESULTS, less the cancel). */
const FAILURES = [
  { result: 'NOT_ENOUGH', label: '余额不足 NOT_ENOUGH' },
  { result: 'PAYERROR', label: '支付错误 PAYERROR' },
] as const;

const REQUIRED = ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign'] as const;

interface SandboxTransaction {
  out_trade_no: string;
  prepay_id?: string;
  mchid?: string;
  description?: string;
  amount?: { total?: number };
  trade_state?: string;
  _sandbox?: { description?: string; prepay_id?: string };
}

type PayerChoice = { kind: 'pay' } | { kind: 'fail'; result: string } | { kind: 'cancel' };

class PaymentFailed extends Error {
  constructor(readonly errMsg: string) {
    super(errMsg);
  }
}

export function createWx(shell: Shell, sandboxUrl: string): PreviewWx {
  return {
    requestPayment(opts) {
      const { success, fail, complete, ...payment } = opts ?? {};
      const done = requestPayment(shell, sandboxUrl, payment).then(
        (res) => { success?.(res); complete?.(res); return res; },
        (err: unknown) => {
          const res = { errMsg: err instanceof PaymentFailed ? err.errMsg : `requestPayment:fail ${(err as Error).message}` };
          fail?.(res);
          complete?.(res);
          throw res;
        },
      );
      if (success || fail || complete) {
        done.catch(() => {});
        return undefined;
      }
      return done;
    },
    showToast(opts) {
      shell.toast(opts);
      opts.success?.({ errMsg: 'showToast:ok' });
      opts.complete?.({ errMsg: 'showToast:ok' });
    },
    hideToast() {
      shell.hideToast();
    },
    showModal(opts) {
      const done = shell.showModal(opts).then((r) => ({ errMsg: 'showModal:ok', ...r }));
      if (opts.success || opts.complete) {
        void done.then((r) => { opts.success?.(r); opts.complete?.(r); });
        return undefined;
      }
      return done;
    },
  };
}

async function requestPayment(shell: Shell, sandboxUrl: string, payment: PaymentParams): Promise<{ errMsg: string }> {
  const missing = REQUIRED.filter((k) => typeof payment[k] !== 'string' || payment[k] === '');
  if (missing.length > 0) throw new PaymentFailed(`requestPayment:fail parameter error: ${missing.join(', ')} must be non-empty strings`);
  const prepayId = /^prepay_id=(.+)$/.exec(payment.package as string)?.[1];
  if (!prepayId) throw new PaymentFailed(`requestPayment:fail parameter error: package must be "prepay_id=…" (got ${JSON.stringify(payment.package)})`);

  const sheet = new PaySheet(shell);
  try {
    let tx: SandboxTransaction | undefined;
    try {
      const found = await sandboxCall<{ transactions?: SandboxTransaction[] }>(`${sandboxUrl}/sandbox/transactions?prepay_id=${encodeURIComponent(prepayId)}`, 'GET');
      tx = pickTransaction(found.transactions ?? [], prepayId);
    } catch (err) {
      await sheet.showError(`沙箱查询交易失败：${(err as Error).message}`);
      throw new PaymentFailed(`requestPayment:fail ${(err as Error).message}`);
    }
    if (!tx) {
      await sheet.showError(`沙箱中没有 prepay_id 为 ${prepayId} 的交易`);
      throw new PaymentFailed('requestPayment:fail prepay_id not found in the sandbox');
    }
    const choice = await sheet.ask(tx);
    const base = `${sandboxUrl}/sandbox/transactions/${encodeURIComponent(tx.out_trade_no)}`;
    if (choice.kind === 'cancel') {
      await sandboxCall(`${base}/cancel`, 'POST', {}).catch(() => undefined); // the sheet is gone either way
      throw new PaymentFailed('requestPayment:fail cancel');
    }
    const result = choice.kind === 'pay' ? 'SUCCESS' : choice.result;
    try {
      await sandboxCall(`${base}/pay`, 'POST', { result, prepay_id: prepayId });
    } catch (err) {
      throw new PaymentFailed(`requestPayment:fail ${(err as Error).message}`);
    }
    if (choice.kind === 'fail') throw new PaymentFailed(`requestPayment:fail ${result}`);
    return { errMsg: 'requestPayment:ok' };
  } finally {
    sheet.close();
  }
}

/**
 * The sandbox filters by `prepay_id`; entries that carry their prepay_id are matched here too, so a list
 * that is not filtered never pays the wrong order.
 */
function pickTransaction(list: SandboxTransaction[], prepayId: string): SandboxTransaction | undefined {
  const carried = list.filter((t) => (t.prepay_id ?? t._sandbox?.prepay_id) !== undefined);
  if (carried.length > 0) return carried.find((t) => (t.prepay_id ?? t._sandbox?.prepay_id) === prepayId);
  return list.length === 1 ? list[0] : undefined;
}

async function sandboxCall<T>(url: string, method: 'GET' | 'POST', body?: unknown): Promise<T> {
  const res = await fetch(url, { method, headers: { 'Content-Type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: unknown;
  try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { message: text }; }
  if (!res.ok) {
    const e = parsed as { code?: string; message?: string };
    throw new Error(e.message ? `${e.code ? `${e.code}: ` : ''}${e.message}` : `HTTP ${res.status}`);
  }
  return parsed as T;
}

/** The bottom sheet standing in for WeChat's payment UI. */
class PaySheet {
  private readonly mask: HTMLElement;
  private readonly body: HTMLElement;

  constructor(shell: Shell) {
    this.body = h('div', { class: 'pay-sheet-body' }, [h('div', { class: 'pay-sheet-loading', text: '正在向沙箱查询交易…' })]);
    this.mask = h('div', { class: 'mask mask--sheet' }, [
      h('div', { class: 'pay-sheet', attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-label': '微信支付（沙箱）', 'data-testid': 'pay-sheet' } }, [
        h('div', { class: 'pay-sheet-head' }, [h('span', { class: 'pay-sheet-logo', text: '微信支付' }), h('span', { class: 'toolbar-tag', text: '沙箱' })]),
        this.body,
      ]),
    ]);
    shell.overlay.append(this.mask);
  }

  ask(tx: SandboxTransaction): Promise<PayerChoice> {
    return new Promise((resolve) => {
      const reason = h('select', { class: 'pay-fail-reason', attrs: { 'aria-label': '失败原因' } }, FAILURES.map((f) => h('option', { text: f.label, attrs: { value: f.result } })));
      const pick = (choice: PayerChoice) => (): void => {
        for (const b of this.body.querySelectorAll('button, select')) (b as HTMLButtonElement).disabled = true;
        status.textContent = choice.kind === 'pay' ? '支付中…' : '处理中…';
        resolve(choice);
      };
      const status = h('div', { class: 'pay-sheet-status', attrs: { 'aria-live': 'polite' } });
      this.body.replaceChildren(
        h('div', { class: 'pay-sheet-desc', text: tx._sandbox?.description ?? tx.description ?? '商品' }),
        h('div', { class: 'pay-sheet-amount', attrs: { 'data-testid': 'pay-amount' }, text: yuan(tx.amount?.total) }),
        h('dl', { class: 'pay-sheet-facts' }, [
          h('dt', { text: '商户单号' }), h('dd', { text: tx.out_trade_no }),
          h('dt', { text: '商户号' }), h('dd', { text: tx.mchid ?? '—' }),
        ]),
        h('button', { class: 'pay-button', text: '确认支付', attrs: { type: 'button' }, on: { click: pick({ kind: 'pay' }) } }),
        h('div', { class: 'pay-sheet-fail' }, [
          reason,
          h('button', { class: 'pay-secondary', text: '模拟失败', attrs: { type: 'button' }, on: { click: () => pick({ kind: 'fail', result: reason.value })() } }),
        ]),
        h('button', { class: 'pay-link', text: '取消支付', attrs: { type: 'button' }, on: { click: pick({ kind: 'cancel' }) } }),
        status,
      );
    });
  }

  showError(message: string): Promise<void> {
    return new Promise((resolve) => {
      this.body.replaceChildren(
        h('div', { class: 'pay-sheet-error', attrs: { role: 'alert' }, text: message }),
        h('button', { class: 'pay-secondary', text: '关闭', attrs: { type: 'button' }, on: { click: () => resolve() } }),
      );
    });
  }

  close(): void {
    this.mask.remove();
  }
}
