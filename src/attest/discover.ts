import { parseJsonBounded } from '../lib/index.ts';
import type { Digest } from '../lib/index.ts';
import type { Descriptor, ImageReference } from '../oci/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import { BUNDLE_MEDIA_TYPE, CosignAnnotations, DSSE_ENVELOPE_MEDIA_TYPE, cosignTag } from '../sign/index.ts';
import type { DsseEnvelope } from '../sign/index.ts';
import { AttestError } from './errors.ts';
import { predicateTypeMatches } from './format/predicate-types.ts';
import { MediaTypes } from '../oci/index.ts';

/** Supply-chain artifacts attached to an image, as `kiln tree` shows them. */
export interface ImageTree {
  reference: string;
  digest: Digest;
  mediaType: string;
  signatures?: { tag: string; layers: Descriptor[] };
  attestations?: { tag: string; layers: Descriptor[] };
  sboms?: { tag: string; layers: Descriptor[] };
  /** OCI referrers (bundles and other artifacts); `viaApi` false when read from the fallback tag. */
  referrers: Descriptor[];
  referrersViaApi: boolean;
}

/** Lists the cosign tags (`.sig`, `.att`, `.sbom`) and referrers of an image's digest. */
export async function imageTree(client: RegistryClient, reference: ImageReference, signatureRepository?: RepositoryRef): Promise<ImageTree> {
  const target = await client.resolve(reference);
  const repo = signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const tree: ImageTree = { reference: `${reference.registry}/${reference.repository}`, digest: target.digest, mediaType: target.mediaType, referrers: [], referrersViaApi: false };
  for (const [suffix, field] of [['sig', 'signatures'], ['att', 'attestations'], ['sbom', 'sboms']] as const) {
    const tag = cosignTag(target.digest, suffix);
    const pulled = await client.getManifestIfExists({ ...repo, tag }, [MediaTypes.ociManifest, MediaTypes.dockerManifest]);
    if (pulled && 'layers' in pulled.manifest) tree[field] = { tag, layers: pulled.manifest.layers };
  }
  const referrers = await client.referrers(repo, target.digest);
  tree.referrers = referrers.manifests;
  tree.referrersViaApi = referrers.viaApi;
  return tree;
}

/** An attestation as stored, not verified (cosign `download attestation`). */
export interface DownloadedAttestation {
  source: 'tag' | 'bundle';
  /** The `.att` layer or bundle referrer manifest digest. */
  digest: Digest;
  predicateType?: string;
  envelope: DsseEnvelope;
}

/** An attached attestation that is not a DSSE envelope (ATTESTATION_MALFORMED), as
 *  downloadAttestations reports it to `onMalformed` instead of failing. */
export interface MalformedAttestation {
  source: 'tag' | 'bundle';
  digest: Digest;
  predicateType?: string;
  error: AttestError;
}

/** Fetches (digest-checked, but NOT signature-verified) the DSSE envelopes attached to an image;
 *  one that is not an envelope is ATTESTATION_MALFORMED, or goes to `onMalformed` when given. */
export async function downloadAttestations(
  client: RegistryClient,
  reference: ImageReference,
  options: { predicateType?: string; signatureRepository?: RepositoryRef; onMalformed?: (found: MalformedAttestation) => void } = {},
): Promise<DownloadedAttestation[]> {
  const tree = await imageTree(client, reference, options.signatureRepository);
  const repo = options.signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const wanted = options.predicateType;
  const result: DownloadedAttestation[] = [];
  for (const layer of tree.attestations?.layers ?? []) {
    if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) continue;
    const predicateType = layer.annotations?.[CosignAnnotations.predicateType];
    if (wanted && !(predicateType && predicateTypeMatches(predicateType, wanted))) continue;
    let envelope: DsseEnvelope;
    try {
      envelope = envelopeOf(parsed(await client.getBlob(repo, layer.digest, 32 * 1024 * 1024), `.att layer ${layer.digest}`), `.att layer ${layer.digest}`);
    } catch (error) {
      if (!options.onMalformed || !(error instanceof AttestError)) throw error;
      options.onMalformed({ source: 'tag', digest: layer.digest, ...(predicateType ? { predicateType } : {}), error });
      continue;
    }
    result.push({ source: 'tag', digest: layer.digest, ...(predicateType ? { predicateType } : {}), envelope });
  }
  for (const referrer of tree.referrers) {
    if (referrer.artifactType !== BUNDLE_MEDIA_TYPE) continue;
    const predicateType = referrer.annotations?.['dev.sigstore.bundle.predicateType'];
    if (predicateType === 'https://sigstore.dev/cosign/sign/v1') continue;
    if (wanted && !(predicateType && predicateTypeMatches(predicateType, wanted))) continue;
    const manifest = (await client.getManifest({ ...repo, digest: referrer.digest })).manifest;
    const layer = 'layers' in manifest ? manifest.layers[0] : undefined;
    if (!layer) continue;
    const where = `bundle referrer ${referrer.digest}`;
    let envelope: DsseEnvelope;
    try {
      const bundle = parsed(await client.getBlob(repo, layer.digest, 16 * 1024 * 1024), where) as { dsseEnvelope?: unknown };
      // A bundle holding a message signature instead of an envelope is no attestation.
      if (bundle.dsseEnvelope === undefined) continue;
      envelope = envelopeOf(bundle.dsseEnvelope, where);
    } catch (error) {
      if (!options.onMalformed || !(error instanceof AttestError)) throw error;
      options.onMalformed({ source: 'bundle', digest: referrer.digest, ...(predicateType ? { predicateType } : {}), error });
      continue;
    }
    result.push({ source: 'bundle', digest: referrer.digest, ...(predicateType ? { predicateType } : {}), envelope });
  }
  return result;
}

function malformed(where: string, why: string): AttestError {
  return new AttestError('ATTESTATION_MALFORMED', `${where}: ${why}`, { detail: { attestation: where } });
}

/** A downloaded attestation document as a JSON object. */
function parsed(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonBounded(Buffer.from(bytes).toString('utf8'), where);
  } catch (error) {
    // The parser's message names the document and where its JSON breaks.
    throw new AttestError('ATTESTATION_MALFORMED', (error as Error).message, { detail: { attestation: where } });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw malformed(where, 'is not a JSON object');
  return value as Record<string, unknown>;
}

/** The value as a DSSE envelope, checked for the fields every reader of it uses. */
function envelopeOf(value: unknown, where: string): DsseEnvelope {
  const envelope = value as Partial<DsseEnvelope> | null;
  if (!envelope || typeof envelope !== 'object' || typeof envelope.payloadType !== 'string' || typeof envelope.payload !== 'string' || !Array.isArray(envelope.signatures)) {
    throw malformed(where, 'is not a DSSE envelope (it needs payloadType, payload and signatures)');
  }
  return envelope as DsseEnvelope;
}

/** SBOMs attached the deprecated way (`.sbom` tag, unsigned): each layer's bytes and media type. */
export async function downloadAttachedSboms(client: RegistryClient, reference: ImageReference, signatureRepository?: RepositoryRef): Promise<{ mediaType: string; bytes: Uint8Array }[]> {
  const tree = await imageTree(client, reference, signatureRepository);
  const repo = signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const result: { mediaType: string; bytes: Uint8Array }[] = [];
  for (const layer of tree.sboms?.layers ?? []) result.push({ mediaType: layer.mediaType, bytes: await client.getBlob(repo, layer.digest, 256 * 1024 * 1024) });
  return result;
}
