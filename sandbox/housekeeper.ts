import { emit, SandboxCore } from './core';
import { settleDueRefunds } from './refunds';

/**
 * Time-driven state changes on the sandbox clock: unpaid orders auto-closing (7 days, or at time_expire when
 * later) and PROCESSING refunds settling automatically (`refundSettleSeconds`). Run before every request, after a
 * clock advance and on the notifier's tick; cheap when nothing is due (it remembers the next deadline).
 */
export class Housekeeper {
  /** Earliest known deadline (sandbox ms); 0 = unknown, look in the database. */
  private nextDue = 0;

  constructor(private readonly core: SandboxCore) {}

  /** A deadline was set (an order or a refund was created): make sure it is looked at in time. */
  touch(deadline: number): void {
    if (deadline < this.nextDue) this.nextDue = deadline;
  }

  /** Runs the due work if anything may be due now. */
  maybeRun(): void {
    if (this.core.clock.now() >= this.nextDue) this.run();
  }

  run(): void {
    const now = this.core.clock.now();
    for (const closed of this.core.transactions.autoClose(now)) emit(this.core, 'transaction.closed', closed);
    settleDueRefunds(this.core, now);
    const next = [this.core.transactions.nextAutoClose(), this.core.refunds.nextSettle()].filter((t): t is number => t !== null);
    this.nextDue = next.length ? Math.min(...next) : Number.POSITIVE_INFINITY;
  }
}
