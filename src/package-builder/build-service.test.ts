import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BuildRequest, BuiltPackage } from './build-service.ts';
import { environmentPackageUrls, formatProvenance } from './build-service.ts';
import type { CompiledBuild } from './compile.ts';
import { HOST_SYSROOT } from './environment/host.ts';
import type { BuildEnvironment } from './environment/provider.ts';
import type { Recipe } from './recipe/load.ts';

const roots: string[] = [];
afterAll(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-env-root-'));
  roots.push(dir);
  return dir;
}

/** A root with os-release and, when given, an installed database of `name version arch origin` lines. */
function root(osRelease: string, installed: string[] = []): string {
  const dir = tempRoot();
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'os-release'), osRelease);
  if (installed.length > 0) {
    mkdirSync(join(dir, 'lib', 'apk', 'db'), { recursive: true });
    const records = installed.map((line, index) => {
      const [name, version, arch, origin] = line.split(' ');
      return `C:Q1${Buffer.alloc(20, index).toString('base64')}\nP:${name}\nV:${version}\nA:${arch}\no:${origin}\n`;
    });
    writeFileSync(join(dir, 'lib', 'apk', 'db', 'installed'), `${records.join('\n')}\n`);
  }
  return dir;
}

function environment(fields: Pick<BuildEnvironment, 'kind' | 'rootfs' | 'packages'> & Partial<BuildEnvironment>): BuildEnvironment {
  return { description: 'test', release: async () => {}, ...fields };
}

describe('environmentPackageUrls', () => {
  it('names apk packages of an assembled root as its SBOM does: namespace, distro, arch and origin from the root', async () => {
    const rootfs = root('ID=wolfi\nVERSION_ID=20230201\n', ['busybox 1.36-r1 x86_64 busybox', 'libstdc++ 13-r0 x86_64 gcc', 'ca-certificates-bundle 1-r0 noarch ca-certificates']);
    const packages = [
      { name: 'busybox', version: '1.36-r1' },
      { name: 'libstdc++', version: '13-r0' },
      { name: 'ca-certificates-bundle', version: '1-r0' },
    ];
    expect(await environmentPackageUrls(environment({ kind: 'assembled', rootfs, packages }), 'x86_64')).toEqual([
      'pkg:apk/wolfi/busybox@1.36-r1?arch=x86_64&distro=wolfi-20230201',
      'pkg:apk/wolfi/libstdc%2B%2B@13-r0?arch=x86_64&distro=wolfi-20230201&upstream=gcc',
      'pkg:apk/wolfi/ca-certificates-bundle@1-r0?arch=noarch&distro=wolfi-20230201&upstream=ca-certificates',
    ]);
  });

  it('names host packages by the host distribution and sysroot packages by the sysroot\'s', async () => {
    const host = root('ID=debian\nVERSION_ID="12"\n');
    const sysroot = root('ID=kiln\n', ['zlib 1.3-r0 x86_64 zlib']);
    const env = environment({
      kind: 'bootstrap-host',
      rootfs: host,
      mounts: [{ source: sysroot, target: HOST_SYSROOT, writable: false }],
      packages: [
        { name: 'dash', version: '0.5.12-2' },
        { name: 'zlib', version: '1.3-r0', kind: 'apk' },
      ],
    });
    expect(await environmentPackageUrls(env, 'x86_64')).toEqual(['pkg:deb/debian/dash@0.5.12-2', 'pkg:apk/kiln/zlib@1.3-r0?arch=x86_64&distro=kiln']);
  });

  it('still gives a namespace when the root has no os-release or database', async () => {
    const rootfs = tempRoot();
    expect(await environmentPackageUrls(environment({ kind: 'assembled', rootfs, packages: [{ name: 'busybox', version: '1.36-r1' }] }), 'aarch64')).toEqual(['pkg:apk/unknown/busybox@1.36-r1?arch=aarch64']);
  });
});

describe('formatProvenance', () => {
  const recipe = { source: { file: '/recipes/hello.yaml' }, environment: { contents: { packages: ['busybox'] } } } as unknown as Recipe;
  const compiled = { arch: { apk: 'x86_64' }, needs: [], sources: [] } as unknown as CompiledBuild;
  const built = [{ file: '/out/x86_64/hello-1.0-r0.apk', sha256: 'a'.repeat(64) }] as unknown as BuiltPackage[];
  const env = environment({ kind: 'assembled', rootfs: '/unused', packages: [{ name: 'busybox', version: '1.36-r1' }] });
  const statement = JSON.parse(formatProvenance(recipe, 'recipe', compiled, built, env, ['pkg:apk/wolfi/busybox@1.36-r1?arch=x86_64'], 'bubblewrap', 1700000000, 'abc', {} as BuildRequest, [])) as {
    predicate: { buildDefinition: { resolvedDependencies: Array<{ name?: string; uri: string }>; internalParameters: { sourceDateEpoch: number } }; runDetails: Record<string, unknown> };
  };

  it('names environment packages by the purls given', () => {
    expect(statement.predicate.buildDefinition.resolvedDependencies).toEqual([{ name: 'busybox', uri: 'pkg:apk/wolfi/busybox@1.36-r1?arch=x86_64', annotations: { version: '1.36-r1' } }]);
  });

  it('does not pass SOURCE_DATE_EPOCH off as the start time: no startedOn, the epoch stays a parameter', () => {
    expect(statement.predicate.runDetails).toEqual({ builder: { id: 'https://kiln.dev/builder/bubblewrap', version: { kiln: '0.1.0' } } });
    expect(statement.predicate.buildDefinition.internalParameters.sourceDateEpoch).toBe(1700000000);
  });
});
