// Kiln OS for whole-system tests: the project's own recipes and images (os/) built once with
// `kiln os build` into the test cache ($KILN_TEST_CACHE_DIR/kiln-os, kept between runs). Every test
// that needs Kiln OS calls ensureKilnOs(), whatever order the files run in: the first call of a
// run builds what is missing or stale (minutes when cold), later calls find every recipe and image
// up to date (about a second). Tests that change the build copy `out` first.
import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runKiln } from './cli-support.ts';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** Where the cached build lives. */
export const kilnOsCache = join(process.env.KILN_TEST_CACHE_DIR ?? join(tmpdir(), 'kiln-test-cache'), 'kiln-os');

/** `kiln os build --json`, as tests read it. */
export interface OsSummary {
  packages: { name: string; status: string }[];
  images: { name: string; status: string; layout: string; digest?: string }[];
  index: string;
}

/** The cached Kiln OS build and where its parts are. */
export interface KilnOs {
  summary: OsSummary;
  /** Packages (`x86_64/*.apk`, `APKINDEX.tar.gz`) and image layouts. */
  out: string;
  /** The RSA key signing packages and index, and its public half. */
  signingKey: string;
  publicKey: string;
  /** Verified Debian source files, content-addressed. */
  debianSources: string;
}

/** Runs `kiln os build` on the cache; throws with the build's own error output when it fails. */
export async function ensureKilnOs(): Promise<KilnOs> {
  const out = join(kilnOsCache, 'out');
  const signingKey = join(kilnOsCache, 'kiln-os.rsa');
  const debianSources = join(kilnOsCache, 'debian-sources');
  const result = await runKiln(['os', 'build', '--os-dir', join(root, 'os'), '--out-dir', out, '--signing-key', signingKey, '--debian-source-cache', debianSources, '--json'], { cwd: root, env: { ...process.env } });
  if (result.code !== 0) throw new Error(`kiln os build failed (exit ${result.code}):\n${result.stderr.slice(-4000)}`);
  return { summary: JSON.parse(result.stdout) as OsSummary, out, signingKey, publicKey: `${signingKey}.pub`, debianSources };
}

/** Long enough for a cold build of every recipe on a loaded two-core machine. */
export const KILN_OS_BUILD_TIMEOUT = 60 * 60_000;

/** A factory's working tree in `work`, from the cached Kiln OS: its output, Debian sources and
 *  signing keys, the recipes as a git checkout (so updates are committed on a branch), a cosign key
 *  pair and the test vulnerability index (vuln/vuln.sqlite). `env` carries COSIGN_PASSWORD and
 *  keeps git away from the user's configuration. */
export async function prepareFactoryWorkspace(work: string, env: NodeJS.ProcessEnv): Promise<void> {
  await ensureKilnOs();
  await cp(join(kilnOsCache, 'out'), join(work, 'out'), { recursive: true });
  await cp(join(kilnOsCache, 'debian-sources'), join(work, 'debian-sources'), { recursive: true, filter: (source) => !source.includes('/apt') });
  for (const key of ['kiln-os.rsa', 'kiln-os.rsa.pub']) await cp(join(kilnOsCache, key), join(work, key));
  await cp(join(root, 'os'), join(work, 'os'), { recursive: true });
  // One fixed commit date: workspaces prepared a second apart must hold the same commit, since a
  // package names its recipe's commit (and so its bytes and every image's digest depend on it).
  const fixedDate = '2026-01-01T00:00:00Z';
  const git = (args: string[]) => run('git', args, { cwd: join(work, 'os'), env: { ...env, GIT_AUTHOR_DATE: fixedDate, GIT_COMMITTER_DATE: fixedDate } });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'Kiln OS']);
  const keys = await runKiln(['generate-key-pair'], { cwd: work, env });
  if (keys.code !== 0) throw new Error(`kiln generate-key-pair failed: ${keys.stderr}`);
  const vuln = await runKiln(['vuln', 'db', 'update', '--config', join(root, 'test', 'fixtures', 'factory', 'feeds.yaml'), '--db-dir', join(work, 'vuln')], { cwd: work, env });
  if (vuln.code !== 0) throw new Error(`kiln vuln db update failed: ${vuln.stderr}`);
}
