import type { Digest } from '../../lib/index.ts';
import { sameJson } from '../../sign/index.ts';
import type { Statement, VerifiedTimestamp } from '../../sign/index.ts';
import { samePredicate } from './predicates.ts';

// When an attestation was made, for a policy's `maxAge` (docs/policy.md, "Which time maxAge
// measures"), and when two attestations are the same one (so attesting again is a no-op).

/** Subject annotation Kiln signs into every attestation statement it makes: the attest time, RFC 3339
 *  UTC. Inside the signed statement, so only the key holder can set it (unlike the unsigned
 *  `org.opencontainers.image.created` annotation on a bundle referrer's manifest, which is ignored). */
export const ATTESTED_AT_ANNOTATION = 'dev.kiln.attested-at';

/** Where the time of an attestation came from, most trusted first: a transparency log's integrated
 *  time or an RFC 3161 timestamp (both verified with the bundle), Kiln's signed statement time (the
 *  signer's own clock), or, for attestations made without either, the time the predicate says it was
 *  produced (an SBOM's creation date, a provenance's finish time). */
export type AttestationTimeSource = 'transparency-log' | 'timestamp-authority' | 'statement' | 'predicate';

/** The time an attestation was made and which evidence says so. */
export interface AttestationTime {
  time: Date;
  source: AttestationTimeSource;
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The subject annotations Kiln signs into an attestation made at `now`. */
export function attestedAtAnnotations(now: Date): Record<string, string> {
  return { [ATTESTED_AT_ANNOTATION]: rfc3339(now) };
}

/** The attest time Kiln signed into the statement, from the subject naming `digest`. */
export function statementTime(statement: Statement, digest: Digest): Date | undefined {
  const [algorithm, hex] = digest.split(':') as [string, string];
  const subject = statement.subject.find((entry) => entry.digest?.[algorithm] === hex);
  const value = subject?.annotations?.[ATTESTED_AT_ANNOTATION];
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** The time `maxAge` measures from: the earliest verified transparency-log or timestamp-authority
 *  time when the bundle has one; else the time Kiln signed into the statement; else the predicate's
 *  own time. Unsigned annotations are never used. */
export function attestationTime(evidence: { timestamps?: readonly VerifiedTimestamp[]; statementTime?: Date; predicateTime?: Date }): AttestationTime | undefined {
  const witnessed = [...(evidence.timestamps ?? [])].sort((a, b) => a.time.getTime() - b.time.getTime())[0];
  if (witnessed) return { time: witnessed.time, source: witnessed.source };
  if (evidence.statementTime) return { time: evidence.statementTime, source: 'statement' };
  if (evidence.predicateTime) return { time: evidence.predicateTime, source: 'predicate' };
  return undefined;
}

function withoutAttestTime(statement: Statement): unknown {
  const subject = statement.subject.map((entry) => {
    if (!entry.annotations || !(ATTESTED_AT_ANNOTATION in entry.annotations)) return entry;
    const { [ATTESTED_AT_ANNOTATION]: _time, ...annotations } = entry.annotations;
    const { annotations: _all, ...rest } = entry;
    return Object.keys(annotations).length ? { ...rest, annotations } : rest;
  });
  return { _type: statement._type, subject };
}

/** True when a stored statement makes the same attestation as a wanted one: same statement type,
 *  subjects (Kiln's attest time aside) and predicate type, and predicates {@link samePredicate}
 *  counts as the same. */
export function sameAttestation(stored: Statement, wanted: Statement): boolean {
  return stored.predicateType === wanted.predicateType && sameJson(withoutAttestTime(stored), withoutAttestTime(wanted)) && samePredicate(wanted.predicateType, stored.predicate, wanted.predicate);
}
