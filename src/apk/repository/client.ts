import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { silentLogger } from '../../lib/index.ts';
import type { Logger, Progress } from '../../lib/index.ts';
import { readIndex, recheckIndex, verifyIndex } from '../format/index-archive.ts';
import type { ApkIndex, VerifiedIndexArchive } from '../format/index-archive.ts';
import type { PackageRecord } from '../format/record.ts';
import type { Keyring } from '../format/signature.ts';
import { ApkError } from '../errors.ts';
import type { ApkCache } from './cache.ts';
import type { Fetcher, FetchValidators } from './fetcher.ts';
import { identityKey } from './identity.ts';
import { verifyPackageFile } from './package-verify.ts';
import type { ExpectedPackage, VerifiedPackageFile } from './package-verify.ts';
import { describeRepository, indexUrl, packageUrl } from './repositories.ts';
import type { Repository } from './repositories.ts';

/** A repository's verified index for one architecture. */
export interface RepositoryIndex {
  repository: Repository;
  arch: string;
  /** The APKINDEX.tar.gz URL. */
  url: string;
  description?: string;
  /** The index records, verified. */
  records: PackageRecord[];
  /** Key that verified the index; absent when it was accepted untrusted. */
  signedBy?: string;
  /** Whether the bytes came from the cache (fresh or confirmed by a 304) rather than a download. */
  fromCache: boolean;
}

/** A repository's index for one architecture, verified, whose records are read only when asked:
 *  a caller holding what these very bytes give (a prepared universe) keys it by `digest`. */
export interface VerifiedRepositoryIndex extends Omit<RepositoryIndex, 'records'> {
  /** SHA-256 hex of the APKINDEX.tar.gz bytes that verified. */
  digest: string;
  /** The records of those bytes, parsed on the first call. */
  records(): Promise<PackageRecord[]>;
}

/** Where one package comes from: its index record, the repository and the arch directory. */
export interface PackageSource {
  record: PackageRecord;
  repository: Repository;
  arch: string;
}

/** A package that is in the cache and verified against its index record. */
export interface FetchedPackage {
  source: PackageSource;
  /** URL it was (or would be) downloaded from. */
  url: string;
  /**
   * Path of the verified file in the cache, this source's own (see ApkCache.packagePath: keyed by
   * identity and package URL, so another repository's copy of the same identity is never here).
   * Read-only: never modify it. It never goes missing: a copy is only ever replaced by renaming
   * another verified download of the same URL and identity over it, whose control and data members
   * are byte-for-byte these (the identity hashes the control member, which holds the data's
   * datahash); only the signature member can differ, and only if the repository re-signed the
   * package at that URL. Reading by path is therefore safe for whatever is checked against the
   * identity or datahash (as the image builder's readApkFile with expectedIdentity does); a reader
   * that needs these exact signature bytes must read them from one open file (one stream).
   */
  path: string;
  /** `C:` (Q1 SHA-1 of the control member), as recomputed. */
  identity: string;
  /** SHA-256 hex of the data member (the `.PKGINFO` datahash), as recomputed. */
  datahash: string;
  size: number;
  /** True when no download was needed. */
  cached: boolean;
}

/** Download progress: `done`/`total` count packages, `bytes`/`totalBytes` count bytes. */
export interface DownloadProgress extends Progress {
  phase: 'download';
  bytes: number;
  /** Sum of the index `S:` sizes of packages still to download plus those done, when all are known. */
  totalBytes?: number;
}

/** Options of the repository client. */
export interface RepositoryClientOptions {
  fetcher: Fetcher;
  cache: ApkCache;
  keyring: Keyring;
  /** Accept indexes without a trusted signature (a bad signature by a trusted key is still fatal). */
  allowUntrusted?: boolean;
  /** A cached index younger than this is used without asking the server (default 0: always
   *  revalidate with If-None-Match / If-Modified-Since). */
  indexMaxAgeMs?: number;
  /** Use a cached index when the server cannot be reached or fails (5xx, timeout), with a warning
   *  (default true, as apk does). */
  staleIfError?: boolean;
  /** Retries of a failed download after transient errors (default 2). */
  retries?: number;
  /** Delay before the first retry, doubled each time (default 250 ms). */
  retryDelayMs?: number;
  /** How to wait between retries (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Package downloads in flight at once across all callers of this client (default 6). */
  concurrency?: number;
  /** Cap on an index download and on a package download whose record has no `S:`. */
  maxDownloadBytes?: number;
  now?: () => number;
  logger?: Logger;
}

const DEFAULT_MAX_DOWNLOAD = 4 * 1024 * 1024 * 1024;
const MAX_INDEX_DOWNLOAD = 512 * 1024 * 1024;

/**
 * The apk repository client: loads and verifies indexes, downloads packages into the cache with
 * verification, and hands out only verified packages. Concurrent requests for the same index or
 * package share one download.
 */
export class RepositoryClient {
  readonly #options: Required<Omit<RepositoryClientOptions, 'allowUntrusted'>> & { allowUntrusted: boolean };
  readonly #indexLoads = new Map<string, Promise<RepositoryIndex>>();
  readonly #packageLoads = new Map<string, Promise<FetchedPackage>>();
  #activeDownloads = 0;
  readonly #waiting: Array<() => void> = [];
  /** The keyring plus apko-style aliases: a key stored as `name` also answers to `name.rsa.pub`. */
  readonly #keyring = new Map<string, KeyObject>();
  /** Bumped whenever a key is added: a parse is reused only under the keyring it was made with
   *  (its `signedBy` may differ under a larger one). */
  #keyringGeneration = 0;
  /** The last parse of each index URL, by the SHA-256 of the bytes it came from. */
  readonly #parsedIndexes = new Map<string, { digest: string; generation: number; index: ApkIndex }>();

  constructor(options: RepositoryClientOptions) {
    for (const [name, key] of options.keyring) this.trustKey(name, key);
    this.#options = {
      allowUntrusted: options.allowUntrusted ?? false,
      staleIfError: options.staleIfError ?? true,
      retries: Math.max(0, options.retries ?? 2),
      retryDelayMs: options.retryDelayMs ?? 250,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      indexMaxAgeMs: options.indexMaxAgeMs ?? 0,
      concurrency: Math.max(1, options.concurrency ?? 6),
      maxDownloadBytes: options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD,
      now: options.now ?? Date.now,
      logger: options.logger ?? silentLogger,
      fetcher: options.fetcher,
      cache: options.cache,
      keyring: options.keyring,
    };
  }

  /** Adds a trusted key (a build environment's recipe brings its own keyring); the first key of a
   *  name wins. Indexes loaded afterwards may be signed by it. */
  trustKey(name: string, key: KeyObject): void {
    const size = this.#keyring.size;
    if (!this.#keyring.has(name)) this.#keyring.set(name, key);
    if (!name.endsWith('.rsa.pub') && !this.#keyring.has(`${name}.rsa.pub`)) this.#keyring.set(`${name}.rsa.pub`, key);
    if (this.#keyring.size !== size) this.#keyringGeneration++;
  }

  /** Loads the indexes of several repositories for one arch, in parallel, keeping their order. */
  loadIndexes(repositories: readonly Repository[], arch: string): Promise<RepositoryIndex[]> {
    return Promise.all(repositories.map((repository) => this.loadIndex(repository, arch)));
  }

  /**
   * Fetches (or revalidates) and verifies the indexes of several repositories exactly as
   * {@link loadIndexes} does, but parses records only when a caller asks for them.
   */
  verifyIndexes(repositories: readonly Repository[], arch: string): Promise<VerifiedRepositoryIndex[]> {
    return Promise.all(repositories.map((repository) => this.#loadIndex(repository, arch, indexUrl(repository, arch), false) as Promise<VerifiedRepositoryIndex>));
  }

  /** Fetches (or revalidates) `URL/ARCH/APKINDEX.tar.gz`, verifies its signature against the
   *  keyring before reading any record, and parses it. */
  loadIndex(repository: Repository, arch: string): Promise<RepositoryIndex> {
    const url = indexUrl(repository, arch);
    const key = `${repository.tag ?? ''}\u0000${url}`;
    let load = this.#indexLoads.get(key);
    if (!load) {
      load = this.#loadIndex(repository, arch, url, true).then((index) => index as RepositoryIndex).finally(() => this.#indexLoads.delete(key));
      this.#indexLoads.set(key, load);
    }
    return load;
  }

  async #loadIndex(repository: Repository, arch: string, url: string, withRecords: boolean): Promise<RepositoryIndex | VerifiedRepositoryIndex> {
    const { cache, fetcher, logger, now } = this.#options;
    if (this.#keyring.size === 0 && !this.#options.allowUntrusted) {
      throw new ApkError('APK_REPO_KEYRING_EMPTY', `${url}: no trusted keys to verify the index: give a keyring (--keyring DIR, key files or key URLs) or --allow-untrusted`, { detail: { url } });
    }
    const cached = await cache.readIndex(url);
    let bytes: Buffer | undefined;
    let fromCache = false;
    let fresh: { validators: FetchValidators } | undefined;
    let touchedAt: number | undefined;
    if (cached && now() - cached.entry.fetchedAt <= this.#options.indexMaxAgeMs) {
      bytes = cached.bytes;
      fromCache = true;
    } else {
      try {
        const result = await this.#withRetries(url, () => fetcher.fetch(url, cached ? { validators: cached.entry.validators } : {}));
        if (result.kind === 'not-modified' && cached) {
          bytes = cached.bytes;
          fromCache = true;
          touchedAt = now();
          await cache.touchIndex(cached.entry, touchedAt);
        } else if (result.kind === 'body') {
          bytes = await readAll(result.body, MAX_INDEX_DOWNLOAD, url);
          fresh = { validators: result.validators };
        } else {
          const again = await fetcher.fetch(url);
          if (again.kind !== 'body') throw new ApkError('APK_REPO_NETWORK', `GET ${url}: server answered 304 to an unconditional request`, { detail: { url } });
          bytes = await readAll(again.body, MAX_INDEX_DOWNLOAD, url);
          fresh = { validators: again.validators };
        }
      } catch (error) {
        // Like apk, an unreachable or failing server does not stop work when a copy is cached; the
        // copy is still verified below. A 404 is not papered over: the repository URL is wrong.
        const transient = error instanceof ApkError && ['APK_REPO_NETWORK', 'APK_REPO_TIMEOUT', 'APK_REPO_HTTP_STATUS'].includes(error.code);
        if (!cached || !transient || !this.#options.staleIfError) throw error;
        logger.warn({ url, code: error.code, reason: error.message }, 'repository unreachable, using the cached index');
        bytes = cached.bytes;
        fromCache = true;
      }
    }
    let index: VerifiedIndexArchive;
    // Bytes read from the cache were hashed and checked against their entry when read.
    const digest = fromCache && cached && bytes === cached.bytes ? cached.entry.sha256 : createHash('sha256').update(bytes).digest('hex');
    const verifiedBytes = bytes;
    // These very bytes were read in full before: verifying their signature again suffices.
    const known = cached?.entry.sha256 === digest ? cached.entry.check : undefined;
    let quick: VerifiedIndexArchive | undefined;
    try {
      const options = { name: url, keyring: this.#keyring, allowUntrusted: this.#options.allowUntrusted };
      quick = !withRecords && known ? recheckIndex(bytes, known, options) : undefined;
      index = quick ?? (withRecords ? await this.#parseIndex(url, digest, bytes) : await verifyIndex(chunks(bytes), options));
    } catch (error) {
      if (!fromCache || !(error instanceof ApkError)) throw error;
      // The cached copy does not verify under today's keyring: forget it and download afresh.
      logger.warn({ url, code: error.code }, 'cached index failed verification, refetching');
      await cache.removeIndex(url);
      return this.#loadIndex(repository, arch, url, withRecords);
    }
    if (fresh) await cache.writeIndex(url, bytes, now(), fresh.validators, index.check);
    else if (cached && quick === undefined && cached.entry.sha256 === digest && JSON.stringify(known) !== JSON.stringify(index.check)) {
      // Keep what this full read found (a keyring that now trusts another signer changes it), on
      // top of the entry as the 304 above left it.
      await cache.recordIndexCheck({ ...cached.entry, ...(touchedAt !== undefined ? { fetchedAt: touchedAt } : {}) }, index.check);
    }
    logger.debug({ url, fromCache, signedBy: index.signedBy }, 'index loaded');
    const loaded = {
      repository,
      arch,
      url,
      ...(index.description !== undefined ? { description: index.description } : {}),
      ...(index.signedBy !== undefined ? { signedBy: index.signedBy } : {}),
      fromCache,
    };
    if (withRecords) return { ...loaded, records: (index as ApkIndex).records };
    let records: Promise<PackageRecord[]> | undefined;
    return { ...loaded, digest, records: () => (records ??= this.#parseIndex(url, digest, verifiedBytes).then((parsed) => parsed.records)) };
  }

  /**
   * Verifies and parses index bytes. The same verified bytes parse to the same records: the parse
   * of the last load is handed out again (the keyring only grows, so what verified then still
   * verifies). Callers that resolve several times (per arch, again with pins) then share one
   * records array and its solver universe. The package core's reader checks the signature over
   * the index member before any record is parsed, and refuses dot entries and unknown upper-case
   * fields as apk does.
   */
  async #parseIndex(url: string, digest: string, bytes: Buffer): Promise<ApkIndex> {
    const parsed = this.#parsedIndexes.get(url);
    if (parsed && parsed.digest === digest && parsed.generation === this.#keyringGeneration) return parsed.index;
    const index = await readIndex(chunks(bytes), { name: url, keyring: this.#keyring, allowUntrusted: this.#options.allowUntrusted });
    this.#parsedIndexes.set(url, { digest, generation: this.#keyringGeneration, index });
    return index;
  }

  /** URL of a package: `URL/ARCH/NAME-VERSION.apk`. */
  packageUrl(source: PackageSource): string {
    return packageUrl(source.repository, source.arch, source.record.name, source.record.version);
  }

  /**
   * Makes one package available, verified, in the cache: a cached copy is re-verified against the
   * record (`S:`, `C:`, datahash) before use; a download streams to a temporary file and is renamed
   * into the cache only after it verifies. A cached copy that fails is left in place until that
   * rename replaces it: another process sharing the cache may be reading it (and a failed download
   * leaves it to be verified, and refused, again next time).
   */
  fetchPackage(source: PackageSource, onBytes?: (count: number) => void): Promise<FetchedPackage> {
    const where = `${source.record.name}-${source.record.version} (${source.record.identity})`;
    const url = this.packageUrl(source);
    // Keyed by the cache path (identity and URL): the same identity from two repositories is two
    // fetches, each answered with its own source, URL and file.
    const path = this.#options.cache.packagePath(identityKey(source.record.identity, where), url);
    let load = this.#packageLoads.get(path);
    if (!load) {
      load = this.#fetchPackage(source, url, path, onBytes).finally(() => this.#packageLoads.delete(path));
      this.#packageLoads.set(path, load);
    }
    return load;
  }

  async #fetchPackage(source: PackageSource, url: string, path: string, onBytes?: (count: number) => void): Promise<FetchedPackage> {
    const { cache, logger } = this.#options;
    const { record } = source;
    const expected = record.size !== undefined ? { identity: record.identity, size: record.size } : { identity: record.identity };
    if (await cache.hasFile(path)) {
      try {
        const verified = await verifyPackageFile(path, expected, `${url} (cached ${path})`);
        return { source, url, path, ...verified, cached: true };
      } catch (error) {
        // Not removed: the verified download below is renamed over it.
        logger.warn({ url, path, code: (error as ApkError).code }, 'cached package failed verification, replacing it');
      }
    }
    const verified = await this.#withRetries(url, () => this.#download(record, url, path, expected, onBytes));
    logger.debug({ url, size: verified.size }, 'package downloaded');
    return { source, url, path, ...verified, cached: false };
  }

  async #download(record: PackageRecord, url: string, path: string, expected: ExpectedPackage, onBytes?: (count: number) => void): Promise<VerifiedPackageFile> {
    const { cache, fetcher } = this.#options;
    // Every download, whoever asks for it, takes one of `concurrency` slots.
    await this.#acquireSlot();
    try {
      const result = await fetcher.fetch(url);
      if (result.kind !== 'body') throw new ApkError('APK_REPO_NETWORK', `GET ${url}: server answered 304 to an unconditional request`, { detail: { url } });
      if (record.size !== undefined && result.contentLength !== undefined && result.contentLength !== record.size) {
        result.body.destroy();
        throw new ApkError('APK_REPO_PACKAGE_SIZE_MISMATCH', `${url}: server announces ${result.contentLength} bytes, but the index says ${record.size}`, {
          detail: { url, size: result.contentLength, expected: record.size },
        });
      }
      return await cache.store(
        path,
        result.body,
        { ...(record.size !== undefined ? { expectedSize: record.size } : {}), maxBytes: this.#options.maxDownloadBytes, where: url, ...(onBytes ? { onBytes } : {}) },
        (temp) => verifyPackageFile(temp, expected, url),
      );
    } finally {
      this.#releaseSlot();
    }
  }

  /** Retries transient failures (network, timeout, 5xx/429) with exponential backoff; a
   *  verification failure is not transient and fails at once. */
  async #withRetries<T>(url: string, attempt: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        if (retry >= this.#options.retries || !isTransient(error)) throw error;
        const delay = this.#options.retryDelayMs * 2 ** retry;
        this.#options.logger.warn({ url, code: (error as ApkError).code, reason: (error as Error).message, retry: retry + 1, delayMs: delay }, 'download failed, retrying');
        await this.#options.sleep(delay);
      }
    }
  }

  /**
   * Fetches packages with at most `concurrency` downloads in flight, reporting progress after each
   * chunk and each finished package. Resolves in input order; the first failure rejects (downloads
   * already running finish or fail on their own, and never leave unverified files behind).
   */
  async fetchPackages(
    sources: readonly PackageSource[],
    options: { concurrency?: number; onProgress?: (progress: DownloadProgress) => void } = {},
  ): Promise<FetchedPackage[]> {
    const concurrency = Math.max(1, options.concurrency ?? this.#options.concurrency);
    const results: FetchedPackage[] = new Array<FetchedPackage>(sources.length);
    const sizes = sources.map((source) => source.record.size);
    const totalBytes = sizes.every((size) => size !== undefined) ? sizes.reduce<number>((sum, size) => sum + size!, 0) : undefined;
    let bytes = 0;
    let done = 0;
    let next = 0;
    let failed = false;
    const report = (item?: string): void => {
      options.onProgress?.({ phase: 'download', done, total: sources.length, bytes, ...(totalBytes !== undefined ? { totalBytes } : {}), ...(item ? { item } : {}) });
    };
    const worker = async (): Promise<void> => {
      while (!failed && next < sources.length) {
        const index = next++;
        const source = sources[index]!;
        const item = `${source.record.name}-${source.record.version}`;
        try {
          const fetched = await this.fetchPackage(source, (count) => {
            bytes += count;
            report(item);
          });
          if (fetched.cached) bytes += fetched.size;
          results[index] = fetched;
          done++;
          report(item);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, sources.length) }, worker));
    return results;
  }

  #acquireSlot(): Promise<void> {
    if (this.#activeDownloads < this.#options.concurrency) {
      this.#activeDownloads++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #releaseSlot(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#activeDownloads--;
  }

  /** A readable stream of a verified package file (fetching it first if needed): what the image
   *  assembler consumes. */
  async openPackage(source: PackageSource): Promise<{ package: FetchedPackage; stream: Readable }> {
    const fetched = await this.fetchPackage(source);
    return { package: fetched, stream: createReadStream(fetched.path) };
  }

  /** Describes a repository as apk prints it. */
  static describe(repository: Repository): string {
    return describeRepository(repository);
  }
}

/** A failure worth retrying or answering from a cached copy: network, timeout, 5xx, 429, 408. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ApkError)) return false;
  if (error.code === 'APK_REPO_NETWORK' || error.code === 'APK_REPO_TIMEOUT') return true;
  const status = error.detail.status;
  return error.code === 'APK_REPO_HTTP_STATUS' && typeof status === 'number' && (status >= 500 || status === 429 || status === 408);
}

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

async function readAll(body: Readable, limit: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      body.destroy();
      throw new ApkError('APK_LIMIT_EXCEEDED', `${url}: index download is larger than ${limit} bytes`, { detail: { url, limit } });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
