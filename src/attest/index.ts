/**
 * Attestations: in-toto statements in DSSE envelopes, stored like cosign (`.att` tag layers) and as
 * Sigstore bundle referrers; predicate builders (SLSA v1) and checks (SPDX, CycloneDX, OpenVEX);
 * policies over signatures and attestations.
 *
 *   const predicate = buildSlsaProvenanceV1({ buildType, externalParameters, builder: { id } });
 *   await attestImage({ client, reference, signer, predicateType: SLSA_PROVENANCE_V1, predicate });
 *   await verifyAttestations({ client, reference, policy: { keys }, predicateType: SLSA_PROVENANCE_V1 });
 */
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { AttestError, attestErrorCodes } from './errors.ts';
export type { AttestErrorCode } from './errors.ts';
export { PREDICATE_TYPES, predicateTypeUri, predicateTypeMatches } from './format/predicate-types.ts';
export { parsePredicate, validatePredicate, predicateTime, samePredicate } from './format/predicates.ts';
export { ATTESTED_AT_ANNOTATION, attestationTime, attestedAtAnnotations, sameAttestation, statementTime } from './format/attestation-time.ts';
export type { AttestationTime, AttestationTimeSource } from './format/attestation-time.ts';
export { buildSlsaProvenanceV1, digestResource, SLSA_PROVENANCE_V1 } from './format/slsa.ts';
export type { SlsaBuildInput, SlsaResource } from './format/slsa.ts';
export { attestImage } from './attest-image.ts';
export type { AttestImageOptions, AttestedManifest } from './attest-image.ts';
export { verifyAttestations } from './verify-attestation.ts';
export type { VerifyAttestationsOptions, VerifiedAttestation } from './verify-attestation.ts';
export { imageTree, downloadAttestations, downloadAttachedSboms } from './discover.ts';
export type { ImageTree, DownloadedAttestation, MalformedAttestation } from './discover.ts';
export { parsePolicy, parseDuration, policyJsonSchema } from './format/policy.ts';
export type { Policy, KeylessAuthority } from './format/policy.ts';
export { evaluatePolicy, assertPolicyPassed } from './policy.ts';
export type { PolicyReport, PolicyCheck, EvaluatePolicyOptions } from './policy.ts';
