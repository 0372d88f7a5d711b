// Detects and applies updates for recipes with a melange `update:` block: read the feed, pick the newest
// version, fetch each new tarball and checksum it, then rewrite the recipe atomically. A recipe whose
// update cannot be read, fetched or verified is left as it was and reported; the others go on.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isKilnError, loadYamlBounded, writeFileAtomic } from '../lib/index.ts';
import { FactoryError } from './errors.ts';
import { chooseUpdate, fetchUris, parseUpdateBlock, rewriteMelangeRecipe } from './format/melange-update.ts';
import { readUpdateFeed } from './update-feeds.ts';
import type { UpdateFeedOptions } from './update-feeds.ts';

export type MelangeUpdateOutcome =
  | { recipe: string; status: 'applied'; from: string; to: string; tag: string; sha256s: string[] }
  | { recipe: string; status: 'current' | 'disabled'; version: string }
  | { recipe: string; status: 'refused'; code: string; reason: string };

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

/** Checks one recipe file; with `apply`, writes the new version and checksums to it. */
export async function updateMelangeRecipe(file: string, opts: UpdateFeedOptions & { apply: boolean }): Promise<MelangeUpdateOutcome | undefined> {
  const text = await readFile(file, 'utf8');
  const data = loadYamlBounded(text, file) as { package?: { version?: unknown }; update?: unknown; pipeline?: { uses?: string; with?: Record<string, unknown> }[] } | null;
  if (!data?.update) return undefined;
  try {
    const block = parseUpdateBlock(file, data.update);
    const current = String(data.package?.version ?? '');
    if (!block?.source || !block.enabled) return { recipe: file, status: 'disabled', version: current };
    const gitUrl = data.pipeline?.find((s) => s.uses === 'git-checkout')?.with?.repository;
    const tags = await readUpdateFeed(file, block.source, opts, typeof gitUrl === 'string' ? gitUrl : undefined);
    const choice = chooseUpdate(block, current, tags);
    if (!choice) return { recipe: file, status: 'current', version: current };
    const sha256s: string[] = [];
    for (const uri of fetchUris(text, file, choice.version)) sha256s.push(await sha256Of(file, uri));
    if (opts.apply) await writeFileAtomic(file, rewriteMelangeRecipe(text, file, choice.version, sha256s));
    return { recipe: file, status: 'applied', from: current, to: choice.version, tag: choice.tag, sha256s };
  } catch (error) {
    if (!isKilnError(error)) throw error;
    return { recipe: file, status: 'refused', code: error.code, reason: error.message };
  }
}
