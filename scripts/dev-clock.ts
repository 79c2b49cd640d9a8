/**
 * One clock for `npm start`: the sandbox's. The store's createdAt/updatedAt, the times the functions write and
 * reconcile's order ages all follow it (read in process from the sandbox, so always exact), so
 * `weda-wxpay trigger clock 1800` ages the orders as it ages WeChat Pay's, and reconcile runs when its timer falls
 * due on it (on CloudBase all of them are the real clock).
 */
import { nextFire, parseTimerSchedule } from '../callbacks/schedule';

/** The sandbox clock, in the dev server's process (`RunningSandbox.clock`): advanced by `trigger clock`, reset by `trigger reset`. */
export interface DevClock {
  now(): number;
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
