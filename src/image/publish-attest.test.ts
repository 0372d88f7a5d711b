import { describe, expect, it } from 'vitest';
import type { BuildImageResult } from './build-image.ts';
import { APK_DATAHASH_DIGEST, KILN_IMAGE_BUILDER_ID, KILN_IMAGE_BUILD_TYPE, publishProvenanceInput, publishSbomTargets } from './publish-attest.ts';

const hex = (c: string) => c.repeat(64);

function pkg(name: string, version: string, identity: string, datahash: string, origin?: string) {
  return { record: { name, version, identity, depends: [], provides: [], installIf: [], replaces: [], ...(origin ? { origin } : {}) }, url: `file:///repo/${name}-${version}.apk`, path: `/cache/${name}.apk`, size: 10, datahash };
}

function arch(oci: string, apk: string, digest: string, packages: ReturnType<typeof pkg>[]) {
  // The SBOM's view of the installed packages, as build-image makes it.
  const sbom = { os: { ID: 'wolfi', VERSION_ID: '20230201' }, packages: packages.map(({ record }) => ({ name: record.name, version: record.version, arch: apk, ...(record.origin ? { origin: record.origin } : {}) })) };
  return { arch: { oci, apk }, result: { image: { manifest: { digest } } }, packages, sbom };
}

const result = {
  index: { index: { digest: `sha256:${hex('0')}` } },
  created: '2023-11-14T22:13:20Z',
  arches: [
    arch('amd64', 'x86_64', `sha256:${hex('1')}`, [pkg('busybox', '1.36-r1', 'Q1abc=', hex('a')), pkg('ca', '1-r0', 'Q1def=', '', 'ca-certificates')]),
    arch('arm64', 'aarch64', `sha256:${hex('2')}`, [pkg('busybox', '1.36-r1', 'Q1xyz=', hex('b'))]),
  ],
  lock: {
    contents: {
      keyring: [{ name: './keys/signer.rsa.pub', url: 'file:///keys/signer.rsa.pub' }],
      repositories: [
        { name: 'https://r.example/x86_64', url: 'https://r.example/x86_64/APKINDEX.tar.gz', architecture: 'x86_64' },
        { name: 'https://r.example/aarch64', url: 'https://r.example/aarch64/APKINDEX.tar.gz', architecture: 'aarch64' },
      ],
    },
  },
  spdx: {
    index: { name: 'index' },
    perArch: new Map([
      ['x86_64', { name: 'x86' }],
      ['aarch64', { name: 'arm' }],
    ]),
  },
  cyclonedx: new Map([
    ['x86_64', { serialNumber: 'cdx-x86' }],
    ['aarch64', { serialNumber: 'cdx-arm' }],
  ]),
} as unknown as BuildImageResult;

describe('publishProvenanceInput', () => {
  const input = publishProvenanceInput(result, { kilnVersion: '9.8.7', configPath: 'app.yaml', configDigest: `sha256:${hex('c')}`, tags: ['r.example/app:1'], sourceDateEpoch: '1700000000' });

  it('names the builder with the given version and records the config path and digest', () => {
    expect(input.buildType).toBe(KILN_IMAGE_BUILD_TYPE);
    expect(input.builder).toEqual({ id: KILN_IMAGE_BUILDER_ID, version: { kiln: '9.8.7' } });
    expect(input.externalParameters).toEqual({ config: { path: 'app.yaml', digest: { sha256: hex('c') } }, tags: ['r.example/app:1'], sourceDateEpoch: '1700000000' });
    expect(input.resolvedDependencies[0]).toEqual({ uri: 'app.yaml', name: 'config', digest: { sha256: hex('c') } });
  });

  it('lists every package per arch with version, identity and the data hash only where known', () => {
    const packages = input.internalParameters.packages as Record<string, unknown[]>;
    expect(packages).toEqual({
      x86_64: [
        { name: 'busybox', version: '1.36-r1', identity: 'Q1abc=', datahash: hex('a') },
        { name: 'ca', version: '1-r0', identity: 'Q1def=' },
      ],
      aarch64: [{ name: 'busybox', version: '1.36-r1', identity: 'Q1xyz=', datahash: hex('b') }],
    });
  });

  it('names each package by its SBOM purl and its data hash by a key of its own, not as the file\'s sha256', () => {
    const uris = input.resolvedDependencies.slice(1).map((dep) => [dep.uri, dep.digest]);
    expect(uris).toEqual([
      ['pkg:apk/wolfi/busybox@1.36-r1?arch=x86_64&distro=wolfi-20230201', { [APK_DATAHASH_DIGEST]: hex('a') }],
      ['pkg:apk/wolfi/ca@1-r0?arch=x86_64&distro=wolfi-20230201&upstream=ca-certificates', undefined],
      ['pkg:apk/wolfi/busybox@1.36-r1?arch=aarch64&distro=wolfi-20230201', { [APK_DATAHASH_DIGEST]: hex('b') }],
    ]);
    expect(APK_DATAHASH_DIGEST).not.toBe('sha256');
  });

  it('records build date, repositories, keyring key names and image digests', () => {
    expect(input.internalParameters.buildDate).toBe('2023-11-14T22:13:20Z');
    expect(input.internalParameters.keyring).toEqual([{ name: 'signer.rsa.pub', url: 'file:///keys/signer.rsa.pub' }]);
    expect((input.internalParameters.repositories as { architecture: string }[]).map((r) => r.architecture)).toEqual(['x86_64', 'aarch64']);
    expect(input.internalParameters.images).toEqual({ amd64: `sha256:${hex('1')}`, arm64: `sha256:${hex('2')}` });
    expect(input.internalParameters.index).toBe(`sha256:${hex('0')}`);
  });

  it('omits SOURCE_DATE_EPOCH when unset', () => {
    const plain = publishProvenanceInput(result, { kilnVersion: '1', configPath: 'a.yaml', configDigest: `sha256:${hex('d')}`, tags: [] });
    expect(plain.externalParameters).not.toHaveProperty('sourceDateEpoch');
  });
});

describe('publishSbomTargets', () => {
  it('pairs the index with the index document and each arch image with its own', () => {
    expect(publishSbomTargets(result).map((t) => [t.digest, t.arch, t.document.name])).toEqual([
      [`sha256:${hex('0')}`, undefined, 'index'],
      [`sha256:${hex('1')}`, 'amd64', 'x86'],
      [`sha256:${hex('2')}`, 'arm64', 'arm'],
    ]);
  });

  it('pairs each arch image with its own CycloneDX document and leaves the index without one', () => {
    expect(publishSbomTargets(result, 'cyclonedx').map((t) => [t.digest, t.arch, t.document.serialNumber])).toEqual([
      [`sha256:${hex('1')}`, 'amd64', 'cdx-x86'],
      [`sha256:${hex('2')}`, 'arm64', 'cdx-arm'],
    ]);
  });
});
