import { describe, expect, it } from 'vitest';
import { checkHardeningResults, HARDENING_CHECKS_PREDICATE_TYPE, parsePolicy } from '../attest/format/policy.ts';
import { HARDENING_CHECKS_PREDICATE } from './attest-results.ts';
import { CHECKS } from './format/checks.ts';

// `kiln policy verify` (src/attest) reads the hardening-check attestation this domain writes; the
// attest domain cannot import this one (compliance imports attest), so these keep the two in step.
describe('hardening-check attestation as kiln policy verify reads it', () => {
  it('has the same predicate type on both sides', () => {
    expect(HARDENING_CHECKS_PREDICATE_TYPE).toBe(HARDENING_CHECKS_PREDICATE);
  });

  it('accepts every check id in a policy, and reads the predicate attest-results writes', () => {
    const ids = Object.values(CHECKS).map((check) => check.id);
    const policy = parsePolicy(`authorities: {a: {key: k}}\nhardening: {require: ${JSON.stringify(ids)}}`, 'p.yaml');
    expect(policy.hardening!.require).toEqual(ids);
    const predicate = { image: { variant: { kind: 'runtime' } }, checks: Object.values(CHECKS).map((check) => ({ ...check, status: 'pass', summary: '', evidence: [] })), counts: {}, isBlocking: false };
    expect(checkHardeningResults(predicate, policy.hardening!)).toEqual({ passed: true, detail: `${ids.length} required checks met: ${ids.length} pass` });
  });
});
