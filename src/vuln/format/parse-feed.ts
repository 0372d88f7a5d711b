import { VulnError } from '../errors.ts';
import { advisoryRecords, parseAdvisoryFile } from './advisory.ts';
import { parseDebianAdvisoryList, parseDebianCveList } from './debian-tracker.ts';
import { emptyFeed, mergeFeeds } from './model.ts';
import type { ParsedFeed } from './model.ts';
import { parseEpss, parseKev, parseNvd } from './nvd.ts';
import { osvRecordsOfText, parseOsvRecords } from './osv.ts';
import { parseSecdb } from './secdb.ts';
import { readZipEntries } from './zip.ts';

// Pure: one feed's raw files (one file, every file of a directory, or a download) into records.

/** One raw file of a feed. */
export interface FeedPart {
  /** File name or URL, for messages. */
  name: string;
  data: Buffer;
}

/** What to parse and how to name it. */
interface FeedParseOptions {
  feed: string;
  type: string;
  ecosystem?: string;
}

function isZip(data: Buffer): boolean {
  return data.length >= 4 && data.readUInt32LE(0) === 0x04034b50;
}

/** Parses every part of a feed by its type; OSV parts may be records, lists of records or zip
 *  dumps of records. Duplicate OSV ids across parts resolve to the last modified. */
export function parseFeedParts(parts: readonly FeedPart[], options: FeedParseOptions): ParsedFeed {
  const { feed } = options;
  if (options.type === 'osv') {
    const records: Array<{ record: unknown; source: string }> = [];
    for (const part of parts) {
      if (isZip(part.data)) {
        for (const entry of readZipEntries(part.data, part.name)) {
          if (!entry.name.endsWith('.json')) continue;
          for (const record of osvRecordsOfText(entry.data.toString('utf8'), `${part.name}:${entry.name}`, feed)) records.push({ record, source: `${part.name}:${entry.name}` });
        }
      } else {
        for (const record of osvRecordsOfText(part.data.toString('utf8'), part.name, feed)) records.push({ record, source: part.name });
      }
    }
    return parseOsvRecords(records, { feed });
  }
  if (options.type === 'advisories') {
    // Kiln's own advisories (a directory of <origin>.yaml): a file that fails its schema fails the
    // update, since these files are the project's own data and CI validates them.
    const feed = emptyFeed();
    for (const part of parts) {
      const base = part.name.slice(part.name.lastIndexOf('/') + 1);
      if (!/\.ya?ml$/.test(base)) continue;
      feed.affected.push(...advisoryRecords(parseAdvisoryFile(part.data.toString('utf8'), part.name, base.replace(/\.ya?ml$/, '')), options.feed, options.ecosystem ?? ''));
    }
    return feed;
  }
  return mergeFeeds(
    parts.map((part) => {
      const text = part.data.toString('utf8');
      const common = { feed, source: part.name };
      switch (options.type) {
        case 'secdb':
          return parseSecdb(text, { ...common, ...(options.ecosystem ? { ecosystem: options.ecosystem } : {}) });
        case 'debian-cve':
          return parseDebianCveList(text, common);
        case 'debian-dsa':
          return parseDebianAdvisoryList(text, common);
        case 'nvd':
          return parseNvd(text, common);
        case 'kev':
          return parseKev(text, common);
        case 'epss':
          return parseEpss(text, common);
        default:
          throw new VulnError('VULN_FEED_CONFIG_INVALID', `feed ${feed}: type ${options.type} is not one Kiln reads`, { detail: { feed, type: options.type } });
      }
    }),
  );
}
