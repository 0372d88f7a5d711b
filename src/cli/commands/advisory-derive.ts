import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { defaultCacheDir } from '../../apk/repository/index.ts';
import { assertInputDirectory, pathExists, parseYamlBounded, readInputFile, readInputText } from '../../lib/index.ts';
import { changelogOfDiffGz, deriveChangelogAdvisories, VulnError } from '../../vuln/index.ts';
import type { ChangelogSource } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

interface DeriveFlags {
  osDir: string;
  debianSourceCache?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface RecipeSource {
  name: string;
  version: string;
  debianVersion: string;
  debianSha256: string;
  recipe: string;
}

const run = promisify(execFile);

function substitute(value: unknown, vars: Record<string, unknown>): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  return String(value).replace(/\$\{\{\s*vars\.([A-Za-z0-9_-]+)\s*\}\}/g, (_all, name: string) => String(vars[name] ?? ''));
}

/** The Debian source of a Kiln OS recipe (its `debian/source` step), or undefined for a recipe
 *  Kiln writes itself. */
async function recipeSource(path: string): Promise<RecipeSource | undefined> {
  const { doc } = parseYamlBounded(await readInputText(path, { what: 'recipe' }), path);
  const recipe = (doc.toJS() ?? {}) as { package?: { name?: unknown; version?: unknown; epoch?: unknown }; vars?: Record<string, unknown>; pipeline?: Array<{ uses?: unknown; with?: Record<string, unknown> }> };
  const step = (recipe.pipeline ?? []).find((item) => item?.uses === 'debian/source');
  if (!step?.with || typeof recipe.package?.name !== 'string') return undefined;
  const vars = recipe.vars ?? {};
  const debianVersion = substitute(step.with.version, vars);
  const debianSha256 = substitute(step.with['debian-sha256'], vars);
  if (!debianVersion || !debianSha256) return undefined;
  return { name: recipe.package.name, version: `${String(recipe.package.version)}-r${Number(recipe.package.epoch ?? 0)}`, debianVersion, debianSha256, recipe: path };
}

/** debian/changelog of a format 3.0 `.debian.tar.*` (GNU tar detects xz or gzip itself: Node has
 *  no xz) or of a format 1.0 `.diff.gz` (the diff creates it). */
async function changelogOf(archive: string): Promise<string | undefined> {
  const fromDiff = changelogOfDiffGz(await readInputFile(archive, { what: 'Debian source file', maxBytes: 256 * 1024 * 1024 }));
  if (fromDiff !== undefined) return fromDiff;
  try {
    return (await run('tar', ['-xOf', archive, 'debian/changelog'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch {
    return undefined;
  }
}

/** `kiln advisory derive`: `fixed` events from the Debian changelogs of the Kiln OS recipes. */
export function registerAdvisoryDerive(advisory: Command, context: CliContext): void {
  advisory
    .command('derive')
    .description(
      "add a fixed event, at the built version, for every CVE the Debian changelog of each Kiln OS recipe's source names at or below the Debian version it builds (the changelog line is the evidence); files change only when an event is added",
    )
    .argument('[dir]', 'advisories directory', 'os/advisories')
    .option('--os-dir <DIR>', 'Kiln OS tree whose packages/*.yaml recipes are read', 'os')
    .option('--debian-source-cache <DIR>', 'verified Debian sources as kiln os build keeps them (default: $XDG_CACHE_HOME/kiln/debian-sources)')
    .option('--dry-run', 'report what would be added without writing')
    .option('--json', 'print what was added as JSON')
    .action(async (dir: string, flags: DeriveFlags) => {
      const osDir = resolve(context.cwd, flags.osDir);
      const recipes = join(osDir, 'packages');
      await assertInputDirectory(recipes, 'Kiln OS recipes directory');
      const cache = flags.debianSourceCache ? resolve(context.cwd, flags.debianSourceCache) : join(defaultCacheDir(context.env, context.env.HOME ?? homedir()), 'debian-sources');
      const sources: ChangelogSource[] = [];
      for (const name of (await readdir(recipes)).filter((file) => /\.ya?ml$/.test(file)).sort()) {
        const recipe = await recipeSource(join(recipes, name));
        if (!recipe) continue;
        const archive = join(cache, `sha256:${recipe.debianSha256}`);
        if (!(await pathExists(archive))) {
          throw new VulnError('VULN_FEED_UNAVAILABLE', `${recipe.recipe}: the Debian source ${recipe.name} ${recipe.debianVersion} is not in ${cache} (run kiln os build, or give --debian-source-cache)`, { detail: { recipe: recipe.recipe, file: archive } });
        }
        const changelog = await changelogOf(archive);
        if (changelog === undefined) {
          throw new VulnError('VULN_FEED_INVALID', `${recipe.recipe}: the Debian source ${recipe.name} ${recipe.debianVersion} has no readable debian/changelog`, { detail: { recipe: recipe.recipe, file: archive } });
        }
        sources.push({ name: recipe.name, version: recipe.version, debianVersion: recipe.debianVersion, changelog, changelogName: `${recipe.name} ${recipe.debianVersion} debian/changelog` });
      }
      const results = await deriveChangelogAdvisories(resolve(context.cwd, dir), sources, { dryRun: flags.dryRun ?? false });
      if (flags.json) {
        printJson(context, results);
        return;
      }
      for (const result of results) {
        context.stdout(`${result.package} ${result.version} (Debian ${result.debianVersion}): ${result.cves} CVEs in the changelog, ${result.added.length} fixed events ${flags.dryRun ? 'to add' : 'added'}\n`);
      }
    });
}
