/**
 * The phone the app runs in: status bar, navigation bar (back, page title, capsule), the scrolling page, the
 * problems panel (what the preview cannot run, never a blank page), and the overlays WeDa's platform actions
 * show: toast, modal, and a layer for component overlays (WdModal) and the pay sheet.
 */
import { h } from './dom';

export interface Problem {
  /** Component or listener id the problem is about. */
  id: string;
  /** JSON path into the app. */
  path: string;
  message: string;
}

export interface ToastOptions {
  title?: string;
  icon?: 'success' | 'error' | 'loading' | 'none' | string;
  duration?: number;
}

export interface ModalOptions {
  title?: string;
  content?: string;
  showCancel?: boolean;
  cancelText?: string;
  confirmText?: string;
}

export interface ModalResult {
  confirm: boolean;
  cancel: boolean;
}

export interface PageChoice {
  id: string;
  label: string;
}

export class Shell {
  readonly content: HTMLElement;
  /** Where the current page is drawn (inside the scrolling content). */
  readonly pageHost: HTMLElement;
  /** Overlays drawn by components (WdModal); cleared on every page render. */
  readonly widgetLayer: HTMLElement;
  /** Overlays of the platform (modal, pay sheet). */
  readonly overlay: HTMLElement;
  private readonly title: HTMLElement;
  private readonly back: HTMLButtonElement;
  private readonly problems: HTMLElement;
  private readonly pageSelect: HTMLSelectElement;
  private readonly toastHost: HTMLElement;
  private toastTimer: number | undefined;
  private onBack: () => void = () => {};
  private onPick: (id: string) => void = () => {};

  constructor(root: HTMLElement, appLabel: string, openid: string) {
    this.title = h('div', { class: 'nav-title', attrs: { 'data-testid': 'nav-title' } });
    this.back = h('button', { class: 'nav-back', attrs: { 'aria-label': '返回', type: 'button' }, on: { click: () => this.onBack() } });
    this.back.hidden = true;
    this.problems = h('section', { class: 'preview-problems', attrs: { role: 'alert', 'data-testid': 'preview-problems' } });
    this.problems.hidden = true;
    this.pageHost = h('div', { class: 'page-host' });
    this.content = h('main', { class: 'phone-content' }, [this.problems, this.pageHost]);
    this.widgetLayer = h('div', { class: 'phone-layer' });
    this.overlay = h('div', { class: 'phone-layer' });
    this.toastHost = h('div', { class: 'phone-layer phone-layer--toast' });
    this.pageSelect = h('select', { class: 'toolbar-pages', attrs: { 'aria-label': '页面' }, on: { change: () => this.onPick(this.pageSelect.value) } });

    const toolbar = h('header', { class: 'preview-toolbar' }, [
      h('div', { class: 'toolbar-app' }, [h('strong', { text: appLabel }), h('span', { class: 'toolbar-tag', text: '本地预览 · 沙箱' })]),
      h('label', { class: 'toolbar-field' }, [h('span', { text: '页面' }), this.pageSelect]),
      h('div', { class: 'toolbar-user', attrs: { title: '$w.auth.currentUser.openId' }, text: `openid ${openid}` }),
    ]);
    const statusBar = h('div', { class: 'status-bar', attrs: { 'aria-hidden': 'true' } }, [
      h('span', { text: '9:41' }),
      h('span', { class: 'status-icons', text: '▂▄▆ ◉ ▮' }),
    ]);
    const navBar = h('div', { class: 'nav-bar' }, [
      this.back,
      this.title,
      h('div', { class: 'nav-capsule', attrs: { 'aria-hidden': 'true' } }, [h('span', { text: '•••' }), h('i'), h('span', { class: 'capsule-dot' })]),
    ]);
    const phone = h('div', { class: 'phone', attrs: { 'data-testid': 'phone' } }, [
      h('div', { class: 'phone-screen' }, [statusBar, navBar, this.content, this.widgetLayer, this.overlay, this.toastHost]),
    ]);
    root.replaceChildren(h('div', { class: 'preview-shell' }, [toolbar, phone]));
  }

  setNavigation(opts: { title: string; canGoBack: boolean; onBack: () => void; pages: PageChoice[]; current: string; onPick: (id: string) => void }): void {
    this.title.textContent = opts.title;
    document.title = `${opts.title} · 预览`;
    this.back.hidden = !opts.canGoBack;
    this.onBack = opts.onBack;
    this.onPick = opts.onPick;
    this.pageSelect.replaceChildren(...opts.pages.map((p) => h('option', { text: p.label, attrs: { value: p.id } })));
    this.pageSelect.value = opts.current;
  }

  setProblems(problems: Problem[]): void {
    this.problems.hidden = problems.length === 0;
    this.problems.replaceChildren(
      h('h2', { text: `预览无法完整运行此应用（${problems.length}）` }),
      h('ul', {}, problems.map((p) => h('li', { attrs: { 'data-id': p.id, 'data-path': p.path } }, [
        h('span', { class: 'problem-message', text: p.message }),
        h('code', { text: p.path }),
      ]))),
    );
  }

  toast(opts: ToastOptions): void {
    window.clearTimeout(this.toastTimer);
    const icon = opts.icon ?? 'success';
    const mark = icon === 'success' ? '✓' : icon === 'error' ? '✕' : icon === 'loading' ? '…' : '';
    const box = h('div', { class: `toast${mark ? '' : ' toast--text'}`, attrs: { role: 'status', 'data-testid': 'toast' } }, [
      mark ? h('div', { class: 'toast-icon', text: mark }) : null,
      h('div', { class: 'toast-title', text: opts.title ?? '' }),
    ]);
    this.toastHost.replaceChildren(box);
    this.toastTimer = window.setTimeout(() => box.remove(), opts.duration ?? 1500);
  }

  hideToast(): void {
    this.toastHost.replaceChildren();
  }

  /** WeChat's modal: resolves when a button is pressed. */
  showModal(opts: ModalOptions): Promise<ModalResult> {
    return new Promise((resolve) => {
      const close = (result: ModalResult): void => { mask.remove(); resolve(result); };
      const buttons = h('div', { class: 'modal-actions' }, [
        opts.showCancel === false ? null : h('button', { class: 'modal-cancel', text: opts.cancelText ?? '取消', attrs: { type: 'button' }, on: { click: () => close({ confirm: false, cancel: true }) } }),
        h('button', { class: 'modal-confirm', text: opts.confirmText ?? '确定', attrs: { type: 'button' }, on: { click: () => close({ confirm: true, cancel: false }) } }),
      ]);
      const mask = h('div', { class: 'mask' }, [
        h('div', { class: 'modal', attrs: { role: 'dialog', 'aria-modal': 'true', 'data-testid': 'platform-modal' } }, [
          opts.title ? h('div', { class: 'modal-title', text: opts.title }) : null,
          opts.content ? h('div', { class: 'modal-content', text: opts.content }) : null,
          buttons,
        ]),
      ]);
      this.overlay.append(mask);
    });
  }
}
