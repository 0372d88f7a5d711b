// Detects updates for recipes with a melange `update:` block: read the feed, pick the newest version,
// fetch each new tarball and checksum it (and, for a pinned git-checkout, read the new tag's commit),
// then give the recipe text at that version. A recipe whose update cannot be read, fetched or verified
// is reported as refused; nothing is written here (the run's update step writes and commits).
import { createHash } from 'node:crypto';
import { isKilnError, loadYamlBounded } from '../lib/index.ts';
import { FactoryError } from './errors.ts';
import { chooseUpdate, fetchUris, parseUpdateBlock, pinnedCheckout, rewriteMelangeRecipe } from './format/melange-update.ts';
import type { UpdateSource } from './format/melange-update.ts';
import { readUpdateFeed, tagCommit } from './update-feeds.ts';
import type { UpdateFeedOptions } from './update-feeds.ts';

/** What detection found for one recipe with an `update:` block. */
export type MelangeUpdateOutcome =
  | { recipe: string; status: 'update'; feed: string; from: string; to: string; tag: string; sha256s: string[]; commit?: string; text: string }
  | { recipe: string; status: 'current' | 'disabled'; version: string }
  | { recipe: string; status: 'refused'; version: string; code: string; reason: string };

async function sha256Of(recipe: string, uri: string): Promise<string> {
  let res: Response;
  try {
    // A whole tarball: generous, but bounded, so one stalled mirror cannot hold up a run.
    res = await fetch(uri, { signal: AbortSignal.timeout(10 * 60_000) });
  } catch (cause) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${uri}: cannot be fetched`, { cause, detail: { recipe, url: uri } });
  }
  if (!res.ok || !res.body) throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${uri}: HTTP ${res.status}`, { detail: { recipe, url: uri, status: res.status } });
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk as Uint8Array);
  return hash.digest('hex');
}

const feedName = (source: UpdateSource, gitUrl: string | undefined): string =>
  source.kind === 'release-monitor' ? `release-monitor project ${source.identifier}` : source.kind === 'github' ? `GitHub ${source.identifier}${source.useTag ? ' tags' : ' releases'}` : `git tags of ${gitUrl ?? '?'}`;

/** `true` when the recipe text has an `update:` block (enabled or not). */
export function hasUpdateBlock(text: string, file: string): boolean {
  const data = loadYamlBounded(text, file) as { update?: unknown } | null;
  return data?.update !== undefined && data.update !== null;
}

/** Checks one recipe (its name, file and current text) against its update feed. */
export async function detectMelangeUpdate(recipe: { name: string; file: string; text: string }, opts: UpdateFeedOptions): Promise<MelangeUpdateOutcome | undefined> {
  const { name, file, text } = recipe;
  const data = loadYamlBounded(text, file) as { package?: { version?: unknown }; update?: unknown; pipeline?: { uses?: string; with?: Record<string, unknown> }[] } | null;
  if (!data?.update) return undefined;
  const current = String(data.package?.version ?? '');
  try {
    const block = parseUpdateBlock(file, data.update);
    if (!block?.source || !block.enabled) return { recipe: name, status: 'disabled', version: current };
    const gitUrl = data.pipeline?.find((s) => s.uses === 'git-checkout')?.with?.repository;
    const repository = typeof gitUrl === 'string' ? gitUrl : undefined;
    const tags = await readUpdateFeed(file, { source: block.source, enablePreReleaseTags: block.enablePreReleaseTags }, opts, repository);
    const choice = chooseUpdate(block, current, tags);
    if (!choice) return { recipe: name, status: 'current', version: current };
    const sha256s: string[] = [];
    for (const uri of fetchUris(text, file, choice.version)) sha256s.push(await sha256Of(file, uri));
    const pinned = pinnedCheckout(text, file, choice.version);
    const commit = pinned ? await tagCommit(file, pinned.repository, pinned.tag) : undefined;
    const next = rewriteMelangeRecipe(text, file, choice.version, sha256s, commit);
    return { recipe: name, status: 'update', feed: feedName(block.source, repository), from: current, to: choice.version, tag: choice.tag, sha256s, ...(commit ? { commit } : {}), text: next };
  } catch (error) {
    if (!isKilnError(error)) throw error;
    return { recipe: name, status: 'refused', version: current, code: error.code, reason: error.message };
  }
}
