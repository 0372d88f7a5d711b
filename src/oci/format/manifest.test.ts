import { describe, expect, it } from 'vitest';
import { ManifestProblem, isRegisteredDigest, parseManifest } from './manifest.ts';

const D = `sha256:${'a'.repeat(64)}`;
const E = `sha256:${'b'.repeat(64)}`;

describe('parseManifest', () => {
  const manifest = (extra: Record<string, unknown> = {}) =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 2 }, layers: [], ...extra }));

  it('extracts blobs, subject, artifact type and annotations', () => {
    const parsed = parseManifest(
      manifest({
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: E, size: 1 },
          { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar', digest: `sha256:${'c'.repeat(64)}`, size: 1, urls: ['https://example.com'] },
        ],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: E, size: 5 },
        annotations: { a: 'b' },
        custom: { anything: true },
      }),
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(parsed).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', blobs: [D, E], children: [], subject: E, artifactType: 'application/vnd.oci.image.config.v1+json', annotations: { a: 'b' } });
    expect(parseManifest(manifest({ artifactType: 'application/x' }), undefined).artifactType).toBe('application/x');
  });

  it('refuses type confusion, media-type disagreement, schema 1 and bad descriptors', () => {
    const problems = [
      [manifest({ manifests: [] }), undefined],
      [manifest(), 'application/vnd.oci.image.index.v1+json'],
      [Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x' })), 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
      [manifest({ config: { mediaType: 'x', digest: 'sha256:zz', size: 1 } }), undefined],
      [manifest({ layers: [{ mediaType: 'x', digest: D, size: -1 }] }), undefined],
      [Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], config: {} })), undefined],
      [Buffer.from('not json'), 'application/vnd.oci.image.manifest.v1+json'],
    ] as const;
    for (const [bytes, type] of problems) {
      const error = (() => {
        try {
          parseManifest(bytes, type);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ManifestProblem);
      expect((error as ManifestProblem).code).toBe('OCI_MANIFEST_INVALID');
    }
  });
});

describe('isRegisteredDigest', () => {
  it('accepts sha256 and sha512 digests only', () => {
    expect(isRegisteredDigest(D)).toBe(true);
    expect(isRegisteredDigest(`sha512:${'c'.repeat(128)}`)).toBe(true);
    expect(isRegisteredDigest(`sha384:${'c'.repeat(96)}`)).toBe(false);
    expect(isRegisteredDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
    // The registry serves these and no others: upper-case hex, other algorithms, wrong lengths, no hex.
    for (const digest of [`sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha512:${'0'.repeat(64)}`, 'sha256:']) expect(isRegisteredDigest(digest)).toBe(false);
  });
});
