import { FulcioSigner, RekorWitness } from '@sigstore/sign';
import type { Witness } from '@sigstore/sign';
import { SignError } from './errors.ts';
import { checkIdentityToken } from './format/oidc-token.ts';
import type { ImageSigner } from './signer.ts';

/** Options of {@link keylessSigner}. */
export interface KeylessOptions {
  /** Fulcio base URL (public good: https://fulcio.sigstore.dev). */
  fulcioURL: string;
  /** Rekor base URL; used when `tlogUpload` is true. */
  rekorURL?: string;
  /** OIDC identity token (audience `sigstore`), e.g. from `SIGSTORE_ID_TOKEN` or CI. */
  identityToken: string | (() => Promise<string>);
  tlogUpload: boolean;
  /** Rekor entry kind for DSSE envelopes: `dsse` (cosign v3, default) or `intoto` (legacy). */
  entryType?: 'dsse' | 'intoto';
  timeoutMs?: number;
}

/** Keyless signing through Fulcio: an ephemeral P-256 key, a short-lived certificate for the
 *  token's identity, and (with `tlogUpload`) a Rekor `dsse` entry as the bundle's witness. The
 *  ephemeral private key never leaves @sigstore/sign. */
export function keylessSigner(options: KeylessOptions): { signer: ImageSigner; witnesses: Witness[]; ready: () => Promise<void> } {
  const readToken = typeof options.identityToken === 'string' ? async () => options.identityToken as string : options.identityToken;
  // A token that is no JWT, or has expired, is refused here with why, not by Fulcio with a 401.
  const getToken = async (): Promise<string> => {
    const token = (await readToken()).trim();
    const check = checkIdentityToken(token, Date.now());
    if (!check.ok) throw new SignError('KEYLESS_FAILED', `keyless signing: the OIDC identity token is unusable: ${check.reason}`, { detail: { fulcio: options.fulcioURL } });
    return token;
  };
  const fulcio = new FulcioSigner({ fulcioBaseURL: options.fulcioURL, identityProvider: { getToken }, timeout: options.timeoutMs ?? 30_000, retry: 0 });
  const signer: ImageSigner = {
    async sign(data) {
      try {
        const result = await fulcio.sign(Buffer.from(data));
        if (result.key.$case !== 'x509Certificate') {
          throw new SignError('KEYLESS_FAILED', `keyless signing via ${options.fulcioURL}: Fulcio returned no certificate`, { detail: { fulcio: options.fulcioURL } });
        }
        return { signature: result.signature, certificatePem: result.key.certificate };
      } catch (error) {
        if (error instanceof SignError) throw error;
        // @sigstore/sign wraps what failed (the token source, the HTTP call) without its message.
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof SignError) throw cause;
        const why = cause instanceof Error && cause.message ? `${(error as Error).message}: ${cause.message}` : (error as Error).message;
        throw new SignError('KEYLESS_FAILED', `keyless signing via ${options.fulcioURL}: ${why}`, { cause: error, detail: { fulcio: options.fulcioURL } });
      }
    },
  };
  // `ready` reads and checks the token now, so a long run can stop before its work, not at its first signature.
  return { signer, witnesses: rekorWitnesses(options), ready: async () => void (await getToken()) };
}

/** The Rekor witness list for `tlogUpload` (empty when off). */
export function rekorWitnesses(options: { rekorURL?: string; tlogUpload: boolean; entryType?: 'dsse' | 'intoto'; timeoutMs?: number }): Witness[] {
  if (!options.tlogUpload || !options.rekorURL) return [];
  return [new RekorWitness({ rekorBaseURL: options.rekorURL, entryType: options.entryType ?? 'dsse', timeout: options.timeoutMs ?? 30_000, retry: 0, fetchOnConflict: true })];
}
