import { isValidVersion } from '../../apk/index.ts';
import { parseJsonBounded } from '../../lib/index.ts';
import { VulnError } from '../errors.ts';
import { ecosystemFromSecdb } from './ecosystem.ts';
import { emptyFeed } from './model.ts';
import type { ParsedFeed } from './model.ts';

// Pure: apk secdb (`security.json`, as Alpine serves it beside its repositories). A CVE listed
// under a version is fixed in that version and later; under "0" the package was never affected.

const VULN_ID = /^[A-Z][A-Z0-9]*-[A-Za-z0-9._:-]+$/;

/** Options of {@link parseSecdb}. */
interface SecdbOptions {
  /** Configured feed name, for records and warnings. */
  feed: string;
  /** Ecosystem of the feed when its header does not identify it (anything but Alpine). */
  ecosystem?: string;
  /** File name for errors. */
  source?: string;
}

/** Parses a secdb document; malformed packages or entries are skipped with a warning naming the
 *  feed, the package and the field. VULN_FEED_INVALID when the document is not a secdb at all, or
 *  when its ecosystem is neither recognized nor configured. */
export function parseSecdb(text: string, options: SecdbOptions): ParsedFeed {
  const source = options.source ?? options.feed;
  let document: unknown;
  try {
    document = parseJsonBounded(text, source);
  } catch (error) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not JSON`, { cause: error, detail: { feed: options.feed, source } });
  }
  if (!document || typeof document !== 'object' || !Array.isArray((document as { packages?: unknown }).packages)) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source} is not an apk secdb (no "packages" list)`, { detail: { feed: options.feed, source } });
  }
  const header = document as { packages: unknown[]; distroversion?: unknown; urlprefix?: unknown };
  const ecosystem = options.ecosystem ?? ecosystemFromSecdb(header);
  if (!ecosystem) {
    throw new VulnError('VULN_FEED_INVALID', `feed ${options.feed}: ${source}: the secdb does not say which distribution it is for (distroversion ${JSON.stringify(header.distroversion ?? null)}, urlprefix ${JSON.stringify(header.urlprefix ?? null)}); set "ecosystem" for this feed`, {
      detail: { feed: options.feed, source },
    });
  }
  const feed = emptyFeed();
  const warn = (record: string, field: string, message: string) => feed.warnings.push({ feed: options.feed, record, field, message });
  header.packages.forEach((entry, index) => {
    const pkg = (entry as { pkg?: unknown } | null)?.pkg as { name?: unknown; secfixes?: unknown } | undefined;
    const name = pkg?.name;
    if (typeof name !== 'string' || name === '') {
      warn(`packages[${index}]`, `packages[${index}].pkg.name`, 'missing or not a string');
      return;
    }
    const secfixes = pkg!.secfixes;
    if (secfixes === undefined) return;
    if (!secfixes || typeof secfixes !== 'object' || Array.isArray(secfixes)) {
      warn(name, `packages[${index}].pkg.secfixes`, 'not a map of version to CVE ids');
      return;
    }
    for (const [version, ids] of Object.entries(secfixes as Record<string, unknown>)) {
      const field = `packages[${index}].pkg.secfixes.${version}`;
      if (!Array.isArray(ids)) {
        warn(name, field, 'not a list of vulnerability ids');
        continue;
      }
      if (version !== '0' && !isValidVersion(version)) {
        warn(name, field, `${JSON.stringify(version)} is not an apk version`);
        continue;
      }
      for (const item of ids) {
        // Alpine writes extra ids on the same line ("CVE-2019-1 XSA-293"): the first is the id.
        const tokens = typeof item === 'string' ? item.trim().split(/\s+/) : [];
        if (tokens.length === 0 || !tokens.every((token) => VULN_ID.test(token))) {
          warn(name, field, `${JSON.stringify(item)} is not a vulnerability id`);
          continue;
        }
        const [id, ...aliases] = tokens as [string, ...string[]];
        feed.affected.push(
          version === '0'
            ? { feed: options.feed, ecosystem, package: name, vulnerability: id, aliases, status: 'not-affected', ranges: [], versions: [] }
            : { feed: options.feed, ecosystem, package: name, vulnerability: id, aliases, status: 'affected', ranges: [{ fixed: version }], versions: [] },
        );
      }
    }
  });
  return feed;
}
