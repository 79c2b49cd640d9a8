import { toRfc3339Cst } from '../../wxpay';
import { MetaStore } from '../state/meta';

const OFFSET_KEY = 'clock_offset_ms';

/** How far ahead of real time the sandbox clock may run: far past any WeChat Pay deadline, short of absurd dates. */
export const MAX_CLOCK_OFFSET_SECONDS = 10 * 365 * 86_400;

/**
 * The sandbox's business clock: real time plus an offset that `POST /sandbox/clock/advance` moves forward, at most
 * {@link MAX_CLOCK_OFFSET_SECONDS} in all, and `POST /sandbox/reset` sets back to zero.
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

  /** Why the clock cannot move forward by `seconds` (the rule, to follow "seconds"), or undefined when it can. */
  advanceProblem(seconds: unknown): string | undefined {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return 'must be a finite number ≥ 0 (the sandbox clock only moves forward)';
    const room = Math.floor(MAX_CLOCK_OFFSET_SECONDS - this.offsetMs / 1000);
    if (seconds > room) {
      return `must keep the sandbox clock within 10 years (${MAX_CLOCK_OFFSET_SECONDS} s) of real time: it is ${Math.floor(this.offsetMs / 1000)} s ahead, so at most ${room} more (POST /sandbox/reset sets it back)`;
    }
    return undefined;
  }

  advance(seconds: number): number {
    const problem = this.advanceProblem(seconds);
    if (problem) throw new RangeError(`seconds ${problem}`);
    this.offsetMs += Math.round(seconds * 1000);
    this.meta.set(OFFSET_KEY, String(this.offsetMs));
    return this.now();
  }

  /** Back to real time (reset). */
  reset(): void {
    this.offsetMs = 0;
    this.meta.delete(OFFSET_KEY);
  }
}
