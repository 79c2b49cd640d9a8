import { EventEmitter } from 'node:events';
import type { RefundRow } from '../state/refunds';
import type { TransactionRow } from '../state/transactions';

/**
 * Domain events, emitted after the state change has been committed. The v3 notifications are queued inside the
 * change itself; whoever reacts differently listens here: the housekeeper learns new deadlines, and the CloudPay
 * façade queues its cloud-function callbacks.
 */
export interface SandboxEvents {
  /** A new order (not a re-entered prepay); its `auto_close_at` is a new deadline. */
  'transaction.created': [TransactionRow];
  'transaction.paid': [TransactionRow];
  'transaction.closed': [TransactionRow];
  /** A new refund (not a replay); its `settle_at`, when set, is a new deadline. */
  'refund.created': [RefundRow];
  'refund.settled': [RefundRow];
}

type Listener<K extends keyof SandboxEvents> = (...args: SandboxEvents[K]) => void;

/** The sandbox's event bus. `emit` never lets a listener's exception undo or break the change that caused it. */
export class DomainEvents {
  private readonly emitter = new EventEmitter();

  on<K extends keyof SandboxEvents>(event: K, listener: Listener<K>): void {
    this.emitter.on(event, listener as (...a: unknown[]) => void);
  }

  off<K extends keyof SandboxEvents>(event: K, listener: Listener<K>): void {
    this.emitter.off(event, listener as (...a: unknown[]) => void);
  }

  emit<K extends keyof SandboxEvents>(event: K, ...args: SandboxEvents[K]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as Listener<K>)(...args);
      } catch {
        // listeners own their errors
      }
    }
  }
}
