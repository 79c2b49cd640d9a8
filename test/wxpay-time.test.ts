import { chinaTimeToRfc3339, parseChinaTime, parseWechatTime, toChinaCompact, toChinaDate, toChinaDateTime, toRfc3339Cst } from '../wxpay';

// One instant: 2024-01-31 12:00:05 in Beijing is 04:00:05 UTC.
const MS = Date.UTC(2024, 0, 31, 4, 0, 5);

describe('China time in every shape WeChat Pay uses', () => {
  test('formats one instant as RFC 3339 +08:00, yyyyMMddHHmmss, yyyy-MM-dd HH:mm:ss and yyyy-MM-dd', () => {
    expect(toRfc3339Cst(MS)).toBe('2024-01-31T12:00:05+08:00');
    expect(toChinaCompact(MS)).toBe('20240131120005');
    expect(toChinaDateTime(MS)).toBe('2024-01-31 12:00:05');
    expect(toChinaDate(Date.UTC(2024, 0, 31, 16, 0, 0))).toBe('2024-02-01'); // past midnight in Beijing
  });

  test('parses China wall time and RFC 3339 back to the same instant', () => {
    expect(parseChinaTime('20240131120005')).toBe(MS);
    expect(parseChinaTime('2024-01-31 12:00:05')).toBe(MS);
    expect(parseWechatTime('2024-01-31T12:00:05+08:00')).toBe(MS);
    expect(parseWechatTime('2024-01-31T04:00:05Z')).toBe(MS);
    expect(chinaTimeToRfc3339('20240131120005')).toBe('2024-01-31T12:00:05+08:00');
  });

  test.each(['20240230120000', '2024-02-30 12:00:00', '20240131250000', '2024013112000', '', 'yesterday'])('refuses %p as a China time', (text) => {
    expect(parseChinaTime(text)).toBeUndefined();
    expect(chinaTimeToRfc3339(text)).toBeUndefined();
  });

  test('parseWechatTime answers undefined for what is not a time', () => {
    expect(parseWechatTime(undefined)).toBeUndefined();
    expect(parseWechatTime(42)).toBeUndefined();
    expect(parseWechatTime('not a time')).toBeUndefined();
  });
});
