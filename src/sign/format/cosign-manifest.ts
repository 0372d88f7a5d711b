import type { Digest } from '../../lib/index.ts';
import { sha256Digest } from '../../lib/index.ts';
import { MediaTypes } from '../../oci/index.ts';
import type { Descriptor, ImageManifest } from '../../oci/index.ts';

/** Layer annotations cosign uses on `.sig`/`.att` manifests (note the two prefixes). */
export const CosignAnnotations = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  predicateType: 'predicateType',
} as const;

/** cosign's tag for an artifact attached to `digest`: `sha256-<hex>.<suffix>`. */
export function cosignTag(digest: Digest, suffix: 'sig' | 'att' | 'sbom'): string {
  return `${digest.replace(':', '-')}.${suffix}`;
}

/** The minimal OCI config cosign puts in signature manifests: `rootfs.diff_ids` lists the payloads. */
function signatureConfig(layers: readonly Descriptor[]): Uint8Array {
  const config = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
    config: {},
  };
  return new TextEncoder().encode(JSON.stringify(config));
}

/** A `.sig`/`.att` manifest over the given layers; returns it with its config bytes. */
export function signatureManifest(layers: readonly Descriptor[]): { manifest: ImageManifest; config: Uint8Array; configDigest: Digest } {
  const config = signatureConfig(layers);
  const configDigest = sha256Digest(config);
  return {
    manifest: {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, size: config.length, digest: configDigest },
      layers: [...layers],
    },
    config,
    configDigest,
  };
}

/** True when two layers are the same signature (same payload and same annotations). */
export function sameLayer(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && a.mediaType === b.mediaType && JSON.stringify(sortKeys(a.annotations ?? {})) === JSON.stringify(sortKeys(b.annotations ?? {}));
}

function sortKeys(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}
