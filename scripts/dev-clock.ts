/**
 * One clock for `npm start`: the sandbox's. The store's createdAt/updatedAt, the times the functions write and
 * reconcile's order ages all follow it, so `weda-wxpay trigger clock 1800` ages the orders as it ages WeChat
 * Pay's, and reconcile runs when its timer falls due on it (on CloudBase all of them are the real clock).
 */
import { nextFire, parseTimerSchedule } from '../callbacks/schedule';

export interface DevClock {
  /** The sandbox's time (ms), as of the last `sync` (synchronous: the store reads it inside a statement). */
  now(): number;
  /** Reads the sandbox clock again: someone may have advanced it (`POST /sandbox/clock/advance`). */
  sync(): Promise<void>;
}

/**
 * Follows the sandbox clock over HTTP (`GET {sandbox}/sandbox/clock` → `{now}`, RFC 3339 to the second). The
 * sandbox clock is real time plus an offset it moves forward; the offset is kept here and read again on `sync`:
 * the second the sandbox answered minus the real second it answered in (read again when a second boundary fell
 * inside the request). Exact when the clock was advanced by whole seconds, within a second otherwise. A sandbox
 * that cannot be reached keeps the last offset.
 */
export async function followSandboxClock(sandboxUrl: string): Promise<DevClock> {
  let offsetMs = 0;
  const read = async (): Promise<number | undefined> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = Date.now();
      const res = await fetch(`${sandboxUrl}/sandbox/clock`, { signal: AbortSignal.timeout(5000) });
      const sandboxSecond = Date.parse(((await res.json()) as { now?: string }).now ?? '');
      const after = Date.now();
      if (!res.ok || !Number.isFinite(sandboxSecond)) return undefined;
      const realSecond = Math.floor(before / 1000) * 1000;
      if (realSecond === Math.floor(after / 1000) * 1000) return sandboxSecond - realSecond;
    }
    return undefined;
  };
  const clock: DevClock = {
    now: () => Date.now() + offsetMs,
    async sync() {
      try {
        offsetMs = (await read()) ?? offsetMs;
      } catch {
        // Unreachable (closing, or busy): the offset only changes when the clock is advanced, so the last one stands.
      }
    },
  };
  await clock.sync();
  return clock;
}

export interface ScheduledRun {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `run` whenever the 7-field timer `schedule` (callbacks/schedule.ts) falls due on `clock`, checking every
 * `tickMs` of real time. Missed times collapse into one run, as a timer that was not running does not catch up;
 * runs never overlap.
 */
export function runOnSchedule(o: { schedule: string; clock: DevClock; run: (at: number) => Promise<void>; log: (line: string) => void; tickMs?: number }): ScheduledRun {
  const schedule = parseTimerSchedule(o.schedule);
  let due = nextFire(schedule, o.clock.now());
  let running: Promise<void> | undefined;
  const tick = async () => {
    await o.clock.sync();
    const at = o.clock.now();
    if (due === undefined || at < due) return;
    try {
      await o.run(at);
    } catch (err) {
      o.log(JSON.stringify({ event: 'reconcile.schedule_failed', reason: (err as Error).message }));
    }
    due = nextFire(schedule, o.clock.now());
  };
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => { running = undefined; });
  }, o.tickMs ?? 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
