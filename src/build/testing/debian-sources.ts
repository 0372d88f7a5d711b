import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Test support: real upstream tarballs from Debian bookworm's source packages, fetched with
// `apt-get source --download-only` using private apt state (its own sources list, lists and cache
// under the temp dir) so the machine's package lists stay untouched. Downloads are cached for reuse.

const run = promisify(execFile);

/** Where downloaded source packages are kept between test runs (the test run's KILN_TEST_CACHE_DIR). */
export function debianSourceCache(): string {
  return join(process.env.KILN_TEST_CACHE_DIR ?? join(tmpdir(), 'kiln-test-cache'), 'debian-sources');
}

/** Returns the path of the `*.orig.tar.*` tarball of a Debian source package, downloading it once. */
export async function debianOrigTarball(sourcePackage: string): Promise<string> {
  const cache = debianSourceCache();
  const dir = join(cache, sourcePackage);
  const existing = await origIn(dir);
  if (existing) return existing;
  const state = join(cache, '.apt');
  await mkdir(join(state, 'lists', 'partial'), { recursive: true });
  await mkdir(join(state, 'cache', 'archives', 'partial'), { recursive: true });
  const sourcesList = join(state, 'sources.list');
  await writeFile(sourcesList, 'deb-src http://deb.debian.org/debian bookworm main\n');
  const options = [
    '-o', `Dir::Etc::SourceList=${sourcesList}`,
    '-o', 'Dir::Etc::SourceParts=/dev/null',
    '-o', `Dir::State::Lists=${join(state, 'lists')}`,
    '-o', `Dir::Cache=${join(state, 'cache')}`,
    '-o', 'Debug::NoLocking=1',
    '-o', 'APT::Sandbox::User=root',
    '-q',
  ];
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await run('apt-get', [...options, 'update'], { timeout: 300_000 });
    await run('apt-get', [...options, 'source', '--download-only', sourcePackage], { cwd: partial, timeout: 300_000 });
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    const detail = error as { stderr?: string; message: string };
    throw new Error(`downloading the Debian source package ${sourcePackage} with apt-get source failed (is deb.debian.org reachable?): ${detail.stderr || detail.message}`, { cause: error });
  }
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  const tarball = await origIn(dir);
  if (!tarball) throw new Error(`apt-get source ${sourcePackage} produced no *.orig.tar.* file in ${dir}`);
  return tarball;
}

async function origIn(dir: string): Promise<string | undefined> {
  try {
    const name = (await readdir(dir)).find((entry) => /\.orig\.tar\.(gz|bz2|xz|zst)$/.test(entry));
    return name ? join(dir, name) : undefined;
  } catch {
    return undefined;
  }
}
