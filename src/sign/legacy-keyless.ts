import { X509Certificate, createHash } from 'node:crypto';
import { MessageSignatureBundleBuilder } from '@sigstore/sign';
import type { Bundle } from '@sigstore/bundle';
import type { Witness } from '@sigstore/sign';
import { toSignedEntity } from '@sigstore/verify';
import type { TrustMaterial } from '@sigstore/verify';
import { bundleFromJSON } from '@sigstore/bundle';
import { SignError } from './errors.ts';
import { CosignAnnotations } from './format/cosign-manifest.ts';
import type { ImageSigner } from './signer.ts';
import { sigstoreSigner, verifySignedEntity } from './bundle.ts';

/** cosign's legacy `dev.sigstore.cosign/bundle` annotation: a Rekor entry with its Signed Entry Timestamp. */
interface RekorBundleAnnotation {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** Signs a simple-signing payload keylessly for the `.sig` tag the way cosign v2 does: a Fulcio
 *  certificate plus a Rekor `hashedrekord` entry, returned as the layer annotations (signature,
 *  certificate, chain, Rekor bundle). */
export async function signLegacyWithWitnesses(signer: ImageSigner, payload: Uint8Array, witnesses: Witness[]): Promise<Record<string, string>> {
  const builder = new MessageSignatureBundleBuilder({ signer: sigstoreSigner(signer), witnesses });
  const bundle = await builder.create({ data: Buffer.from(payload) });
  const annotations: Record<string, string> = { [CosignAnnotations.signature]: bundle.content.messageSignature.signature.toString('base64') };
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'certificate') {
    annotations[CosignAnnotations.certificate] = new X509Certificate(material.certificate.rawBytes).toString();
  } else if (material.$case === 'x509CertificateChain') {
    const [leaf, ...chain] = material.x509CertificateChain.certificates.map((cert) => new X509Certificate(cert.rawBytes).toString());
    if (leaf) annotations[CosignAnnotations.certificate] = leaf;
    if (chain.length) annotations[CosignAnnotations.chain] = chain.join('');
  }
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (entry?.inclusionPromise) {
    const rekor: RekorBundleAnnotation = {
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp.toString('base64'),
      Payload: { body: entry.canonicalizedBody.toString('base64'), integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: entry.logId.keyId.toString('hex') },
    };
    annotations[CosignAnnotations.bundle] = JSON.stringify(rekor);
  }
  return annotations;
}

/** Turns a legacy keyless `.sig` layer (signature, certificate, chain, Rekor bundle annotations)
 *  into a Sigstore v0.1 message-signature bundle so @sigstore/verify checks the certificate chain,
 *  SCT, Rekor SET and entry body exactly as for bundles. */
function legacyLayerBundle(payload: Uint8Array, annotations: Record<string, string>, where: string): Bundle {
  const certificates = pemBlocks(`${annotations[CosignAnnotations.certificate] ?? ''}\n${annotations[CosignAnnotations.chain] ?? ''}`).map((pem) => ({
    rawBytes: new X509Certificate(pem).raw.toString('base64'),
  }));
  if (!certificates.length) throw new SignError('SIGNATURE_INVALID', `${where}: no signing certificate annotation`, {});
  const tlogEntries: unknown[] = [];
  const rekorText = annotations[CosignAnnotations.bundle];
  if (rekorText) {
    let rekor: RekorBundleAnnotation;
    let kind = 'hashedrekord';
    let version = '0.0.1';
    try {
      rekor = JSON.parse(rekorText) as RekorBundleAnnotation;
      const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8')) as { kind?: string; apiVersion?: string };
      kind = body.kind ?? kind;
      version = body.apiVersion ?? version;
    } catch (error) {
      throw new SignError('SIGNATURE_INVALID', `${where}: ${CosignAnnotations.bundle} annotation is not a Rekor bundle`, { cause: error });
    }
    tlogEntries.push({
      logIndex: String(rekor.Payload.logIndex),
      logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
      kindVersion: { kind, version },
      integratedTime: String(rekor.Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
      canonicalizedBody: rekor.Payload.body,
    });
  }
  const json = {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: { x509CertificateChain: { certificates }, tlogEntries, timestampVerificationData: { rfc3161Timestamps: [] } },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') },
      signature: annotations[CosignAnnotations.signature] ?? '',
    },
  };
  try {
    return bundleFromJSON(json);
  } catch (error) {
    throw new SignError('SIGNATURE_INVALID', `${where}: legacy keyless signature is incomplete (${(error as Error).message})`, { cause: error });
  }
}

/** Verifies a legacy keyless layer; returns the certificate identity. */
export function verifyLegacyKeyless(
  payload: Uint8Array,
  annotations: Record<string, string>,
  trust: TrustMaterial,
  thresholds: { tlogThreshold: number; ctlogThreshold: number },
  where: string,
): { subjectAlternativeName?: string; issuer?: string } {
  const bundle = legacyLayerBundle(payload, annotations, where);
  try {
    const { signer } = verifySignedEntity(toSignedEntity(bundle, Buffer.from(payload)), trust, { ...thresholds, timestampThreshold: thresholds.tlogThreshold > 0 ? 1 : 0 });
    return {
      ...(signer.identity?.subjectAlternativeName === undefined ? {} : { subjectAlternativeName: signer.identity.subjectAlternativeName }),
      ...(signer.identity?.extensions?.issuer === undefined ? {} : { issuer: signer.identity.extensions.issuer }),
    };
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new SignError('SIGNATURE_INVALID', `${where}: ${code ? `${code}: ` : ''}${(error as Error).message}`, { cause: error });
  }
}
