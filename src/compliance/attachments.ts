import { downloadAttestations, imageTree } from '../attest/index.ts';
import { isKilnError } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { BUNDLE_MEDIA_TYPE, COSIGN_SIG_ARTIFACT_TYPE, COSIGN_SIGN_PREDICATE, verifyImage } from '../sign/index.ts';
import type { TrustPolicy } from '../sign/index.ts';
import type { Evidence } from './format/check-model.ts';
import type { AttachedArtifacts } from './format/checks.ts';

// What is attached to an image in its registry: cosign `.sig`/`.att` tags and OCI referrers
// (Sigstore bundles, cosign's OCI 1.1 signatures). Signatures are verified as `kiln verify` does
// when a trust policy (a key or a keyless identity) is given; without one they are only found,
// which proves nothing about who signed. Attestations are found, not verified.

const SBOM_TYPES = /^https:\/\/(spdx\.dev\/Document|cyclonedx\.org\/bom)/;
const PROVENANCE_TYPES = /^https:\/\/slsa\.dev\/provenance\//;
/** Verification failures that are findings of the check; any other error (the registry cannot be
 *  reached) stops the command. */
const NOT_VERIFIED = new Set(['SIGNATURE_NOT_FOUND', 'SIGNATURE_INVALID', 'IDENTITY_MISMATCH', 'SIGNATURE_PAYLOAD_INVALID', 'BUNDLE_INVALID']);

/** Signatures and SBOM and provenance attestations attached to any of `digests`; with `policy`,
 *  the signatures that verify against it. */
export async function findAttachments(client: RegistryClient, repo: { registry: string; repository: string }, digests: readonly Digest[], policy?: TrustPolicy): Promise<AttachedArtifacts> {
  const attached: AttachedArtifacts = { subjects: [...new Set(digests)], signatures: [], sboms: [], provenance: [] };
  const verification = { verified: [] as Evidence[], failures: [] as string[] };
  for (const digest of attached.subjects as Digest[]) {
    const reference = { ...repo, digest };
    const tree = await imageTree(client, reference);
    for (const layer of tree.signatures?.layers ?? []) attached.signatures.push({ digest: layer.digest, detail: `cosign signature in tag ${tree.signatures!.tag} (subject ${digest})` });
    for (const referrer of tree.referrers) {
      const isSignatureBundle = referrer.artifactType === BUNDLE_MEDIA_TYPE && referrer.annotations?.['dev.sigstore.bundle.predicateType'] === COSIGN_SIGN_PREDICATE;
      if (isSignatureBundle || referrer.artifactType === COSIGN_SIG_ARTIFACT_TYPE) attached.signatures.push({ digest: referrer.digest, detail: `signature referrer ${referrer.artifactType} (subject ${digest})` });
    }
    for (const attestation of await downloadAttestations(client, reference)) {
      const type = attestation.predicateType ?? '';
      const item: Evidence = { digest: attestation.digest, detail: `${type} attestation in ${attestation.source === 'tag' ? 'the .att tag' : 'a bundle referrer'} (subject ${digest})` };
      if (SBOM_TYPES.test(type)) attached.sboms.push(item);
      else if (PROVENANCE_TYPES.test(type)) attached.provenance.push(item);
    }
    if (!policy) continue;
    try {
      for (const signature of await verifyImage({ client, reference, policy })) {
        const by = signature.keyHint ?? signature.identity?.subjectAlternativeName;
        verification.verified.push({ digest, detail: `signature (${signature.source}) verified${by ? ` by ${by}` : ''} for subject ${digest}` });
      }
    } catch (error) {
      if (!isKilnError(error) || !NOT_VERIFIED.has(error.code)) throw error;
      if (error.code !== 'SIGNATURE_NOT_FOUND') verification.failures.push(error.message.replace(/\s*\n\s*/g, ' '));
    }
  }
  return policy ? { ...attached, verification } : attached;
}
