import type { KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import type { Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import type { Signer as SigstoreSigner, Witness } from '@sigstore/sign';
import { Verifier, toSignedEntity } from '@sigstore/verify';
import type { SignedEntity, Signer as VerifiedSigner, TrustMaterial, VerificationPolicy } from '@sigstore/verify';
import { SignError } from './errors.ts';
import { keyHint } from './keys.ts';
import { verifyWithKey } from './signer.ts';
import type { ImageSigner } from './signer.ts';
import { preAuthEncoding } from './format/dsse.ts';

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

/** Trust material that knows only the given public keys (by cosign hint), and the transparency
 *  logs whose entries a key-signed bundle's log entries are checked against (none: not checked). */
export function keyTrustMaterial(keys: readonly KeyObject[], logs: TrustMaterial['tlogs'] = []): TrustMaterial {
  const byHint = new Map(keys.map((key) => [keyHint(key), key]));
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [...logs],
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

/** Thresholds of a verification, as the Sigstore verifier counts them. */
export interface VerifyThresholds {
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
  policy?: VerificationPolicy;
  /** When a certificate's chain is checked for a bundle that carries no verified time (no log or
   *  timestamp required): the current time, as cosign does with --insecure-ignore-tlog. */
  now?: Date;
}

/** Runs the Sigstore verifier over an entity, with three corrections to what it would do alone:
 *  - log entries that no trusted log can check, where none is required (a key-signed bundle that a
 *    `cosign sign --key` put in the public Rekor, verified offline), are set aside rather than
 *    failing the bundle; they count for nothing, not even as times;
 *  - an ECDSA signature is checked with the hash cosign pairs with the curve (SHA-384 for P-384),
 *    where the verifier would assume SHA-256 for DSSE envelopes;
 *  - a certificate with no verified time to check its chain at is checked at `now`, where the
 *    verifier would check no chain at all and fail on the empty path. */
export function verifySignedEntity(entity: SignedEntity, trust: TrustMaterial, options: VerifyThresholds, data?: Buffer): { signer: VerifiedSigner; timestamps: VerifiedTimestamp[] } {
  let checked = entity;
  if (options.tlogThreshold === 0 && trust.tlogs.length === 0 && entity.tlogEntries.length > 0) {
    checked = { ...checked, tlogEntries: [], timestamps: checked.timestamps.filter((timestamp) => timestamp.$case !== 'transparency-log') };
  }
  if (data) {
    const content = checked.signature;
    checked = {
      ...checked,
      signature: {
        compareDigest: (digest) => content.compareDigest(digest),
        compareSignature: (signature) => content.compareSignature(signature),
        verifySignature: (key) => verifyWithKey(key, data, content.signature),
        get signature() {
          return content.signature;
        },
      },
    };
  }
  const timestamps = entityTimestamps(checked);
  if (checked.key.$case === 'certificate' && checked.timestamps.length === 0 && options.timestampThreshold === 0) {
    const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
    // The verifier takes a time from a log entry's integrated time alone; this entry is not in
    // tlogEntries, so nothing treats it as a log's word, and entityTimestamps never sees it.
    const now = { $case: 'transparency-log', tlogEntry: { integratedTime: String(seconds), inclusionPromise: { signedEntryTimestamp: Buffer.alloc(0) }, logId: { keyId: Buffer.from('verification-time') } } };
    checked = { ...checked, timestamps: [now as unknown as SignedEntity['timestamps'][number]] };
  }
  return { signer: new Verifier(trust, options).verify(checked, options.policy), timestamps };
}

/** Verifies a DSSE bundle: signature over the PAE, key or certificate chain, transparency-log and
 *  timestamp thresholds, identity policy. Returns the envelope's payload bytes and type, and the
 *  log and timestamp-authority times the bundle carried (all verified). */
export function verifyDsseBundle(
  bundle: Bundle,
  trust: TrustMaterial,
  options: VerifyThresholds,
  source: string,
): { payload: Buffer; payloadType: string; identity?: { subjectAlternativeName?: string; issuer?: string }; timestamps: VerifiedTimestamp[] } {
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new SignError('BUNDLE_INVALID', `${source}: bundle holds a message signature, expected a DSSE envelope`, { detail: { source } });
  }
  let verified: ReturnType<typeof verifySignedEntity>;
  const envelope = bundle.content.dsseEnvelope;
  try {
    verified = verifySignedEntity(toSignedEntity(bundle), trust, options, preAuthEncoding(envelope.payloadType, envelope.payload));
  } catch (error) {
    if (error instanceof SignError) throw error;
    const message = (error as Error).message;
    const code = (error as { code?: string }).code ?? '';
    const identity = /identity|issuer|subjectAlternativeName|UNTRUSTED_SIGNER|POLICY/i.test(`${code} ${message}`) && options.policy !== undefined;
    throw new SignError(identity ? 'IDENTITY_MISMATCH' : 'SIGNATURE_INVALID', `${source}: ${code ? `${code}: ` : ''}${message}`, { cause: error, detail: { source } });
  }
  const { signer, timestamps } = verified;
  const identity = signer.identity
    ? {
        ...(signer.identity.subjectAlternativeName === undefined ? {} : { subjectAlternativeName: signer.identity.subjectAlternativeName }),
        ...(signer.identity.extensions?.issuer === undefined ? {} : { issuer: signer.identity.extensions.issuer }),
      }
    : undefined;
  return { payload: Buffer.from(envelope.payload), payloadType: envelope.payloadType, ...(identity ? { identity } : {}), timestamps };
}
