import { describe, expect, it } from 'vitest';
import { formatDuration, parseDurationMs } from './duration.ts';

describe('parseDurationMs', () => {
  it.each([
    ['0', 0],
    ['3600', 3_600_000],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1w2d', 777_600_000],
    ['250ms', 250],
    [' 1h ', 3_600_000],
    // The longest bare number and number before a unit: twelve digits.
    ['999999999999', 999_999_999_999_000],
    ['999999999999ms', 999_999_999_999],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'soon', '1x', 'h', '1h 30m', '-5s', '1.5h', '30d!', '1h30', '1234567890123', '1234567890123s'])('%j is not a duration', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [90_000, '1m30s'],
    [600_000, '10m'],
    [5_400_000, '1h30m'],
    [777_600_000, '1w2d'],
    [3_601_500, '1h1s500ms'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('writes what parseDurationMs reads back to the same milliseconds', () => {
    for (const ms of [1, 999, 1000, 61_001, 86_399_999, 1_209_600_000, 123_456_789]) expect(parseDurationMs(formatDuration(ms))).toBe(ms);
  });
});
