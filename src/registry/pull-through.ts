import type { Digest, Logger } from '../lib/index.ts';
import { BoundedMap, isKilnError } from '../lib/index.ts';
import type { ManifestRecord, MetadataStore } from '../metadata/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { RegistryError } from './errors.ts';
import { repositoryGlob } from './format/patterns.ts';
import type { KeyedLock } from './keyed-mutex.ts';
import { ManifestProblem, parseManifest } from '../oci/index.ts';

/** An upstream registry, as the pull-through cache needs it (the composition root adapts Kiln's
 *  registry client, credentials included). */
export interface Upstream {
  /** Names the upstream in logs and errors. */
  readonly name: string;
  /** A manifest by tag or digest, its bytes' digest verified; undefined when the upstream has none. */
  manifest(repository: string, reference: string): Promise<{ bytes: Uint8Array; digest: Digest; mediaType: string } | undefined>;
  /** A blob's bytes; the iteration throws at its end when they do not hash to `digest`. */
  blob(repository: string, digest: Digest): AsyncIterable<Uint8Array>;
}

/** One `proxy:` rule: local repositories matching `repository` mirror `upstream`. */
export interface PullThroughRule {
  /** Local repository glob. */
  repository: string;
  upstream: Upstream;
  /** Removed from the front of the local name to give the upstream name (e.g. `mirror/`). */
  stripPrefix: string;
  /** Prepended to give the upstream name (e.g. `library/`). */
  addPrefix: string;
  /** A cached tag is checked against the upstream again once this old (ms). */
  revalidateAfterMs: number;
}

/** What the cache writes through: the registry's own stores and digest lock. */
interface PullThroughDependencies {
  blobs: BlobStore;
  metadata: MetadataStore;
  digestLocks: KeyedLock;
  logger: Logger;
  now: () => number;
}

/** A pull-through cache: on a manifest request in a mirrored repository it fetches what is missing
 *  (or a tag that is due for revalidation) from the upstream — the manifest, its index children and
 *  every blob, each verified by digest — and stores it like a push, so later pulls are served
 *  locally, also while the upstream is down. */
/** Tags whose last upstream check is remembered at most. */
const MAX_CHECKED_TAGS = 10_000;

export class PullThroughCache {
  readonly #rules: { rule: PullThroughRule; pattern: RegExp }[];
  readonly #deps: PullThroughDependencies;
  /** When each `repository:tag` was last checked upstream, in this process (a memo: losing it only
   *  costs one more check). */
  readonly #checked = new BoundedMap<string, number>(MAX_CHECKED_TAGS);

  /** How many tags' last upstream checks are remembered (bounded). */
  get rememberedTags(): number {
    return this.#checked.size;
  }

  constructor(rules: readonly PullThroughRule[], deps: PullThroughDependencies) {
    this.#rules = rules.map((rule) => ({ rule, pattern: repositoryGlob(rule.repository) }));
    this.#deps = deps;
  }

  /** The rule mirroring `repository`, if any. */
  ruleFor(repository: string): PullThroughRule | undefined {
    return this.#rules.find((entry) => entry.pattern.test(repository))?.rule;
  }

  /** Makes sure `repository` holds `reference` as fresh as the rule asks, fetching from the upstream
   *  when needed. An upstream that is down or lacks the reference leaves the local state as it is
   *  (a cached copy is then served); a reference neither has is the caller's 404, an unreachable
   *  upstream with nothing cached a 503. */
  async refresh(rule: PullThroughRule, repository: string, reference: string): Promise<void> {
    const { metadata, now } = this.#deps;
    const isDigest = reference.includes(':');
    const local = isDigest ? await metadata.getManifest(repository, reference as Digest) : await metadata.resolveTag(repository, reference);
    if (local && isDigest) return;
    const key = `${repository}:${reference}`;
    if (local && now() - (this.#checked.get(key) ?? 0) < rule.revalidateAfterMs) return;
    const remote = this.#remoteName(rule, repository);
    let fetched;
    try {
      fetched = await rule.upstream.manifest(remote, reference);
    } catch (error) {
      if (local) {
        this.#deps.logger.warn({ repository, reference, upstream: rule.upstream.name, err: error }, 'upstream unavailable; serving the cached copy');
        return;
      }
      throw new RegistryError('UNAVAILABLE', `upstream ${rule.upstream.name} of ${repository} is unavailable and ${reference} is not cached`, { cause: error, detail: { upstream: rule.upstream.name }, headers: { 'retry-after': '5' } });
    }
    // Only tags held here or upstream are remembered (only a cached tag consults the memo), and the
    // oldest go first beyond a bound: names a client makes up must not grow it without end.
    if (local || fetched) this.#checked.set(key, now());
    if (!fetched) return;
    if (local === fetched.digest) return;
    await this.#store(rule, repository, remote, fetched, isDigest ? [] : [reference], 0);
    this.#deps.logger.info({ repository, reference, digest: fetched.digest, upstream: rule.upstream.name }, 'cached from upstream');
  }

  #remoteName(rule: PullThroughRule, repository: string): string {
    const stripped = rule.stripPrefix && repository.startsWith(rule.stripPrefix) ? repository.slice(rule.stripPrefix.length) : repository;
    return `${rule.addPrefix}${stripped}`;
  }

  async #store(rule: PullThroughRule, repository: string, remote: string, fetched: { bytes: Uint8Array; digest: Digest; mediaType: string }, tags: string[], depth: number): Promise<void> {
    const { blobs, metadata, digestLocks, now } = this.#deps;
    let parsed;
    try {
      parsed = parseManifest(fetched.bytes, fetched.mediaType);
    } catch (error) {
      if (error instanceof ManifestProblem) throw new RegistryError('MANIFEST_INVALID', `upstream ${rule.upstream.name} sent an invalid manifest for ${remote}@${fetched.digest}: ${error.message}`, { cause: error });
      throw error;
    }
    for (const child of parsed.children) {
      if (await metadata.getManifest(repository, child)) continue;
      if (depth > 4) throw new RegistryError('MANIFEST_INVALID', `upstream index ${remote}@${fetched.digest} nests deeper than 4 levels`);
      const childManifest = await rule.upstream.manifest(remote, child);
      if (!childManifest) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `upstream ${rule.upstream.name} lacks ${remote}@${child}, a child of ${fetched.digest}`, { detail: { digest: child } });
      await this.#store(rule, repository, remote, childManifest, [], depth + 1);
    }
    for (const digest of new Set(parsed.blobs)) {
      if (await metadata.blobLink(repository, digest)) continue;
      // Fetched and verified outside the digest's lock (put is atomic), so a slow upstream holds up
      // no push, mount or GC of the digest; the lock covers the link, to a blob still there.
      const stored = await blobs.put(digest, rule.upstream.blob(remote, digest), undefined).catch((error: unknown) => {
        if (isKilnError(error) && error.code === 'STORAGE_DIGEST_MISMATCH') throw new RegistryError('DIGEST_INVALID', `upstream ${rule.upstream.name} sent wrong bytes for ${remote}@${digest}`, { cause: error });
        throw error;
      });
      await digestLocks.run(digest, async () => {
        if (!(await blobs.touch(digest))) throw new RegistryError('UNAVAILABLE', `blob ${digest} of ${remote} was removed while it was being cached; pull again`, { detail: { digest }, headers: { 'retry-after': '1' } });
        await metadata.linkBlob(repository, digest, stored.size, now());
      });
    }
    const bytes = Buffer.from(fetched.bytes);
    const record: ManifestRecord = { repository, digest: fetched.digest, mediaType: parsed.mediaType, size: bytes.length, blobs: parsed.blobs, children: parsed.children, createdAt: now() };
    if (parsed.subject) record.subject = parsed.subject;
    if (parsed.artifactType) record.artifactType = parsed.artifactType;
    if (parsed.annotations) record.annotations = parsed.annotations;
    await digestLocks.run(fetched.digest, async () => {
      await blobs.put(fetched.digest, [bytes], bytes.length);
      const result = await metadata.putManifest(record, tags, now());
      if (result.missingBlobs.length || result.missingManifests.length) {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `caching ${remote}@${fetched.digest} from ${rule.upstream.name}: ${[...result.missingBlobs, ...result.missingManifests][0]} is missing`);
      }
    });
  }
}
