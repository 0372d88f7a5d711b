import { downloadAttestations, imageTree, verifyAttestations } from '../attest/index.ts';
import type { DownloadedAttestation, VerifiedAttestation } from '../attest/index.ts';
import { isKilnError } from '../lib/index.ts';
import type { KilnError } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { BUNDLE_MEDIA_TYPE, COSIGN_SIG_ARTIFACT_TYPE, COSIGN_SIGN_PREDICATE, verifyImage } from '../sign/index.ts';
import type { TrustPolicy } from '../sign/index.ts';
import type { Evidence } from './format/check-model.ts';
import type { AttachedArtifacts, AttachmentVerification } from './format/checks.ts';

// What is attached to an image in its registry: cosign `.sig`/`.att` tags and OCI referrers
// (Sigstore bundles, cosign's OCI 1.1 signatures). Signatures and SBOM and provenance attestations
// are verified as `kiln verify` and `kiln verify-attestation` do when a trust policy (a key or a
// keyless identity) is given; without one they are only found, which proves nothing about who
// attached them or what they are about.

const SBOM_TYPES = /^https:\/\/(spdx\.dev\/Document|cyclonedx\.org\/bom)/;
const PROVENANCE_TYPES = /^https:\/\/slsa\.dev\/provenance\//;
/** Verification failures that are findings of the check; any other error (the registry cannot be
 *  reached) stops the command. */
const NOT_VERIFIED = new Set(['SIGNATURE_NOT_FOUND', 'SIGNATURE_INVALID', 'IDENTITY_MISMATCH', 'SIGNATURE_PAYLOAD_INVALID', 'BUNDLE_INVALID']);
/** The same for attestations: verifyAttestations reports each rejected one inside
 *  ATTESTATION_INVALID (a registry error while reading one of them is among those reasons, as for
 *  signatures); ATTESTATION_NOT_FOUND means the signed statement is not of the type its unsigned
 *  annotation claimed. */
const ATTESTATION_NOT_VERIFIED = new Set(['ATTESTATION_NOT_FOUND', 'ATTESTATION_INVALID']);

const oneLine = (message: string) => message.replace(/\s*\n\s*/g, ' ');

/** Who signed a verified signature or attestation: the key's hint or the certificate's identity. */
function signer(verified: { keyHint?: string; identity?: { subjectAlternativeName?: string; issuer?: string } }): string {
  if (verified.keyHint) return ` by key ${verified.keyHint}`;
  const identity = verified.identity;
  if (!identity?.subjectAlternativeName) return '';
  return ` by ${identity.subjectAlternativeName}${identity.issuer ? ` (issuer ${identity.issuer})` : ''}`;
}

/** Why each attestation of a type was rejected for a subject: ATTESTATION_INVALID lists them in its
 *  detail (one per `.att` layer or bundle referrer); otherwise the error says why. */
function rejections(error: KilnError, predicateType: string, subject: Digest): string[] {
  const failures = error.detail.failures;
  const each = Array.isArray(failures) && failures.length && failures.every((item) => typeof item === 'string') ? failures : [error.message];
  return each.map((failure) => `${predicateType} attestation for subject ${subject} rejected: ${oneLine(failure)}`);
}

/** Evidence of a verified attestation, named by the `.att` layer or bundle referrer digest it was
 *  found as (the one holding the very statement verified; unnamed if the registry changed between
 *  the two reads). */
function verifiedEvidence(attestation: VerifiedAttestation, subject: Digest, found: readonly DownloadedAttestation[]): Evidence {
  const payload = Buffer.from(attestation.payloadBytes);
  const stored = found.find((item) => item.source === attestation.source && typeof item.envelope.payload === 'string' && payload.equals(Buffer.from(item.envelope.payload, 'base64')));
  const where = attestation.source === 'tag' ? 'the .att tag' : 'a bundle referrer';
  return { ...(stored ? { digest: stored.digest } : {}), detail: `${attestation.predicateType} attestation in ${where} verified${signer(attestation)} for subject ${subject}` };
}

/** Signatures and SBOM and provenance attestations attached to any of `digests`; with `policy`,
 *  those that verify against it for the digest they are attached to. */
export async function findAttachments(client: RegistryClient, repo: { registry: string; repository: string }, digests: readonly Digest[], policy?: TrustPolicy): Promise<AttachedArtifacts> {
  const attached: AttachedArtifacts = { subjects: [...new Set(digests)], signatures: [], sboms: [], provenance: [] };
  const empty = (): AttachmentVerification => ({ verified: [], failures: [] });
  const verification = { signatures: empty(), sboms: empty(), provenance: empty() };
  for (const digest of attached.subjects as Digest[]) {
    const reference = { ...repo, digest };
    const tree = await imageTree(client, reference);
    for (const layer of tree.signatures?.layers ?? []) attached.signatures.push({ digest: layer.digest, detail: `cosign signature in tag ${tree.signatures!.tag} (subject ${digest})` });
    for (const referrer of tree.referrers) {
      const isSignatureBundle = referrer.artifactType === BUNDLE_MEDIA_TYPE && referrer.annotations?.['dev.sigstore.bundle.predicateType'] === COSIGN_SIGN_PREDICATE;
      if (isSignatureBundle || referrer.artifactType === COSIGN_SIG_ARTIFACT_TYPE) attached.signatures.push({ digest: referrer.digest, detail: `signature referrer ${referrer.artifactType} (subject ${digest})` });
    }
    // A malformed attestation is found but can never verify: evidence of the check, not an error.
    const downloaded = await downloadAttestations(client, reference, {
      onMalformed: (found) => {
        const type = found.predicateType ?? '';
        const kind = SBOM_TYPES.test(type) ? 'sboms' : PROVENANCE_TYPES.test(type) ? 'provenance' : undefined;
        if (!kind) return;
        const detail = `${type} attestation in ${found.source === 'tag' ? 'the .att tag' : 'a bundle referrer'} (subject ${digest}) is malformed: ${oneLine(found.error.message)}`;
        attached[kind].push({ digest: found.digest, detail });
        if (policy) verification[kind].failures.push(detail);
      },
    });
    // the predicate types the attestations claim (unsigned annotations), per kind: each is
    // verified below, where the signed statement must carry that type
    const claimed = { sboms: new Set<string>(), provenance: new Set<string>() };
    for (const attestation of downloaded) {
      const type = attestation.predicateType ?? '';
      const item: Evidence = { digest: attestation.digest, detail: `${type} attestation in ${attestation.source === 'tag' ? 'the .att tag' : 'a bundle referrer'} (subject ${digest})` };
      const kind = SBOM_TYPES.test(type) ? 'sboms' : PROVENANCE_TYPES.test(type) ? 'provenance' : undefined;
      if (!kind) continue;
      attached[kind].push(item);
      claimed[kind].add(type);
    }
    if (!policy) continue;
    try {
      for (const signature of await verifyImage({ client, reference, policy })) {
        verification.signatures.verified.push({ digest, detail: `signature (${signature.source}) verified${signer(signature)} for subject ${digest}` });
      }
    } catch (error) {
      if (!isKilnError(error) || !NOT_VERIFIED.has(error.code)) throw error;
      if (error.code !== 'SIGNATURE_NOT_FOUND') verification.signatures.failures.push(oneLine(error.message));
    }
    for (const kind of ['sboms', 'provenance'] as const) {
      for (const predicateType of claimed[kind]) {
        // verifyAttestations checks the signature against the policy, that the statement's subject
        // names this digest and that its predicate type is the one asked for
        try {
          for (const attestation of await verifyAttestations({ client, reference, policy, predicateType })) verification[kind].verified.push(verifiedEvidence(attestation, digest, downloaded));
        } catch (error) {
          if (!isKilnError(error) || !ATTESTATION_NOT_VERIFIED.has(error.code)) throw error;
          verification[kind].failures.push(...rejections(error, predicateType, digest));
        }
      }
    }
  }
  return policy ? { ...attached, verification } : attached;
}
