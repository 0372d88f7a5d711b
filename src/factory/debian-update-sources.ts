// Adapters of DebianUpdateSource: apt's private lists (the same AptSourceFetcher the builds use), or
// Sources indexes read from archive URLs (file://, http(s)://) with the files downloaded and verified
// here and put into the fetcher's content-addressed cache, so the build then runs offline.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AptSourceFetcher } from '../debian/index.ts';
import { parseControl, sourceFiles, stripClearSignature } from '../debian/index.ts';
import { FactoryError } from './errors.ts';
import type { DebianUpdateSource } from './debian-updates.ts';
import { decodeSourcesIndex, parseSourcesIndex } from './format/debian-update.ts';
import type { RecipeUpdate, SourcesEntry } from './format/debian-update.ts';

const FETCH_TIMEOUT_MS = 60_000;

async function readUrl(url: string): Promise<Uint8Array | undefined> {
  if (url.startsWith('file://')) {
    try {
      return await readFile(fileURLToPath(url));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function request(entry: SourcesEntry, pins: RecipeUpdate['pins']) {
  return { package: entry.package, version: entry.version, dscSha256: pins.dscSha256, ...(pins.origSha256 ? { origSha256: pins.origSha256 } : {}), ...(pins.debianSha256 ? { debianSha256: pins.debianSha256 } : {}) };
}

/** Sources indexes at `URL/dists/SUITE/COMPONENT/source/Sources{.gz,}`; files from `URL/DIRECTORY/NAME`. */
export function repositoryUpdateSource(repositories: readonly { url: string; suites: readonly string[]; component: string }[], fetcher: AptSourceFetcher): DebianUpdateSource {
  return {
    async entries() {
      const entries: SourcesEntry[] = [];
      const warnings: string[] = [];
      for (const repository of repositories) {
        for (const suite of repository.suites) {
          const base = `${repository.url}/dists/${suite}/${repository.component}/source/Sources`;
          try {
            const bytes = (await readUrl(`${base}.gz`)) ?? (await readUrl(base));
            if (!bytes) {
              warnings.push(`${base}{.gz,}: not found`);
              continue;
            }
            entries.push(...parseSourcesIndex(decodeSourcesIndex(bytes), { archive: repository.url, suite }));
          } catch (error) {
            warnings.push(`${base}: cannot be read (${(error as Error).message.split('\n')[0]}${(error as { cause?: Error }).cause ? `: ${(error as { cause: Error }).cause.message}` : ''})`);
          }
        }
      }
      return { entries, warnings };
    },
    async fetch(entry, pins) {
      await mkdir(fetcher.cacheDir, { recursive: true });
      const work = await mkdtemp(join(fetcher.cacheDir, '.factory-'));
      try {
        const verified: string[] = [];
        let dscText: string | undefined;
        for (const file of entry.files) {
          const url = `${entry.archive}/${entry.directory}/${file.name}`;
          const bytes = await readUrl(url);
          if (!bytes) throw new FactoryError('FACTORY_UPDATE_FAILED', `${url}: not found`, { detail: { url } });
          const actual = sha256(bytes);
          if (actual !== file.sha256 || bytes.length !== file.size) {
            throw new FactoryError('FACTORY_UPDATE_FAILED', `${url}: the Sources index lists sha256 ${file.sha256} (${file.size} bytes), got ${actual} (${bytes.length} bytes)`, { detail: { url, expected: file.sha256, actual } });
          }
          if (file.name.endsWith('.dsc')) dscText = Buffer.from(bytes).toString('utf8');
          await writeFile(join(work, actual), bytes);
          verified.push(actual);
        }
        if (!dscText) throw new FactoryError('FACTORY_UPDATE_FAILED', `${entry.package} ${entry.version}: no .dsc`, { detail: { package: entry.package } });
        const paragraph = parseControl(stripClearSignature(dscText))[0];
        const listed = paragraph ? sourceFiles(paragraph) : [];
        for (const file of listed) {
          const indexed = entry.files.find((candidate) => candidate.name === file.name);
          if (!indexed || indexed.sha256 !== file.sha256) {
            throw new FactoryError('FACTORY_UPDATE_FAILED', `${entry.package} ${entry.version}: the .dsc lists ${file.name} sha256 ${file.sha256}, the Sources index ${indexed ? `sha256 ${indexed.sha256}` : 'does not list it'}`, { detail: { package: entry.package, file: file.name } });
          }
        }
        // Verified: into the fetcher's content-addressed cache (a file is named by its own hash).
        for (const hash of verified) await rename(join(work, hash), join(fetcher.cacheDir, `sha256:${hash}`));
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      return fetcher.fetch(request(entry, pins));
    },
  };
}

/** apt's private lists (deb-src for the configured mirrors and suites): `apt-get update` through the
 *  fetcher, the Sources files of its lists directory, `apt-get source` to download. */
export function aptUpdateSource(fetcher: AptSourceFetcher): DebianUpdateSource {
  return {
    async entries(packages) {
      const warnings: string[] = [];
      // availableVersions refreshes the private lists when they are stale (once per fetcher).
      if (packages.length > 0) await fetcher.availableVersions(packages[0]!);
      const lists = join(fetcher.cacheDir, 'apt', 'lists');
      const entries: SourcesEntry[] = [];
      const names = (await readdir(lists).catch(() => [] as string[])).filter((name) => name.endsWith('_Sources')).sort();
      if (names.length === 0) warnings.push(`${lists}: apt left no Sources lists (is the mirror reachable?)`);
      for (const name of names) {
        const suite = /_dists_([^_]+)_/.exec(name)?.[1] ?? name;
        entries.push(...parseSourcesIndex(decodeSourcesIndex(await readFile(join(lists, name))), { archive: 'apt', suite }));
      }
      return { entries, warnings };
    },
    fetch: (entry, pins) => fetcher.fetch(request(entry, pins)),
  };
}
