import type { KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import type { Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import type { Signer as SigstoreSigner, Witness } from '@sigstore/sign';
import { Verifier, toSignedEntity } from '@sigstore/verify';
import type { SignedEntity, TrustMaterial, VerificationPolicy } from '@sigstore/verify';
import { SignError } from './errors.ts';
import { keyHint } from './keys.ts';
import type { ImageSigner } from './signer.ts';

/** Adapts Kiln's signer port to the Sigstore bundle builder's signer. */
export function sigstoreSigner(signer: ImageSigner): SigstoreSigner {
  return {
    async sign(data) {
      const result = await signer.sign(data);
      if (result.certificatePem) return { signature: result.signature, key: { $case: 'x509Certificate', certificate: result.certificatePem } };
      if (!result.publicKeyPem) throw new SignError('BUNDLE_INVALID', 'signer returned neither a public key nor a certificate', {});
      return { signature: result.signature, key: { $case: 'publicKey', publicKey: result.publicKeyPem, ...(result.hint ? { hint: result.hint } : {}) } };
    },
  };
}

/** Signs `payload` as a DSSE envelope inside a Sigstore v0.3 bundle. Witnesses (Rekor, TSA) are
 *  optional: with none, the bundle carries no transparency data (private, offline signing). */
export async function createDsseBundle(signer: ImageSigner, payload: Uint8Array, payloadType: string, witnesses: Witness[] = []): Promise<{ bundle: Bundle; json: Uint8Array }> {
  const builder = new DSSEBundleBuilder({ signer: sigstoreSigner(signer), witnesses });
  const bundle = await builder.create({ data: Buffer.from(payload), type: payloadType });
  return { bundle, json: new TextEncoder().encode(JSON.stringify(bundleToJSON(bundle))) };
}

/** Parses bundle JSON bytes, checking it is a structurally valid Sigstore bundle. */
export function parseBundle(bytes: Uint8Array, source: string): Bundle {
  try {
    return bundleFromJSON(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (error) {
    throw new SignError('BUNDLE_INVALID', `${source}: not a valid Sigstore bundle (${(error as Error).message})`, { cause: error, detail: { source } });
  }
}

/** Trust material that knows only the given public keys (by cosign hint); no CA, no logs. */
export function keyTrustMaterial(keys: readonly KeyObject[]): TrustMaterial {
  const byHint = new Map(keys.map((key) => [keyHint(key), key]));
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (hint) => {
      const key = byHint.get(hint) ?? (byHint.size === 1 && hint === '' ? [...byHint.values()][0] : undefined);
      if (!key) throw new SignError('SIGNATURE_INVALID', `bundle is signed by key ${hint || '(no hint)'}, which is not among the keys given`, { detail: { hint } });
      return { publicKey: key, validFor: () => true };
    },
  };
}

/** A time a transparency log (its integrated time, under a Signed Entry Timestamp) or an RFC 3161
 *  timestamp authority vouched for, verified together with the bundle it came in. */
export interface VerifiedTimestamp {
  source: 'transparency-log' | 'timestamp-authority';
  time: Date;
}

/** The times of a signed entity the way the Sigstore verifier counts them: a log entry's integrated
 *  time only when it has an inclusion promise (the SET signs the time; a bare inclusion proof does
 *  not), and each RFC 3161 signing time. Only meaningful once the entity verified: the verifier
 *  checks every SET and every timestamp token before it accepts a bundle, whatever the thresholds. */
function entityTimestamps(entity: SignedEntity): VerifiedTimestamp[] {
  const times: VerifiedTimestamp[] = [];
  for (const timestamp of entity.timestamps) {
    if (timestamp.$case === 'timestamp-authority') times.push({ source: 'timestamp-authority', time: timestamp.timestamp.signingTime });
    else if (timestamp.tlogEntry.inclusionPromise) times.push({ source: 'transparency-log', time: new Date(Number(timestamp.tlogEntry.integratedTime) * 1000) });
  }
  return times;
}

/** Verifies a DSSE bundle: signature over the PAE, key or certificate chain, transparency-log and
 *  timestamp thresholds, identity policy. Returns the envelope's payload bytes and type, and the
 *  log and timestamp-authority times the bundle carried (all verified). */
export function verifyDsseBundle(
  bundle: Bundle,
  trust: TrustMaterial,
  options: { tlogThreshold: number; ctlogThreshold: number; timestampThreshold: number; policy?: VerificationPolicy },
  source: string,
): { payload: Buffer; payloadType: string; identity?: { subjectAlternativeName?: string; issuer?: string }; timestamps: VerifiedTimestamp[] } {
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new SignError('BUNDLE_INVALID', `${source}: bundle holds a message signature, expected a DSSE envelope`, { detail: { source } });
  }
  let signer: ReturnType<Verifier['verify']>;
  const entity = toSignedEntity(bundle);
  try {
    signer = new Verifier(trust, options).verify(entity, options.policy);
  } catch (error) {
    if (error instanceof SignError) throw error;
    const message = (error as Error).message;
    const code = (error as { code?: string }).code ?? '';
    const identity = /identity|issuer|subjectAlternativeName|UNTRUSTED_SIGNER|POLICY/i.test(`${code} ${message}`) && options.policy !== undefined;
    throw new SignError(identity ? 'IDENTITY_MISMATCH' : 'SIGNATURE_INVALID', `${source}: ${code ? `${code}: ` : ''}${message}`, { cause: error, detail: { source } });
  }
  const envelope = bundle.content.dsseEnvelope;
  const identity = signer.identity
    ? {
        ...(signer.identity.subjectAlternativeName === undefined ? {} : { subjectAlternativeName: signer.identity.subjectAlternativeName }),
        ...(signer.identity.extensions?.issuer === undefined ? {} : { issuer: signer.identity.extensions.issuer }),
      }
    : undefined;
  return { payload: Buffer.from(envelope.payload), payloadType: envelope.payloadType, ...(identity ? { identity } : {}), timestamps: entityTimestamps(entity) };
}
