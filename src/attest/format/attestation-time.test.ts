import { describe, expect, it } from 'vitest';
import { buildStatement } from '../../sign/index.ts';
import type { Statement } from '../../sign/index.ts';
import { ATTESTED_AT_ANNOTATION, attestationTime, attestedAtAnnotations, sameAttestation, statementTime } from './attestation-time.ts';
import { buildSlsaProvenanceV1 } from './slsa.ts';
import { samePredicate } from './predicates.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
const OTHER = `sha256:${'cd'.repeat(32)}` as const;
const SPDX = 'https://spdx.dev/Document';
const sbom = { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', creationInfo: { created: '1970-01-01T00:00:00Z', creators: ['Tool: kiln'] } };

describe('the signed attest time', () => {
  it('is written as an RFC 3339 subject annotation and read back from the subject naming the digest', () => {
    const at = new Date('2026-03-01T12:34:56.789Z');
    expect(attestedAtAnnotations(at)).toEqual({ 'dev.kiln.attested-at': '2026-03-01T12:34:56Z' });
    const statement = buildStatement('r.example/app', DIGEST, SPDX, sbom, attestedAtAnnotations(at));
    expect(statement.subject[0]!.annotations).toEqual({ [ATTESTED_AT_ANNOTATION]: '2026-03-01T12:34:56Z' });
    expect(statementTime(statement, DIGEST)).toEqual(new Date('2026-03-01T12:34:56Z'));
    expect(statementTime(statement, OTHER)).toBeUndefined();
  });

  it('is absent when missing or not an RFC 3339 UTC time', () => {
    expect(statementTime(buildStatement('r/app', DIGEST, SPDX, sbom), DIGEST)).toBeUndefined();
    for (const value of ['yesterday', '2026-03-01', '2026-03-01T12:00:00+02:00', '2026-13-45T99:00:00Z']) {
      expect(statementTime(buildStatement('r/app', DIGEST, SPDX, sbom, { [ATTESTED_AT_ANNOTATION]: value }), DIGEST), value).toBeUndefined();
    }
  });
});

describe('attestationTime', () => {
  const log = new Date('2026-03-01T10:00:00Z');
  const tsa = new Date('2026-03-01T10:00:02Z');
  const signed = new Date('2020-01-01T00:00:00Z');
  const predicate = new Date('1970-01-01T00:00:00Z');

  it('prefers the earliest verified log or timestamp-authority time over the signed statement and the predicate', () => {
    const timestamps = [
      { source: 'timestamp-authority' as const, time: tsa },
      { source: 'transparency-log' as const, time: log },
    ];
    expect(attestationTime({ timestamps, statementTime: signed, predicateTime: predicate })).toEqual({ time: log, source: 'transparency-log' });
    expect(attestationTime({ timestamps: [timestamps[0]!], statementTime: signed })).toEqual({ time: tsa, source: 'timestamp-authority' });
  });

  it('falls back to the signed statement time, then to the predicate time, else has none', () => {
    expect(attestationTime({ timestamps: [], statementTime: signed, predicateTime: predicate })).toEqual({ time: signed, source: 'statement' });
    expect(attestationTime({ predicateTime: predicate })).toEqual({ time: predicate, source: 'predicate' });
    expect(attestationTime({})).toBeUndefined();
  });
});

describe('sameAttestation and samePredicate', () => {
  const at = (iso: string) => attestedAtAnnotations(new Date(iso));
  const statement = (predicateType: string, predicate: unknown, annotations?: Record<string, string>): Statement => buildStatement('r.example/app', DIGEST, predicateType, predicate, annotations);

  it('ignores only the attest time in the subject', () => {
    expect(sameAttestation(statement(SPDX, sbom, at('2026-01-01T00:00:00Z')), statement(SPDX, { ...sbom }, at('2026-02-01T00:00:00Z')))).toBe(true);
    expect(sameAttestation(statement(SPDX, sbom), statement(SPDX, sbom, at('2026-02-01T00:00:00Z')))).toBe(true);
    expect(sameAttestation(statement(SPDX, sbom, { ...at('2026-01-01T00:00:00Z'), env: 'prod' }), statement(SPDX, sbom, at('2026-01-01T00:00:00Z')))).toBe(false);
    expect(sameAttestation(statement(SPDX, sbom), buildStatement('r.example/other', DIGEST, SPDX, sbom))).toBe(false);
    expect(sameAttestation(statement(SPDX, sbom), buildStatement('r.example/app', OTHER, SPDX, sbom))).toBe(false);
    expect(sameAttestation(statement(SPDX, sbom), statement('https://example.com/other', sbom))).toBe(false);
  });

  it('treats an SBOM with any other content, even only a later creation date, as a new attestation', () => {
    expect(samePredicate(SPDX, sbom, JSON.parse(JSON.stringify(sbom)))).toBe(true);
    expect(samePredicate(SPDX, sbom, { ...sbom, creationInfo: { ...sbom.creationInfo, created: '2026-01-01T00:00:00Z' } })).toBe(false);
  });

  it("ignores cosign's custom Timestamp but not its Data", () => {
    const custom = 'https://cosign.sigstore.dev/attestation/v1';
    expect(samePredicate(custom, { Data: 'hello', Timestamp: '2026-01-01T00:00:00Z' }, { Data: 'hello', Timestamp: '2026-02-01T00:00:00Z' })).toBe(true);
    expect(samePredicate(custom, { Data: 'hello', Timestamp: '2026-01-01T00:00:00Z' }, { Data: 'hello!', Timestamp: '2026-01-01T00:00:00Z' })).toBe(false);
  });

  it('ignores the run metadata of SLSA provenance but not the build definition or builder', () => {
    const build = (finishedOn: Date, config = 'app.yaml', invocationId = 'run-1') =>
      buildSlsaProvenanceV1({ buildType: 'https://kiln.dev/build/image/v1', externalParameters: { config }, builder: { id: 'https://kiln.dev/b' }, invocationId, startedOn: new Date(finishedOn.getTime() - 1000), finishedOn });
    const v1 = 'https://slsa.dev/provenance/v1';
    expect(samePredicate(v1, build(new Date('2026-01-01T00:00:00Z')), build(new Date('2026-02-01T00:00:00Z'), 'app.yaml', 'run-2'))).toBe(true);
    expect(samePredicate(v1, build(new Date('2026-01-01T00:00:00Z')), build(new Date('2026-01-01T00:00:00Z'), 'other.yaml'))).toBe(false);
    const v02 = 'https://slsa.dev/provenance/v0.2';
    const old = (finished: string, materials: string[]) => ({ builder: { id: 'b' }, buildType: 't', metadata: { buildFinishedOn: finished, reproducible: true }, materials });
    expect(samePredicate(v02, old('2026-01-01T00:00:00Z', ['a']), old('2026-02-01T00:00:00Z', ['a']))).toBe(true);
    expect(samePredicate(v02, old('2026-01-01T00:00:00Z', ['a']), old('2026-01-01T00:00:00Z', ['b']))).toBe(false);
  });
});
