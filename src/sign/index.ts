/**
 * Cosign-compatible keys and image signatures.
 *
 *   const key = await decryptPrivateKey(await readFile('cosign.key', 'utf8'), password);
 *   await signImage({ client, reference, signer: keySigner(key) });             // .sig tag (+ bundle referrer)
 *   await verifyImage({ client, reference, policy: { keys: [loadPublicKey(pub)] } });
 *
 * The building blocks (`appendCosignLayer`, `pushBundleReferrer`, `createDsseBundle`,
 * `verifyBundleReferrer`, the `findSigned*` duplicate checks, DSSE/in-toto formats) are shared
 * with `src/attest`.
 */
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { SignError, signErrorCodes } from './errors.ts';
export type { SignErrorCode } from './errors.ts';
export {
  generateCosignKeyPair,
  encryptPrivateKey,
  decryptPrivateKey,
  loadPublicKey,
  loadPlainPrivateKey,
  publicKeyToPem,
  keyHint,
  hashFor,
  toPem,
  fromPem,
  SIGSTORE_PRIVATE_KEY_LABEL,
  COSIGN_PRIVATE_KEY_LABEL,
} from './keys.ts';
export type { CosignKeyPair } from './keys.ts';
export { keySigner, verifyWithKey } from './signer.ts';
export type { ImageSigner, SignatureResult } from './signer.ts';
export { signImage } from './sign-image.ts';
export type { SignImageOptions, SignedManifest, SignatureFormat } from './sign-image.ts';
export { verifyImage, verifyBundleReferrer, listBundleReferrers, describeFailure, COSIGN_SIG_ARTIFACT_TYPE } from './verify-image.ts';
export type { VerifyImageOptions, VerifiedSignature, TrustPolicy, Matcher } from './verify-image.ts';
export { appendCosignLayer, pushBundleReferrer, BUNDLE_MEDIA_TYPE } from './storage.ts';
export { createDsseBundle, parseBundle, keyTrustMaterial, verifyDsseBundle } from './bundle.ts';
export type { VerifiedTimestamp } from './bundle.ts';
export { findSignedPayloadLayer, findSignedEnvelopeLayer, findSignedBundle } from './existing.ts';
export { CosignAnnotations, cosignTag, signatureManifest } from './format/cosign-manifest.ts';
export { SIMPLE_SIGNING_MEDIA_TYPE, SIMPLE_SIGNING_TYPE, buildSimpleSigningPayload, parseSimpleSigningPayload } from './format/simple-signing.ts';
export type { SimpleSigningPayload } from './format/simple-signing.ts';
export { preAuthEncoding, buildEnvelope, IN_TOTO_PAYLOAD_TYPE, DSSE_ENVELOPE_MEDIA_TYPE } from './format/dsse.ts';
export type { DsseEnvelope } from './format/dsse.ts';
export { buildStatement, parseStatement, statementCovers, sameJson, STATEMENT_V1, STATEMENT_V01, COSIGN_SIGN_PREDICATE } from './format/in-toto.ts';
export type { Statement, ResourceDescriptor } from './format/in-toto.ts';
export { keylessSigner, rekorWitnesses } from './keyless.ts';
export type { KeylessOptions } from './keyless.ts';
export { trustMaterialFromTrustedRoot } from './trust-root.ts';
