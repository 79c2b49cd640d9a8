import { toRfc3339Cst } from '../../wxpay';
import { MetaStore } from '../state/meta';

const OFFSET_KEY = 'clock_offset_ms';

/**
 * The sandbox's business clock: real time plus an offset that `POST /sandbox/clock/advance` moves forward.
 * It drives business times (success_time, notification retries, expiry). Signatures and the ±300 s auth window
 * use the real clock, because the other side checks them against its own real clock (wxpay-v3.md §2–3).
 * The offset is persisted so time never runs backwards across a restart.
 */
export class SandboxClock {
  private offsetMs: number;

  constructor(private readonly meta: MetaStore, private readonly realNow: () => number = Date.now) {
    this.offsetMs = Number(meta.get(OFFSET_KEY) ?? 0);
  }

  now(): number {
    return this.realNow() + this.offsetMs;
  }

  nowRfc3339(): string {
    return toRfc3339Cst(this.now());
  }

  advance(seconds: number): number {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('seconds must be a finite number ≥ 0');
    this.offsetMs += Math.round(seconds * 1000);
    this.meta.set(OFFSET_KEY, String(this.offsetMs));
    return this.now();
  }
}
