import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import type { TrustMaterial } from '@sigstore/verify';
import { SignError } from './errors.ts';

/** Builds verification trust material from a Sigstore trusted root document
 *  (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`: Fulcio CAs, Rekor, CT logs, TSAs),
 *  as distributed by a private Sigstore deployment or fetched once from the public TUF repository. */
export function trustMaterialFromTrustedRoot(json: unknown, source = 'trusted root'): TrustMaterial {
  try {
    const root = TrustedRoot.fromJSON(json);
    if (!root.certificateAuthorities.length && !root.tlogs.length) {
      throw new SignError('TRUST_ROOT_INVALID', `${source}: no certificate authorities and no transparency logs`, { detail: { source } });
    }
    return toTrustMaterial(root);
  } catch (error) {
    if (error instanceof SignError) throw error;
    throw new SignError('TRUST_ROOT_INVALID', `${source}: ${(error as Error).message}`, { cause: error, detail: { source } });
  }
}
