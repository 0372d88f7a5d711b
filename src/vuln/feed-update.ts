import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Fetcher } from '../apk/index.ts';
import { isKilnError, readInputFile, writeFileAtomic } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { VulnError } from './errors.ts';
import type { FeedConfig } from './feed-config.ts';
import { feedRecordCount } from './format/model.ts';
import type { FeedWarning } from './format/model.ts';
import { parseFeedParts } from './format/parse-feed.ts';
import type { FeedPart } from './format/parse-feed.ts';
import type { FeedState, VulnIndex } from './port.ts';

/** Largest single feed file read (NVD year files and OSV dumps are large). */
const MAX_FEED_BYTES = 1024 * 1024 * 1024;

/** What happened to one feed during an update. */
export interface FeedUpdateResult {
  name: string;
  /** `updated`: new content indexed; `unchanged`: same content (or 304); `offline`: the source
   *  could not be reached and the copy already indexed (or cached) was kept. */
  outcome: 'updated' | 'unchanged' | 'offline';
  records: number;
  warnings: FeedWarning[];
  /** Why the source could not be reached, for `offline`. */
  reason?: string;
}

/** Ports and settings of {@link updateFeeds}. */
export interface UpdateFeedsOptions {
  feeds: readonly FeedConfig[];
  index: VulnIndex;
  /** GETs http(s) feeds (conditional requests with the validators remembered in the index). */
  fetcher: Fetcher;
  /** Where downloaded feed bodies are kept so the index can be rebuilt offline. */
  cacheDir: string;
  now: () => Date;
  logger: Logger;
  /** Drop feeds from the index that are no longer configured (default true). */
  prune?: boolean;
}

async function readStream(body: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    total += buffer.length;
    if (total > MAX_FEED_BYTES) throw new VulnError('VULN_FEED_INVALID', `feed body is larger than ${MAX_FEED_BYTES} bytes`);
    parts.push(buffer);
  }
  return Buffer.concat(parts, total);
}

async function localParts(feed: FeedConfig): Promise<FeedPart[]> {
  let info;
  try {
    info = await stat(feed.location);
  } catch (error) {
    throw new VulnError('VULN_FEED_UNAVAILABLE', `feed ${feed.name}: ${feed.location}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`, { cause: error, detail: { feed: feed.name, location: feed.location } });
  }
  if (!info.isDirectory()) return [{ name: feed.location, data: await readInputFile(feed.location, { what: `feed ${feed.name}`, maxBytes: MAX_FEED_BYTES }) }];
  const names = (await readdir(feed.location, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  const parts: FeedPart[] = [];
  for (const path of names) parts.push({ name: relative(feed.location, path) || path, data: await readInputFile(path, { what: `feed ${feed.name}`, maxBytes: MAX_FEED_BYTES }) });
  return parts;
}

function digestOf(parts: readonly FeedPart[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.name}\0${part.data.length}\0`).update(part.data);
  return hash.digest('hex');
}

/** What is known of a downloaded feed body, kept beside it (`<feed>.body.json`). */
interface CachedBodyMeta {
  location: string;
  /** When the body was downloaded, or last confirmed current by a 304. */
  fetchedAt: string;
  sha256: string;
  etag?: string;
  lastModified?: string;
}

const metaPath = (cachePath: string) => `${cachePath}.json`;
const sha256Hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function writeCachedBody(cachePath: string, meta: CachedBodyMeta, data: Buffer): Promise<void> {
  await writeFileAtomic(cachePath, data);
  await writeFileAtomic(metaPath(cachePath), `${JSON.stringify(meta)}\n`);
}

async function readCachedMeta(cachePath: string): Promise<Partial<CachedBodyMeta> | undefined> {
  let text: string;
  try {
    text = await readFile(metaPath(cachePath), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const meta = JSON.parse(text) as unknown;
    if (meta && typeof meta === 'object') return meta as Partial<CachedBodyMeta>;
  } catch {
    // Unreadable metadata is treated as absent: the body's own time stands in for it.
  }
  return undefined;
}

async function confirmCachedBody(cachePath: string, checkedAt: string): Promise<void> {
  const meta = await readCachedMeta(cachePath);
  if (meta?.location === undefined || meta.sha256 === undefined) return;
  await writeFileAtomic(metaPath(cachePath), `${JSON.stringify({ ...meta, fetchedAt: checkedAt })}\n`);
}

/** The cached body of an unreachable feed, with when it was downloaded. A copy of another location
 *  (the feed's URL changed) or one whose bytes no longer match their recorded digest is no copy. */
async function readCachedBody(cachePath: string, feed: FeedConfig, reason: string, cause: unknown): Promise<{ data: Buffer; fetchedAt: string }> {
  const unavailable = (why: string) => new VulnError('VULN_FEED_UNAVAILABLE', `feed ${feed.name}: ${feed.location}: cannot fetch and ${why}: ${reason}`, { cause, detail: { feed: feed.name, location: feed.location } });
  let data: Buffer;
  let modified: Date;
  try {
    [data, modified] = await Promise.all([readFile(cachePath), stat(cachePath).then((info) => info.mtime)]);
  } catch {
    throw unavailable('no cached copy');
  }
  const meta = await readCachedMeta(cachePath);
  if (meta?.location !== undefined && meta.location !== feed.location) throw unavailable(`the cached copy is of ${meta.location}, not of this location`);
  if (meta?.sha256 !== undefined && meta.sha256 !== sha256Hex(data)) throw unavailable(`the cached copy ${cachePath} does not match its recorded sha256 (damaged)`);
  const recorded = meta?.fetchedAt !== undefined && !Number.isNaN(Date.parse(meta.fetchedAt)) ? meta.fetchedAt : undefined;
  return { data, fetchedAt: recorded ?? modified.toISOString() };
}

/** Fetches, parses and indexes every configured feed. A feed whose source is unreachable keeps
 *  what the index (or the download cache) already has; with nothing to keep, VULN_FEED_UNAVAILABLE.
 *  Malformed records are skipped and returned as warnings, also logged. */
export async function updateFeeds(options: UpdateFeedsOptions): Promise<FeedUpdateResult[]> {
  const known = new Map(options.index.feeds().map((state) => [state.name, state]));
  const results: FeedUpdateResult[] = [];
  for (const feed of options.feeds) {
    const previous = known.get(feed.name);
    const checkedAt = options.now().toISOString();
    let parts: FeedPart[];
    let validators: { etag?: string; lastModified?: string } = {};
    let offline: string | undefined;
    let fetchedAt = checkedAt;
    if (feed.isRemote) {
      const cachePath = join(options.cacheDir, `${feed.name}.body`);
      const samePlace = previous && previous.location === feed.location && previous.type === feed.type;
      try {
        const result = await options.fetcher.fetch(feed.location, samePlace ? { validators: { ...(previous.etag ? { etag: previous.etag } : {}), ...(previous.lastModified ? { lastModified: previous.lastModified } : {}) } } : {});
        if (result.kind === 'not-modified') {
          options.index.touchFeed({ ...previous!, checkedAt });
          await confirmCachedBody(cachePath, checkedAt);
          results.push({ name: feed.name, outcome: 'unchanged', records: previous!.records, warnings: [] });
          continue;
        }
        const data = await readStream(result.body);
        validators = result.validators;
        await writeCachedBody(cachePath, { location: feed.location, fetchedAt: checkedAt, sha256: sha256Hex(data), ...validators }, data);
        parts = [{ name: feed.location, data }];
      } catch (error) {
        if (!isKilnError(error) || error.code === 'VULN_FEED_INVALID') throw error;
        const reason = error.message;
        if (samePlace) {
          options.logger.warn({ feed: feed.name, reason }, 'feed unreachable, keeping the indexed copy');
          results.push({ name: feed.name, outcome: 'offline', records: previous.records, warnings: [], reason });
          continue;
        }
        const cached = await readCachedBody(cachePath, feed, reason, error);
        options.logger.warn({ feed: feed.name, reason, fetchedAt: cached.fetchedAt }, 'feed unreachable, indexing the cached copy');
        parts = [{ name: feed.location, data: cached.data }];
        offline = reason;
        // The copy is as fresh as its download, not as this run: scans warn when it is stale.
        fetchedAt = cached.fetchedAt;
      }
    } else {
      parts = await localParts(feed);
    }
    const sha256 = digestOf(parts);
    if (previous && previous.sha256 === sha256 && previous.type === feed.type && previous.location === feed.location) {
      options.index.touchFeed({ ...previous, checkedAt, ...validators });
      results.push({ name: feed.name, outcome: 'unchanged', records: previous.records, warnings: [] });
      continue;
    }
    const parsed = parseFeedParts(parts, { feed: feed.name, type: feed.type, ...(feed.ecosystem ? { ecosystem: feed.ecosystem } : {}) });
    for (const warning of parsed.warnings) options.logger.warn({ ...warning }, 'feed record skipped');
    const records = feedRecordCount(parsed);
    const state: FeedState = { name: feed.name, type: feed.type, location: feed.location, updatedAt: fetchedAt, checkedAt: fetchedAt, records, warnings: parsed.warnings.length, sha256, ...validators };
    options.index.replaceFeed(state, parsed);
    results.push({ name: feed.name, outcome: offline === undefined ? 'updated' : 'offline', records, warnings: parsed.warnings, ...(offline === undefined ? {} : { reason: offline }) });
  }
  if (options.prune ?? true) {
    const configured = new Set(options.feeds.map((feed) => feed.name));
    for (const name of known.keys()) if (!configured.has(name)) options.index.removeFeed(name);
  }
  return results;
}

/** One line of `kiln vuln db status`. */
export interface FeedStatus extends FeedState {
  /** Seconds since the feed's content last changed in the index. */
  ageSeconds: number;
}

/** Every indexed feed with its age. */
export function feedStatus(index: VulnIndex, now: Date): FeedStatus[] {
  return index.feeds().map((state) => ({ ...state, ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(state.updatedAt)) / 1000)) }));
}
