import { createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { hashFor, keyHint, publicKeyToPem } from './keys.ts';

/** What signing produced: the raw signature (DER for ECDSA) and the material that verifies it. */
export interface SignatureResult {
  signature: Buffer;
  /** PEM public key, for key-based signatures. */
  publicKeyPem?: string;
  /** PEM leaf certificate, for keyless (Fulcio) signatures. */
  certificatePem?: string;
  /** PEM intermediates and root, when known. */
  chainPem?: string;
  /** cosign v3 key hint (base64 SHA-256 of the SPKI). */
  hint?: string;
}

/** Signing port: signs bytes (a payload or a DSSE PAE) and says how to verify the result. The
 *  private key never leaves the implementation. */
export interface ImageSigner {
  sign(data: Uint8Array): Promise<SignatureResult>;
  /** The public half of the key every signature is made with, when there is one such key (a key
   *  file). Absent for keyless signers, whose key is new each time. Lets signing recognise what
   *  this key already signed and not sign it again (cosign's duplicate detection). */
  readonly publicKey?: KeyObject;
}

/** A signer over an in-memory private key (from `cosign.key`): ECDSA with the curve's hash, DER. */
export function keySigner(privateKey: KeyObject): ImageSigner {
  const publicKeyPem = publicKeyToPem(privateKey);
  const hint = keyHint(privateKey);
  const hash = hashFor(privateKey);
  return {
    publicKey: createPublicKey(privateKey),
    async sign(data) {
      return { signature: cryptoSign(hash, data, privateKey), publicKeyPem, hint };
    },
  };
}

/** Verifies a signature over `data` with a public key, using the hash cosign pairs with the key. */
export function verifyWithKey(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(hashFor(publicKey), data, publicKey, signature);
  } catch {
    return false;
  }
}
