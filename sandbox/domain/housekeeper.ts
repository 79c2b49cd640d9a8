import type { SandboxState } from '../state';
import { SandboxClock } from './clock';
import { DomainEvents } from './events';
import { Refunds } from './refunds';

export interface HousekeeperDeps {
  state: Pick<SandboxState, 'transactions' | 'refunds'>;
  clock: SandboxClock;
  refunds: Refunds;
  events: DomainEvents;
  log: (line: string) => void;
  /** How often the housekeeper looks on its own (real ms); requests and clock advances also make it look. */
  tickMs?: number;
}

/**
 * Time-driven state changes on the sandbox clock: unpaid orders auto-closing (7 days, or at time_expire when
 * later, wxpay-v3.md §1.2) and PROCESSING refunds settling automatically (`refundSettleSeconds`). Runs before every
 * request, after a clock advance and on its own timer; cheap when nothing is due (it remembers the next deadline,
 * and hears of new ones through the `transaction.created` and `refund.created` events).
 */
export class Housekeeper {
  /** Earliest known deadline (sandbox ms); 0 = unknown, look in the database. */
  private nextDue = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onTransaction = (t: { auto_close_at: number | null }): void => this.touch(t.auto_close_at);
  private readonly onRefund = (r: { settle_at: number | null }): void => this.touch(r.settle_at);

  constructor(private readonly d: HousekeeperDeps) {
    d.events.on('transaction.created', this.onTransaction);
    d.events.on('refund.created', this.onRefund);
  }

  start(): void {
    this.timer = setInterval(() => {
      try {
        this.maybeRun();
      } catch (err) {
        this.d.log(`housekeeping failed: ${String(err)}`); // a timer must not take the process down; the next tick tries again
      }
    }, this.d.tickMs ?? 200);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.d.events.off('transaction.created', this.onTransaction);
    this.d.events.off('refund.created', this.onRefund);
  }

  /** Runs the due work if anything may be due now. */
  maybeRun(): void {
    if (this.d.clock.now() >= this.nextDue) this.run();
  }

  run(): void {
    const now = this.d.clock.now();
    for (const closed of this.d.state.transactions.autoClose(now)) this.d.events.emit('transaction.closed', closed);
    this.d.refunds.settleDue(now);
    const next = [this.d.state.transactions.nextAutoClose(), this.d.state.refunds.nextSettle()].filter((t): t is number => t !== null);
    this.nextDue = next.length ? Math.min(...next) : Number.POSITIVE_INFINITY;
  }

  /** A deadline was set: make sure it is looked at in time. */
  private touch(deadline: number | null): void {
    if (deadline !== null && deadline < this.nextDue) this.nextDue = deadline;
  }
}
