import { downloadAttestations, imageTree } from '../attest/index.ts';
import type { Digest } from '../lib/index.ts';
import type { RegistryClient } from '../registry-client/index.ts';
import { BUNDLE_MEDIA_TYPE, COSIGN_SIG_ARTIFACT_TYPE, COSIGN_SIGN_PREDICATE } from '../sign/index.ts';
import type { Evidence } from './format/check-model.ts';
import type { AttachedArtifacts } from './format/checks.ts';

// What is attached to an image in its registry: cosign `.sig`/`.att` tags and OCI referrers
// (Sigstore bundles, cosign's OCI 1.1 signatures). Found, not verified: `kiln verify` and
// `kiln verify-attestation` verify with a key or identity, which a hardening check does not have.

const SBOM_TYPES = /^https:\/\/(spdx\.dev\/Document|cyclonedx\.org\/bom)/;
const PROVENANCE_TYPES = /^https:\/\/slsa\.dev\/provenance\//;

/** Signatures and SBOM and provenance attestations attached to any of `digests`. */
export async function findAttachments(client: RegistryClient, repo: { registry: string; repository: string }, digests: readonly Digest[]): Promise<AttachedArtifacts> {
  const attached: AttachedArtifacts = { subjects: [...new Set(digests)], signatures: [], sboms: [], provenance: [] };
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
  }
  return attached;
}
