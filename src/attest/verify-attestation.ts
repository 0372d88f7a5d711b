import type { Digest } from '../lib/index.ts';
import type { Descriptor, ImageReference } from '../oci/index.ts';
import type { RegistryClient, RepositoryRef } from '../registry-client/index.ts';
import {
  CosignAnnotations,
  DSSE_ENVELOPE_MEDIA_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  SignError,
  cosignTag,
  describeFailure,
  keyHint,
  listBundleReferrers,
  parseStatement,
  preAuthEncoding,
  statementCovers,
  verifyBundleReferrer,
  verifyWithKey,
} from '../sign/index.ts';
import type { DsseEnvelope, Statement, TrustPolicy } from '../sign/index.ts';
import { AttestError } from './errors.ts';
import { predicateTypeMatches } from './format/predicate-types.ts';
import { predicateTime } from './format/predicates.ts';
import { attestationTime, statementTime } from './format/attestation-time.ts';
import type { AttestationTime } from './format/attestation-time.ts';
import { MediaTypes } from '../oci/index.ts';

/** An attestation whose signature, subject binding and type checked out. */
export interface VerifiedAttestation {
  digest: Digest;
  source: 'tag' | 'bundle';
  predicateType: string;
  statement: Statement;
  keyHint?: string;
  identity?: { subjectAlternativeName?: string; issuer?: string };
  /** When the predicate says it was produced (signed content), if it says. */
  producedAt?: Date;
  /** When the attestation was made, from the most trusted evidence there is (see
   *  {@link attestationTime}); what a policy's `maxAge` measures. */
  attestedAt?: AttestationTime;
  /** The signed statement bytes exactly as verified. */
  payloadBytes: Uint8Array;
  /** The DSSE envelope (legacy) as stored, for printing like cosign. */
  envelope?: DsseEnvelope;
}

/** Options of {@link verifyAttestations}. */
export interface VerifyAttestationsOptions {
  client: RegistryClient;
  reference: ImageReference;
  policy: TrustPolicy;
  /** Predicate type URI to require (cosign `--type`); all types when absent. */
  predicateType?: string;
  signatureRepository?: RepositoryRef;
}

/** Verifies the image's attestations (`.att` tag layers and bundle referrers). Fails closed:
 *  ATTESTATION_NOT_FOUND when there are none of the type, ATTESTATION_INVALID listing each rejected
 *  one when none verifies. */
export async function verifyAttestations(options: VerifyAttestationsOptions): Promise<VerifiedAttestation[]> {
  const { client, reference, policy } = options;
  const target = await client.resolve(reference);
  // Pull the manifest by digest: its bytes must hash to the digest the attestations name, so a
  // manifest altered in the registry's storage fails here even though its tag still resolves.
  await client.getManifest({ registry: reference.registry, repository: reference.repository, digest: target.digest });
  const repo = options.signatureRepository ?? { registry: reference.registry, repository: reference.repository };
  const name = `${reference.registry}/${reference.repository}@${target.digest}`;
  const verified: VerifiedAttestation[] = [];
  const failures: string[] = [];
  let found = 0;
  const wanted = options.predicateType;

  const tag = cosignTag(target.digest, 'att');
  const att = await client.getManifestIfExists({ ...repo, tag }, [MediaTypes.ociManifest, MediaTypes.dockerManifest]);
  if (att && 'layers' in att.manifest) {
    for (const [index, layer] of att.manifest.layers.entries()) {
      if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) continue;
      const annotated = layer.annotations?.[CosignAnnotations.predicateType];
      if (wanted && annotated !== undefined && !predicateTypeMatches(annotated, wanted)) continue;
      const where = `${repo.repository}:${tag} layer ${index}`;
      found++;
      try {
        const result = await verifyEnvelopeLayer(client, repo, layer, target.digest, policy, where);
        if (wanted && !predicateTypeMatches(result.predicateType, wanted)) {
          found--;
          continue;
        }
        verified.push(result);
      } catch (error) {
        failures.push(describeFailure(error, where));
      }
    }
  }

  for (const referrer of await listBundleReferrers(client, repo, target.digest)) {
    const annotated = referrer.annotations?.['dev.sigstore.bundle.predicateType'];
    if (annotated === 'https://sigstore.dev/cosign/sign/v1') continue;
    if (wanted && annotated !== undefined && !predicateTypeMatches(annotated, wanted)) continue;
    const where = `bundle referrer ${referrer.digest}`;
    found++;
    try {
      const result = await verifyBundleReferrer(client, repo, referrer, target.digest, policy, where);
      const statement = result.payload as Statement;
      if (statement.predicateType === 'https://sigstore.dev/cosign/sign/v1' || (wanted && !predicateTypeMatches(statement.predicateType, wanted))) {
        found--;
        continue;
      }
      const producedAt = predicateTime(statement.predicateType, statement.predicate);
      const attestedAt = attestationTime({ timestamps: result.timestamps ?? [], statementTime: statementTime(statement, target.digest), predicateTime: producedAt });
      verified.push({
        digest: target.digest,
        source: 'bundle',
        predicateType: statement.predicateType,
        statement,
        payloadBytes: result.payloadBytes,
        ...(result.keyHint ? { keyHint: result.keyHint } : {}),
        ...(result.identity ? { identity: result.identity } : {}),
        ...(producedAt ? { producedAt } : {}),
        ...(attestedAt ? { attestedAt } : {}),
      });
    } catch (error) {
      failures.push(describeFailure(error, where));
    }
  }

  if (verified.length) return verified;
  const what = wanted ? `attestations of type ${wanted}` : 'attestations';
  if (found === 0) throw new AttestError('ATTESTATION_NOT_FOUND', `${name}: no ${what} found (no ${tag} layers and no bundle referrers)`, { detail: { digest: target.digest, predicateType: wanted } });
  throw new AttestError('ATTESTATION_INVALID', `${name}: none of ${found} ${what} verified:\n  ${failures.join('\n  ')}`, { detail: { digest: target.digest, failures } });
}

async function verifyEnvelopeLayer(client: RegistryClient, repo: RepositoryRef, layer: Descriptor, digest: Digest, policy: TrustPolicy, where: string): Promise<VerifiedAttestation> {
  const bytes = await client.getBlob(repo, layer.digest, 32 * 1024 * 1024);
  let envelope: DsseEnvelope;
  try {
    envelope = JSON.parse(new TextDecoder().decode(bytes)) as DsseEnvelope;
  } catch (error) {
    throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: DSSE envelope is not JSON`, { cause: error });
  }
  if (typeof envelope?.payload !== 'string' || !Array.isArray(envelope.signatures)) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: not a DSSE envelope`, {});
  if (!policy.keys?.length) throw new SignError('SIGNATURE_INVALID', `${where}: .att envelopes are verified with --key; keyless attestations are checked through their bundle referrers`, {});
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  let key;
  for (const signature of envelope.signatures) {
    key = policy.keys.find((candidate) => verifyWithKey(candidate, pae, Buffer.from(signature.sig ?? '', 'base64')));
    if (key) break;
  }
  if (!key) throw new SignError('SIGNATURE_INVALID', `${where}: no envelope signature verifies with ${policy.keys.length === 1 ? 'the given key' : 'any given key'}`, {});
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: payloadType ${envelope.payloadType}, expected ${IN_TOTO_PAYLOAD_TYPE}`, {});
  const statement = parseStatement(payload, where);
  if (!statementCovers(statement, digest)) throw new SignError('SIGNATURE_PAYLOAD_INVALID', `${where}: statement subject does not name ${digest}`, {});
  const producedAt = predicateTime(statement.predicateType, statement.predicate);
  // A `.att` layer carries no transparency-log or timestamp-authority time Kiln can check here.
  const attestedAt = attestationTime({ statementTime: statementTime(statement, digest), predicateTime: producedAt });
  return {
    digest,
    source: 'tag',
    predicateType: statement.predicateType,
    statement,
    payloadBytes: payload,
    keyHint: keyHint(key),
    envelope,
    ...(producedAt ? { producedAt } : {}),
    ...(attestedAt ? { attestedAt } : {}),
  };
}
