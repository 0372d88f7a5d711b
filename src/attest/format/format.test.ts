import { describe, expect, it } from 'vitest';
import { AttestError } from '../errors.ts';
import { predicateTypeMatches, predicateTypeUri } from './predicate-types.ts';
import { parsePredicate, predicateTime } from './predicates.ts';
import { SLSA_PROVENANCE_V1, buildSlsaProvenanceV1, digestResource } from './slsa.ts';

const enc = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const NOW = new Date('2026-01-02T03:04:05.678Z');

describe('predicate types', () => {
  it('maps cosign names and passes URIs through', () => {
    expect(predicateTypeUri('slsaprovenance1')).toBe('https://slsa.dev/provenance/v1');
    expect(predicateTypeUri('spdxjson')).toBe('https://spdx.dev/Document');
    expect(predicateTypeUri('cyclonedx')).toBe('https://cyclonedx.org/bom');
    expect(predicateTypeUri('openvex')).toBe('https://openvex.dev/ns');
    expect(predicateTypeUri('https://example.com/p/v1')).toBe('https://example.com/p/v1');
    expect(() => predicateTypeUri('nonsense')).toThrow(AttestError);
    expect(predicateTypeMatches('https://openvex.dev/ns/v0.2.0', 'https://openvex.dev/ns')).toBe(true);
    expect(predicateTypeMatches('https://spdx.dev/Document', 'https://cyclonedx.org/bom')).toBe(false);
  });
});

describe('SLSA v1 builder', () => {
  it('emits the required fields, omits absent optional ones, and validates', () => {
    const predicate = buildSlsaProvenanceV1({
      buildType: 'https://kiln.dev/build/image/v1',
      externalParameters: { config: 'images/app.yaml' },
      resolvedDependencies: [digestResource('pkg:apk/wolfi/busybox@1.36-r1?arch=x86_64', `sha256:${'a'.repeat(64)}`)],
      builder: { id: 'https://kiln.dev/builders/local@v1', version: { kiln: '0.1.0' } },
      startedOn: NOW,
      finishedOn: new Date(NOW.getTime() + 1000),
    });
    expect(predicate).toEqual({
      buildDefinition: {
        buildType: 'https://kiln.dev/build/image/v1',
        externalParameters: { config: 'images/app.yaml' },
        resolvedDependencies: [{ uri: 'pkg:apk/wolfi/busybox@1.36-r1?arch=x86_64', digest: { sha256: 'a'.repeat(64) } }],
      },
      runDetails: { builder: { id: 'https://kiln.dev/builders/local@v1', version: { kiln: '0.1.0' } }, metadata: { startedOn: '2026-01-02T03:04:05Z', finishedOn: '2026-01-02T03:04:06Z' } },
    });
    expect(parsePredicate(enc(predicate), SLSA_PROVENANCE_V1, 'p', NOW)).toEqual(predicate);
    expect(predicateTime(SLSA_PROVENANCE_V1, predicate)?.toISOString()).toBe('2026-01-02T03:04:06.000Z');
  });
});

describe('predicate validation', () => {
  it.each([
    ['https://slsa.dev/provenance/v1', { buildDefinition: { buildType: 'x' }, runDetails: { builder: { id: 'y' } } }, 'externalParameters'],
    ['https://spdx.dev/Document', { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT' }, 'creationInfo.created'],
    ['https://cyclonedx.org/bom', { bomFormat: 'SPDX' }, 'bomFormat'],
    ['https://openvex.dev/ns', { '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'x', author: 'a', timestamp: 't' }, 'statements'],
  ])('rejects an incomplete %s predicate naming the missing field', (type, value, field) => {
    expect(() => parsePredicate(enc(value), type, 'file.json', NOW)).toThrow(field);
  });

  it('rejects non-JSON for typed predicates and wraps text for custom', () => {
    expect(() => parsePredicate(enc('not json'), 'https://spdx.dev/Document', 'f', NOW)).toThrow(AttestError);
    expect(parsePredicate(enc('free text'), 'https://cosign.sigstore.dev/attestation/v1', 'f', NOW)).toEqual({ Data: 'free text', Timestamp: '2026-01-02T03:04:05Z' });
  });

  it('reads the signed production time of SBOM and VEX predicates', () => {
    expect(predicateTime('https://spdx.dev/Document', { creationInfo: { created: '2025-05-05T00:00:00Z' } })?.getUTCFullYear()).toBe(2025);
    expect(predicateTime('https://cyclonedx.org/bom', { metadata: { timestamp: '2024-01-01T00:00:00Z' } })?.getUTCFullYear()).toBe(2024);
    expect(predicateTime('https://openvex.dev/ns/v0.2.0', { timestamp: '2023-01-01T00:00:00Z', last_updated: '2023-06-01T00:00:00Z' })?.getUTCMonth()).toBe(5);
    expect(predicateTime('https://spdx.dev/Document', { creationInfo: {} })).toBeUndefined();
  });
});
