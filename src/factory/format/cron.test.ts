import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextCronTime, parseCron } from './cron.ts';

// Next fire times worked out by hand against the calendar (2026-12-04 is a Friday, 2028 a leap year).
const NEXT: ReadonlyArray<[string, string, string]> = [
  ['0 3 * * *', '2026-12-04T10:00:00Z', '2026-12-05T03:00:00Z'],
  ['0 3 * * *', '2026-12-04T02:59:30Z', '2026-12-04T03:00:00Z'],
  ['0 3 * * *', '2026-12-04T03:00:00Z', '2026-12-05T03:00:00Z'],
  ['*/15 * * * *', '2026-12-04T10:07:00Z', '2026-12-04T10:15:00Z'],
  ['*/15 * * * *', '2026-12-31T23:50:00Z', '2027-01-01T00:00:00Z'],
  ['5-10/2 * * * *', '2026-12-04T10:06:00Z', '2026-12-04T10:07:00Z'],
  ['5-10/2 * * * *', '2026-12-04T10:09:59Z', '2026-12-04T11:05:00Z'],
  ['1-59/20 * * * *', '2026-12-04T10:41:00Z', '2026-12-04T11:01:00Z'],
  ['3/20 * * * *', '2026-12-04T10:50:00Z', '2026-12-04T11:03:00Z'],
  ['*/7 */5 * * *', '2026-12-04T10:57:00Z', '2026-12-04T15:00:00Z'],
  ['0 0 1 * *', '2026-12-04T10:00:00Z', '2027-01-01T00:00:00Z'],
  ['@monthly', '2026-12-04T10:00:00Z', '2027-01-01T00:00:00Z'],
  ['@yearly', '2026-12-04T10:00:00Z', '2027-01-01T00:00:00Z'],
  ['@annually', '2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z'],
  ['@weekly', '2026-12-04T10:00:00Z', '2026-12-06T00:00:00Z'],
  ['@daily', '2026-12-04T10:00:00Z', '2026-12-05T00:00:00Z'],
  ['@midnight', '2026-12-04T23:59:59Z', '2026-12-05T00:00:00Z'],
  ['@hourly', '2026-12-04T10:00:00Z', '2026-12-04T11:00:00Z'],
  ['0 0 29 2 *', '2026-12-04T10:00:00Z', '2028-02-29T00:00:00Z'],
  ['0 9 * * mon-fri', '2026-12-04T10:00:00Z', '2026-12-07T09:00:00Z'],
  ['0 9 * * MON-FRI', '2026-12-04T08:00:00Z', '2026-12-04T09:00:00Z'],
  ['0 9 * * 7', '2026-12-04T10:00:00Z', '2026-12-06T09:00:00Z'],
  ['0 9 * * 0', '2026-12-04T10:00:00Z', '2026-12-06T09:00:00Z'],
  ['0 22 * * 1-5', '2026-12-04T22:30:00Z', '2026-12-07T22:00:00Z'],
  // Both day fields restricted: either matches (the Friday comes before the 13th).
  ['0 0 13 * 5', '2026-12-04T10:00:00Z', '2026-12-11T00:00:00Z'],
  ['30 4 1,15 * 5', '2026-12-04T10:00:00Z', '2026-12-11T04:30:00Z'],
  ['0 0 30 2 1', '2026-12-04T10:00:00Z', '2027-02-01T00:00:00Z'],
  // Day of month starts with `*`: both must match (odd dates that are Mondays).
  ['0 0 */2 * 1', '2026-12-04T10:00:00Z', '2026-12-07T00:00:00Z'],
  ['0 0 */2 * 1', '2026-12-07T00:00:00Z', '2026-12-21T00:00:00Z'],
  ['0 12 * jan,jul *', '2026-12-04T10:00:00Z', '2027-01-01T12:00:00Z'],
  ['0 12 * JUL *', '2026-12-04T10:00:00Z', '2027-07-01T12:00:00Z'],
  ['59 23 31 12 *', '2026-12-31T23:59:00Z', '2027-12-31T23:59:00Z'],
  ['0 0 31 * *', '2026-12-04T10:00:00Z', '2026-12-31T00:00:00Z'],
  ['0 0 31 * *', '2027-01-31T00:00:00Z', '2027-03-31T00:00:00Z'],
  ['  0   3 * * *  ', '2026-12-04T10:00:00Z', '2026-12-05T03:00:00Z'],
];

describe('nextCronTime', () => {
  it.each(NEXT)('%s after %s fires at %s', (expression, after, expected) => {
    expect(nextCronTime(parseCron(expression), new Date(after)).toISOString()).toBe(new Date(expected).toISOString());
  });

  it('fires at a minute the schedule allows, strictly later, with nothing allowed in between (property)', () => {
    const schedule = parseCron('*/7 1-5,20 * * mon,wed');
    const fires = (date: Date) => schedule.minutes.has(date.getUTCMinutes()) && schedule.hours.has(date.getUTCHours()) && schedule.daysOfWeek.has(date.getUTCDay());
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const next = nextCronTime(schedule, new Date(ms));
        expect(next.getTime()).toBeGreaterThan(ms);
        expect(fires(next)).toBe(true);
        for (let t = Math.floor(ms / 60_000) * 60_000 + 60_000; t < next.getTime(); t += 60_000) expect(fires(new Date(t))).toBe(false);
      }),
      { numRuns: 40 },
    );
  });
});

describe('parseCron', () => {
  it('expands ranges, steps, lists and names; folds Sunday 7 into 0', () => {
    const schedule = parseCron('0,30 8-10 1-31/10 feb-apr/2 5-7');
    expect([...schedule.minutes]).toEqual([0, 30]);
    expect([...schedule.hours]).toEqual([8, 9, 10]);
    expect([...schedule.daysOfMonth]).toEqual([1, 11, 21, 31]);
    expect([...schedule.months]).toEqual([2, 4]);
    expect([...schedule.daysOfWeek].sort()).toEqual([0, 5, 6]);
    expect(schedule.daysMatchAll).toBe(false);
    expect(parseCron('0 0 * * 1').daysMatchAll).toBe(true);
  });

  it.each([
    ['', /expected 5 fields/],
    ['* * * *', /expected 5 fields .* got 4/],
    ['* * * * * *', /got 6/],
    ['60 * * * *', /minute: 60 is outside 0-59/],
    ['* 24 * * *', /hour: 24 is outside 0-23/],
    ['* * 0 * *', /day of month: 0 is outside 1-31/],
    ['* * * 13 *', /month: 13 is outside 1-12/],
    ['* * * * 8', /day of week: 8 is outside 0-7/],
    ['*/0 * * * *', /minute: step "0" must be at least 1/],
    ['5-1 * * * *', /minute: range 5-1 runs backwards/],
    ['1,,2 * * * *', /minute: "" is not a value/],
    ['a * * * *', /minute: "a" is not a number$/],
    ['* * * foo *', /month: "foo" is not a number or a name/],
    ['1-2-3 * * * *', /not a range/],
    ['@reboot', /unknown macro/],
    ['0 0 30 2 *', /never fires/],
    ['0 0 31 4,6 *', /never fires/],
  ])('refuses %j with SCHEDULE_INVALID', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(expect.objectContaining({ code: 'SCHEDULE_INVALID', message: expect.stringMatching(message) }));
  });
});
