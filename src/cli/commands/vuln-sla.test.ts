import { describe, expect, it } from 'vitest';
import { parsePolicy } from './vuln-sla.ts';

describe('--sla', () => {
  it('has the documented defaults', () => {
    expect(parsePolicy(undefined)).toEqual({ CRITICAL: 7, HIGH: 14, MEDIUM: 30, LOW: 30, NONE: 30, UNKNOWN: 30 });
  });

  it('gives none and unscored findings low\'s days unless they have their own', () => {
    expect(parsePolicy('low=90')).toMatchObject({ LOW: 90, NONE: 90, UNKNOWN: 90, MEDIUM: 30 });
    expect(parsePolicy('unknown=5,low=90')).toMatchObject({ LOW: 90, NONE: 90, UNKNOWN: 5 });
    expect(parsePolicy('critical=3')).toMatchObject({ CRITICAL: 3, LOW: 30, UNKNOWN: 30 });
  });

  it('refuses pairs it cannot read, naming the flag', () => {
    expect(() => parsePolicy('low=soon')).toThrow('--sla low=soon: use SEVERITY=DAYS pairs');
    expect(() => parsePolicy('dire=3')).toThrow('--sla dire=3');
  });
});
