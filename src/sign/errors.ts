import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** The registry client's codes, re-exported here so docs/errors/sign-registry-client.md is checked
 *  (see src/registry-client/errors.ts for why). */
export { registryClientErrorTable as registryClientErrorCodes } from '../registry-client/index.ts';

/** Error codes of cosign-compatible keys and image signatures (docs/errors/sign.md). */
export const signErrorCodes = {
  KEY_INVALID: 'a key file is not a PEM public key, cosign encrypted private key or supported private key',
  KEY_UNSUPPORTED: 'the key uses an algorithm, curve or KDF parameters Kiln does not accept',
  KEY_DECRYPT_FAILED: 'the private key could not be decrypted: wrong password or a corrupted key file',
  PASSWORD_REQUIRED: 'a password is needed and neither COSIGN_PASSWORD nor a terminal prompt is available',
  SIGNATURE_NOT_FOUND: 'the image has no signatures (no .sig tag and no signature bundle referrer)',
  SIGNATURE_INVALID: 'no signature of the image verified with the given key or identity; each failure is listed',
  SIGNATURE_PAYLOAD_INVALID: 'a signed payload is not a cosign simple-signing document for this image',
  BUNDLE_INVALID: 'a Sigstore bundle is malformed or failed verification',
  IDENTITY_MISMATCH: 'a keyless signature was made by another identity or issuer than required',
  KEYLESS_FAILED: 'keyless signing could not obtain a certificate or transparency-log entry',
  TRUST_ROOT_INVALID: 'the trusted root (Fulcio/Rekor keys) file is missing or malformed',
} as const satisfies ErrorCodeTable<string>;

export type SignErrorCode = keyof typeof signErrorCodes;

/** A signing or verification failure; `detail` names the key file, image or digest at fault. */
export class SignError extends KilnError<SignErrorCode> {}
