// Update detection for Debian-sourced recipes: newer versions from the Sources indexes, each
// downloaded and verified before a recipe may move to it. A version that cannot be fetched or
// verified is skipped (and named); the next older newer version is tried.
import { silentLogger } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import type { ChangelogEntry } from '../debian/index.ts';
import { compareDebianVersions } from '../debian/index.ts';
import { apkVersionOf, newerVersions, nextEpoch, pinsOf } from './format/debian-update.ts';
import type { RecipeDebianSource, RecipeUpdate, SourcesEntry } from './format/debian-update.ts';

/** Port: where Debian source versions come from (apt's private lists, or Sources indexes by URL). */
export interface DebianUpdateSource {
  /** Every entry of every index; an index that cannot be read is a warning, not a failure. */
  entries(packages: readonly string[]): Promise<{ entries: SourcesEntry[]; warnings: string[] }>;
  /** Downloads the entry's files, verifies them against the pins (and the .dsc), keeps them in the
   *  build's source cache, and returns the changelog; throws when any of that fails. */
  fetch(entry: SourcesEntry, pins: RecipeUpdate['pins']): Promise<{ changelog: readonly ChangelogEntry[] }>;
}

/** A recipe to check. */
export interface UpdateCandidateRecipe {
  recipe: string;
  file: string;
  source: RecipeDebianSource;
}

/** What detection found for one recipe. */
export type RecipeUpdateOutcome =
  | { recipe: string; status: 'current'; version: string }
  | { recipe: string; status: 'update'; update: RecipeUpdate; skipped: { version: string; reason: string }[] }
  | { recipe: string; status: 'failed'; version: string; skipped: { version: string; reason: string }[]; reason: string };

/** Finds, downloads and verifies the newest fetchable newer version of each recipe's source. */
export async function detectDebianUpdates(recipes: readonly UpdateCandidateRecipe[], source: DebianUpdateSource, options: { logger?: Logger } = {}): Promise<{ outcomes: RecipeUpdateOutcome[]; warnings: string[] }> {
  const logger = options.logger ?? silentLogger;
  const { entries, warnings } = await source.entries([...new Set(recipes.map((recipe) => recipe.source.package))]);
  const outcomes: RecipeUpdateOutcome[] = [];
  for (const recipe of recipes) {
    const newer = newerVersions(recipe.source, entries);
    if (newer.length === 0) {
      outcomes.push({ recipe: recipe.recipe, status: 'current', version: recipe.source.version });
      continue;
    }
    const skipped: { version: string; reason: string }[] = [];
    let update: RecipeUpdate | undefined;
    for (const entry of newer) {
      const pins = pinsOf(entry);
      const toApk = apkVersionOf(entry.version);
      if (!pins || !toApk) {
        skipped.push({ version: entry.version, reason: !pins ? `${entry.origin} lists no .dsc for it` : 'its upstream version is not a valid apk version' });
        continue;
      }
      try {
        const fetched = await source.fetch(entry, pins);
        const between = fetched.changelog.filter((change) => compareDebianVersions(change.version, recipe.source.version) > 0);
        update = {
          recipe: recipe.recipe,
          file: recipe.file,
          package: recipe.source.package,
          from: recipe.source.version,
          to: entry.version,
          fromApk: `${recipe.source.apkVersion}-r${recipe.source.epoch}`,
          toApk,
          epoch: nextEpoch(recipe.source, toApk),
          pins,
          cves: [...new Set(between.flatMap((change) => change.cves.map((cve) => cve.id)))].sort(),
          changes: between.flatMap((change) => change.changes).slice(0, 50),
        };
        break;
      } catch (error) {
        const reason = (error as Error).message.split('\n')[0]!;
        logger.warn({ recipe: recipe.recipe, version: entry.version, reason }, 'debian update not usable');
        skipped.push({ version: entry.version, reason });
      }
    }
    if (update) outcomes.push({ recipe: recipe.recipe, status: 'update', update, skipped });
    else outcomes.push({ recipe: recipe.recipe, status: 'failed', version: recipe.source.version, skipped, reason: `no newer version could be fetched and verified: ${skipped.map((skip) => `${skip.version} (${skip.reason})`).join('; ')}` });
  }
  return { outcomes, warnings };
}
