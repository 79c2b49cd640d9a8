/** Trade bills: a day and a type → the CSV the sandbox's v3 download_url would serve, offered as a download. */
import { fetchFile } from './api';
import { byId, chinaDate, esc } from './format';

export class BillPanel {
  private readonly date = byId<HTMLInputElement>('bill-date');
  private readonly type = byId<HTMLSelectElement>('bill-type');
  private readonly result = byId('bill-result');
  /** The date follows the sandbox clock (yesterday, the newest bill there is) until the user picks one. */
  private picked = false;

  constructor(private readonly banner: (text: string, ok: boolean) => void) {
    this.date.addEventListener('change', () => { this.picked = true; });
    byId<HTMLFormElement>('bill-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.download();
    });
  }

  /** Keeps the default date on the day before the sandbox's today. */
  clock(now: string): void {
    const yesterday = chinaDate(now, -1);
    this.date.max = yesterday;
    if (!this.picked) this.date.value = yesterday;
  }

  private async download(): Promise<void> {
    const billDate = this.date.value;
    const billType = this.type.value;
    try {
      const { blob, filename } = await fetchFile(`/sandbox/tradebill?bill_date=${encodeURIComponent(billDate)}&bill_type=${encodeURIComponent(billType)}`);
      const text = await blob.text();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = filename;
      link.textContent = filename;
      // Rows between the header and the two summary lines are the day's trades (wxpay-v3.md §1.7).
      const trades = Math.max(text.trim().split(/\r?\n/).length - 3, 0);
      this.result.innerHTML = `<span class="muted">${esc(billDate)} · ${esc(billType)} · ${trades} trade${trades === 1 ? '' : 's'} · </span>`;
      this.result.append(link);
      link.click();
      this.banner(`Bill ${billDate} ${billType} downloaded`, true);
    } catch (err) {
      this.result.textContent = '';
      this.banner(`Bill ${billDate} ${billType} — ${(err as Error).message}`, false);
    }
  }
}
