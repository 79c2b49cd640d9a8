/**
 * The reconcile timer (`callbacks.reconcile.schedule`), read as a CloudBase timer trigger reads it: seven fields,
 * `second minute hour day month weekday year`, China time. The build refuses a schedule it cannot read; the dev
 * server runs reconcile when `nextFire` says it is due on the sandbox clock.
 */
import { generateFunctions } from '../callbacks/generate';
import { nextFire, parseTimerSchedule } from '../callbacks/schedule';

const cst = (wall: string) => Date.parse(`${wall}+08:00`);
const wall = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms + 8 * 3600_000).toISOString().slice(0, 19));
const next = (schedule: string, after: string) => wall(nextFire(parseTimerSchedule(schedule), cst(after)));

it.each([
  ['0 */5 * * * * *', '2024-03-01T12:03:07', '2024-03-01T12:05:00'],
  ['0 */5 * * * * *', '2024-03-01T12:05:00', '2024-03-01T12:10:00'],
  ['0 */5 * * * * *', '2024-12-31T23:59:59', '2025-01-01T00:00:00'],
  ['30 0 * * * * *', '2024-03-01T12:00:30', '2024-03-01T13:00:30'],
  ['0 30 2 1 * * *', '2024-01-31T03:00:00', '2024-02-01T02:30:00'],
  ['0 0 9 * * MON *', '2024-03-01T12:00:00', '2024-03-04T09:00:00'],
  ['0 0 9 * * 1-5 *', '2024-03-02T10:00:00', '2024-03-04T09:00:00'],
  ['0 0,30 8-9 * JAN,MAR * *', '2024-02-10T00:00:00', '2024-03-01T08:00:00'],
  ['0 0 0 29 2 * *', '2024-03-01T00:00:00', '2028-02-29T00:00:00'],
])('%s after %s fires at %s (China time)', (schedule, after, expected) => {
  expect(next(schedule, after)).toBe(expected);
});

it('never fires again once its years are past', () => {
  expect(next('0 0 0 1 1 * 2020', '2024-01-01T00:00:00')).toBeUndefined();
});

it.each([
  ['0 */5 * * *', /must have 7 fields/],
  ['0 61 * * * * *', /minute "61" must be 0–59/],
  ['0 0 25 * * * *', /hour "25" must be 0–23/],
  ['0 0 0 * FOO * *', /month "FOO" must be 1–12 or JAN–DEC/],
  ['0 */0 * * * * *', /minute "\*\/0" has a step that is not a whole number ≥ 1/],
  ['0 9-5 * * * * *', /minute "9-5" is a range that runs backwards/],
])('refuses %s, naming the field and the rule', (schedule, message) => {
  expect(() => parseTimerSchedule(schedule)).toThrow(message);
});

it('the build refuses a schedule a timer cannot read', () => {
  const config = {
    provider: 'cloudpay', appid: 'wx1234567890abcdef', subMchId: '1900000109', envType: 'pre',
    cloudpay: { envId: 'weda-7g5x', payCallbackFunction: 'wxpay-pay-notify' },
    callbacks: { reconcile: { schedule: '0 */5 * * * 8 *' } },
  } as never;
  expect(() => generateFunctions({ config })).toThrow(/callbacks\.reconcile\.schedule: .*weekday "8" must be 0–6 or SUN–SAT/);
});
