import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AptSourceFetcher } from '../../debian/index.ts';
import type { DebianSourceRequest } from '../../debian/index.ts';

// Test support: real upstream tarballs from Debian bookworm's source packages, fetched and verified
// by the same fetcher the `debian/source` pipeline uses (private apt state, every file checked
// against these pins and the .dsc, content-addressed cache kept between test runs).

/** The source packages tests build, pinned like a recipe pins them. */
const PINNED: Record<string, DebianSourceRequest> = {
  hello: {
    package: 'hello',
    version: '2.10-3',
    dscSha256: '75296f5ef618ae2f1849e22b142a2b5ab52c452ebefa4e7b0564c44617db3790',
    origSha256: '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b',
    debianSha256: '60ee7a466808301fbaa7fea2490b5e7a6d86f598956fb3e79c71b3295dc1f249',
  },
  zlib: {
    package: 'zlib',
    version: '1:1.2.13.dfsg-1',
    dscSha256: '3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8',
    origSha256: '71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1',
    debianSha256: 'f66cf3d4f2d7defcd4d1fd1fb0a11ee39f1e01b42ec7d059c9dc5c1695133c44',
  },
};

/** Where verified source files are kept between test runs (the test run's KILN_TEST_CACHE_DIR). */
export function debianSourceCache(): string {
  return join(process.env.KILN_TEST_CACHE_DIR ?? join(tmpdir(), 'kiln-test-cache'), 'debian-sources');
}

/** The path of the verified upstream tarball of a pinned Debian source package, downloaded once. */
export async function debianOrigTarball(sourcePackage: string): Promise<string> {
  const request = PINNED[sourcePackage];
  if (!request) throw new Error(`no pinned Debian source for ${sourcePackage}: add its .dsc, orig and debian tarball sha256 to src/package-builder/testing/debian-sources.ts`);
  const source = await new AptSourceFetcher({ cacheDir: debianSourceCache() }).fetch(request);
  const orig = source.files.find((file) => file.role === 'orig' || file.role === 'native');
  if (!orig) throw new Error(`Debian source ${sourcePackage} ${request.version} has no upstream tarball`);
  // Recipes fetch it by its own name (tar would take the cache's `sha256:` name for a remote host).
  const named = join(debianSourceCache(), 'by-name', orig.name);
  if (!(await stat(named).catch(() => undefined))) {
    await mkdir(join(debianSourceCache(), 'by-name'), { recursive: true });
    const partial = `${named}.partial-${process.pid}`;
    await rm(partial, { force: true });
    await link(orig.path, partial);
    await rename(partial, named);
  }
  return named;
}
