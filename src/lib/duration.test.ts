import { describe, expect, it } from 'vitest';
import { parseDurationMs } from './duration.ts';

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
