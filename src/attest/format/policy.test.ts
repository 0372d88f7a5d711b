import { describe, expect, it } from 'vitest';
import { AttestError } from '../errors.ts';
import { checkHardeningResults, newestAttested, parseDuration, parsePolicy } from './policy.ts';

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
    ['authorities: {a: {key: k}}\nhardening: {require: []}', 'hardening.require'],
    ['authorities: {a: {key: k}}\nhardening: {require: [Non Root]}', 'a check id like non-root-user'],
    ['authorities: {a: {key: k}}\nhardening: {require: some}', 'hardening.require'],
    ['authorities: {a: {key: k}}\nhardening: {require: all, authorities: [b]}', 'hardening.authorities names authority "b"'],
    ['authorities: {a: {key: k}}\nhardening: {require: all, allowdev: true}', 'allowdev'],
  ])('rejects %j naming the problem', (text, fragment) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(AttestError);
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(fragment);
  });

  it('parses durations', () => {
    expect(parseDuration('1w2d', 'x')).toBe(9 * 86_400_000);
    expect(parseDuration('90m', 'x')).toBe(90 * 60_000);
    expect(() => parseDuration('10', 'x')).toThrow(AttestError);
  });

  it('reads a hardening section: all or named checks, allowDev, authorities defaulting to every one', () => {
    const all = parsePolicy('authorities: {a: {key: k}, b: {key: l}}\nhardening: {require: all}', 'p.yaml');
    expect(all.hardening).toEqual({ authorities: ['a', 'b'], require: 'all', allowDev: false });
    expect(all.requiredSignatures).toEqual([]);
    const listed = parsePolicy('authorities: {a: {key: k}, b: {key: l}}\nhardening: {require: [no-shell, non-root-user, no-shell], allowDev: true, authorities: [b]}', 'p.yaml');
    expect(listed.hardening).toEqual({ authorities: ['b'], require: ['no-shell', 'non-root-user'], allowDev: true });
  });
});

describe('checkHardeningResults', () => {
  const predicate = (kind: 'runtime' | 'dev', statuses: Record<string, string>) => ({
    image: { name: 'r/app:1', platform: 'linux/amd64', variant: { kind } },
    checks: Object.entries(statuses).map(([id, status]) => ({ id, status, summary: `${id} ${status}` })),
    counts: {},
    isBlocking: false,
  });
  const runtime = predicate('runtime', { 'non-root-user': 'pass', 'no-shell': 'pass', 'fips-configured': 'not-applicable', 'sbom-packages': 'not-run', 'no-setuid-setgid': 'fail' });

  it('require all: every check must pass or be not-applicable; not-run and fail are named', () => {
    expect(checkHardeningResults(runtime, { require: 'all', allowDev: false })).toEqual({ passed: false, detail: '2 of 5 required checks unmet: sbom-packages not-run, no-setuid-setgid fail' });
    const clean = predicate('runtime', { 'non-root-user': 'pass', 'fips-configured': 'not-applicable' });
    expect(checkHardeningResults(clean, { require: 'all', allowDev: false })).toEqual({ passed: true, detail: '2 required checks met: 1 pass, 1 not-applicable' });
  });

  it('named checks: only those count; one the attestation lacks fails by name', () => {
    expect(checkHardeningResults(runtime, { require: ['non-root-user', 'no-shell'], allowDev: false })).toEqual({ passed: true, detail: '2 required checks met: 2 pass' });
    expect(checkHardeningResults(runtime, { require: ['sbom-packages'], allowDev: false })).toEqual({ passed: false, detail: '1 of 1 required checks unmet: sbom-packages not-run' });
    expect(checkHardeningResults(runtime, { require: ['non-root-user', 'no-such-check'], allowDev: false })).toEqual({ passed: false, detail: '1 of 2 required checks unmet: no-such-check not in the attestation' });
  });

  it('allowed meets a requirement only with allowDev and only in a dev variant', () => {
    const dev = predicate('dev', { 'no-shell': 'allowed', 'non-root-user': 'pass' });
    expect(checkHardeningResults(dev, { require: 'all', allowDev: false }).passed).toBe(false);
    expect(checkHardeningResults(dev, { require: 'all', allowDev: true })).toEqual({ passed: true, detail: '2 required checks met: 1 pass, 1 allowed (dev variant)' });
    const labelledRuntime = predicate('runtime', { 'no-shell': 'allowed' });
    expect(checkHardeningResults(labelledRuntime, { require: 'all', allowDev: true })).toEqual({ passed: false, detail: '1 of 1 required checks unmet: no-shell allowed' });
  });

  it('fails a predicate that is not a hardening-check result', () => {
    expect(checkHardeningResults(undefined, { require: 'all', allowDev: false })).toEqual({ passed: false, detail: 'the attestation has no checks list' });
    expect(checkHardeningResults({ checks: [] }, { require: 'all', allowDev: false })).toEqual({ passed: false, detail: 'the attestation lists no checks' });
    expect(checkHardeningResults({ checks: [{ id: 'no-shell' }] }, { require: ['no-shell'], allowDev: false })).toEqual({ passed: false, detail: '1 of 1 required checks unmet: no-shell unknown' });
  });
});

describe('newestAttested', () => {
  const at = (name: string, time?: string) => ({ name, time: time ? new Date(time) : undefined });
  const newest = (items: ReturnType<typeof at>[]) => newestAttested(items, (item) => item.time);

  it('picks the latest time; untimed counts as oldest; the first of equal times wins', () => {
    expect(newest([at('a', '2026-01-01T00:00:00Z'), at('b', '2026-03-01T00:00:00Z'), at('c', '2026-02-01T00:00:00Z')])!.name).toBe('b');
    expect(newest([at('untimed'), at('old', '2000-01-01T00:00:00Z')])!.name).toBe('old');
    expect(newest([at('untimed'), at('also-untimed')])!.name).toBe('untimed');
    expect(newest([at('first', '2026-01-01T00:00:00Z'), at('second', '2026-01-01T00:00:00Z')])!.name).toBe('first');
    expect(newest([])).toBeUndefined();
  });
});
