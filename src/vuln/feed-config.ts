import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { loadYamlBounded, readInputText } from '../lib/index.ts';
import { VulnError } from './errors.ts';

/** Feed formats Kiln reads. */
export const FEED_TYPES = ['osv', 'secdb', 'debian-cve', 'debian-dsa', 'nvd', 'kev', 'epss', 'advisories'] as const;

/** A feed format. */
export type FeedType = (typeof FEED_TYPES)[number];

const ECOSYSTEM = /^(alpine:(\d+\.\d+|edge)|wolfi|chainguard|kiln|debian:(\d+|sid))$/;

const feedSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"'),
    type: z.enum(FEED_TYPES),
    url: z.string().regex(/^https?:\/\//, 'an http:// or https:// URL').optional(),
    path: z.string().min(1).optional(),
    ecosystem: z.string().regex(ECOSYSTEM, 'one of alpine:X.Y, alpine:edge, wolfi, chainguard, kiln, debian:N, debian:sid').optional(),
  })
  .refine((feed) => (feed.url === undefined) !== (feed.path === undefined), { message: 'give exactly one of url and path', path: ['url'] })
  .refine((feed) => feed.type !== 'advisories' || feed.ecosystem !== undefined, { message: 'an advisories feed needs the ecosystem of the packages it describes', path: ['ecosystem'] });

const configSchema = z.strictObject({ feeds: z.array(feedSchema).min(1) }).superRefine((config, context) => {
  const seen = new Set<string>();
  config.feeds.forEach((feed, index) => {
    if (seen.has(feed.name)) context.addIssue({ code: 'custom', path: ['feeds', index, 'name'], message: `feed name ${feed.name} is used twice` });
    seen.add(feed.name);
  });
});

/** One configured feed; `location` is an http(s) URL or an absolute path (file or directory). */
export interface FeedConfig {
  name: string;
  type: FeedType;
  location: string;
  isRemote: boolean;
  ecosystem?: string;
}

/** Parses a feed configuration (YAML or JSON: `feeds: [{name, type, url|path, ecosystem?}]`);
 *  paths are relative to the file. VULN_FEED_CONFIG_INVALID names the file and the field. */
export function parseFeedConfig(text: string, file: string): FeedConfig[] {
  const value = loadYamlBounded(text, file);
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
    throw new VulnError('VULN_FEED_CONFIG_INVALID', `${file}: ${field || 'document'}: ${issue.message}`, { detail: { file, field } });
  }
  const base = dirname(file);
  return parsed.data.feeds.map((feed) => ({
    name: feed.name,
    type: feed.type,
    location: feed.url ?? (isAbsolute(feed.path!) ? feed.path! : resolve(base, feed.path!)),
    isRemote: feed.url !== undefined,
    ...(feed.ecosystem ? { ecosystem: feed.ecosystem } : {}),
  }));
}

/** Reads and parses a feed configuration file. */
export async function loadFeedConfig(path: string): Promise<FeedConfig[]> {
  return parseFeedConfig(await readInputText(path, { what: 'vulnerability feed configuration' }), path);
}
