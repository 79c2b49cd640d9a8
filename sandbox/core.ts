import { EventEmitter } from 'node:events';
import { BillStore } from './bills';
import { SandboxClock } from './clock';
import { FaultStore } from './faults';
import { NotificationStore } from './notifications';
import { RefundRow, RefundStore } from './refunds';
import { Db } from './state';
import { TransactionRow, TransactionStore } from './transactions';

/**
 * Domain events, emitted after the state change has been committed. The v3 side delivers its own HTTP
 * notifications from the outbox; a façade that notifies differently (CloudPay calls a cloud function) listens here.
 */
export interface SandboxEvents {
  'transaction.paid': [TransactionRow];
  'transaction.closed': [TransactionRow];
  'refund.created': [RefundRow];
  'refund.settled': [RefundRow];
}

export interface SandboxSettings {
  /** PROCESSING refunds settle as SUCCESS this many sandbox seconds after creation; null = only by control. */
  refundSettleSeconds: number | null;
  /**
   * Stand-in for the refund notify URL configured on the merchant platform: used when a refund request carries no
   * `notify_url`. null = fall back to the order's `notify_url`.
   */
  refundNotifyUrl: string | null;
}

/**
 * The sandbox's state and clock, independent of HTTP: what the v3 routes, the control routes and the CloudPay
 * façade (sandbox/cloudpay) all operate on through the domain functions of payments.ts, refunds.ts and bills.ts.
 * Times are sandbox-clock epoch milliseconds.
 */
export interface SandboxCore {
  db: Db;
  clock: SandboxClock;
  /** The sandbox merchant (DESIGN.md ready line). */
  mchid: string;
  appid: string;
  transactions: TransactionStore;
  refunds: RefundStore;
  notifications: NotificationStore;
  bills: BillStore;
  faults: FaultStore;
  settings: SandboxSettings;
  events: EventEmitter<SandboxEvents>;
  /**
   * Call after queueing a notification or setting a deadline (an auto-settle or auto-close time), so the notifier
   * and the housekeeper look again. `deadline` (sandbox ms) is the new deadline, if any.
   */
  wake(deadline?: number): void;
}

/** Builds the state part of a core on an open database; `wake` is wired by the server once the notifier exists. */
export function createCore(opts: { db: Db; clock: SandboxClock; mchid: string; appid: string; settings: SandboxSettings }): SandboxCore {
  const core: SandboxCore = {
    db: opts.db,
    clock: opts.clock,
    mchid: opts.mchid,
    appid: opts.appid,
    transactions: new TransactionStore(opts.db),
    refunds: new RefundStore(opts.db),
    notifications: new NotificationStore(opts.db),
    bills: new BillStore(opts.db),
    faults: new FaultStore(opts.db),
    settings: opts.settings,
    events: new EventEmitter<SandboxEvents>(),
    wake: () => undefined,
  };
  return core;
}

/** Emits without letting a listener's exception undo or break the request that caused the event. */
export function emit<K extends keyof SandboxEvents>(core: SandboxCore, event: K, ...args: SandboxEvents[K]): void {
  try {
    (core.events.emit as (e: K, ...a: SandboxEvents[K]) => boolean)(event, ...args);
  } catch {
    // listeners own their errors
  }
}
