import { describe, expect, it } from 'vitest';
import { AttestError } from '../errors.ts';
import { parseDuration, parsePolicy } from './policy.ts';

describe('parsePolicy', () => {
  it('reads authorities, required signatures and attestation rules', () => {
    const policy = parsePolicy(
      `
authorities:
  release: { key: keys/release.pub }
  ci:
    keyless: { identityRegExp: '^https://github.com/org/', issuer: https://token.actions.githubusercontent.com, trustedRoot: root.json }
signatures:
  required: [release]
attestations:
  - type: slsaprovenance1
    authorities: [ci]
    maxAge: 30d
  - type: https://example.com/custom/v1
`,
      'p.yaml',
    );
    expect(policy.requiredSignatures).toEqual(['release']);
    expect(policy.authorities.release).toEqual({ key: 'keys/release.pub' });
    expect(policy.authorities.ci!.keyless!.identity).toBeInstanceOf(RegExp);
    expect(policy.attestations).toEqual([
      { predicateType: 'https://slsa.dev/provenance/v1', type: 'slsaprovenance1', authorities: ['ci'], maxAge: '30d', maxAgeMs: 30 * 86_400_000 },
      { predicateType: 'https://example.com/custom/v1', type: 'https://example.com/custom/v1', authorities: ['release', 'ci'] },
    ]);
  });

  it.each([
    ['authorities: {a: {key: k}}\nsignatures: {required: [b]}', 'not defined'],
    ['authorities: {a: {key: k, keyless: {trustedRoot: r}}}\nsignatures: {required: [a]}', 'exactly one of key or keyless'],
    ['authorities: {a: {key: k}}\nattestations: [{type: nope}]', 'attestations[0].type'],
    ['authorities: {a: {key: k}}\nattestations: [{type: spdxjson, maxAge: 3 days}]', 'duration'],
    ['authorities: {a: {key: k}}\nunknownField: 1\nsignatures: {required: [a]}', 'unknownField'],
    ['authorities: {a: {key: k}}', 'requires nothing'],
    ['authorities: {a: {keyless: {issuer: x, trustedRoot: r}}}\nsignatures: {required: [a]}', 'identity'],
    ['[unbalanced', 'not valid YAML'],
  ])('rejects %j naming the problem', (text, fragment) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(AttestError);
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(fragment);
  });

  it('parses durations', () => {
    expect(parseDuration('1w2d', 'x')).toBe(9 * 86_400_000);
    expect(parseDuration('90m', 'x')).toBe(90 * 60_000);
    expect(() => parseDuration('10', 'x')).toThrow(AttestError);
  });
});
