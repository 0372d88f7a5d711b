import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { defaultCacheDir } from '../../apk/repository/index.ts';
import { assertInputDirectory, KilnError, pathExists, parseYamlBounded, readInputFile, readInputText } from '../../lib/index.ts';
import { changelogOfDiffGz, debianRelease, deriveChangelogAdvisories, deriveTrackerAdvisories, trackerStatements, VulnError } from '../../vuln/index.ts';
import type { ChangelogSource, TrackerPackageDerivation, TrackerSource, TrackerStatement } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';

interface DeriveFlags {
  osDir: string;
  debianSourceCache?: string;
  dryRun?: boolean;
  json?: boolean;
  debianTracker?: string[];
  debianRelease: string;
}

/** Largest tracker file read (data/CVE/list is about 20 MB). */
const MAX_TRACKER_BYTES = 256 * 1024 * 1024;

/** A tracker file's text, from a path or an http(s) URL. */
async function trackerText(location: string, cwd: string): Promise<string> {
  if (!/^https?:\/\//.test(location)) return readInputText(resolve(cwd, location), { what: 'Debian security tracker file', maxBytes: MAX_TRACKER_BYTES });
  let response: Response;
  try {
    response = await fetch(location, { redirect: 'follow' });
  } catch (error) {
    throw new VulnError('VULN_FEED_UNAVAILABLE', `${location}: cannot fetch the Debian security tracker file: ${(error as Error).message}`, { cause: error, detail: { location } });
  }
  if (!response.ok) throw new VulnError('VULN_FEED_UNAVAILABLE', `${location}: cannot fetch the Debian security tracker file: HTTP ${response.status}`, { detail: { location, status: response.status } });
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_TRACKER_BYTES) throw new VulnError('VULN_FEED_INVALID', `${location}: larger than ${MAX_TRACKER_BYTES} bytes`, { detail: { location } });
  return body.toString('utf8');
}

interface RecipeSource {
  name: string;
  debianPackage: string;
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
  return { name: recipe.package.name, debianPackage: substitute(step.with.package, vars) ?? recipe.package.name, version: `${String(recipe.package.version)}-r${Number(recipe.package.epoch ?? 0)}`, debianVersion, debianSha256, recipe: path };
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
    .option('--debian-tracker <FILE|URL>', "also derive from Debian's security tracker data: data/CVE/list, data/DSA/list or data/DLA/list (repeatable); a fixed version at or below the Debian version built gives a fixed event, <not-affected> with a stated reason a not-affected event; the tracker line is the evidence", (value: string, previous: string[] = []) => [...previous, value])
    .option('--debian-release <CODENAME>', 'Debian release the recipes build from, whose tracker lines apply (else the unstable line)', 'bookworm')
    .option('--dry-run', 'report what would be added without writing')
    .option('--json', 'print what was added as JSON')
    .action(async (dir: string, flags: DeriveFlags) => {
      if (!debianRelease(flags.debianRelease) || /^\d/.test(flags.debianRelease)) throw new KilnError('USAGE', `--debian-release ${flags.debianRelease}: use a Debian codename such as bookworm`);
      const statements: TrackerStatement[] = [];
      for (const location of flags.debianTracker ?? []) {
        const parsed = trackerStatements(await trackerText(location, context.cwd), location);
        for (const warning of parsed.warnings) context.stderr(`warning: ${warning.field}: ${warning.record}: ${warning.message} (skipped)\n`);
        statements.push(...parsed.statements);
      }
      const trackerSources: TrackerSource[] = [];
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
        trackerSources.push({ name: recipe.name, version: recipe.version, debianPackage: recipe.debianPackage, debianVersion: recipe.debianVersion });
      }
      const advisories = resolve(context.cwd, dir);
      const results = await deriveChangelogAdvisories(advisories, sources, { dryRun: flags.dryRun ?? false });
      // The changelog first: a CVE it proves fixed keeps that evidence, the tracker then adds the rest.
      const tracker = flags.debianTracker ? new Map((await deriveTrackerAdvisories(advisories, trackerSources, statements, { release: flags.debianRelease, now: new Date(), dryRun: flags.dryRun ?? false })).map((entry) => [entry.package, entry])) : undefined;
      const trackerOf = (name: string): TrackerPackageDerivation | undefined => tracker?.get(name);
      if (flags.json) {
        printJson(
          context,
          results.map((result) => {
            const entry = trackerOf(result.package);
            return entry ? { ...result, ...(entry.path ? { path: entry.path } : {}), tracker: { debianPackage: entry.debianPackage, added: entry.added, skipped: entry.skipped } } : result;
          }),
        );
        return;
      }
      for (const result of results) {
        const entry = trackerOf(result.package);
        const fromTracker = entry ? `; tracker: ${entry.added.length} events ${flags.dryRun ? 'to add' : 'added'}, ${entry.skipped.length} skipped` : '';
        context.stdout(`${result.package} ${result.version} (Debian ${result.debianVersion}): ${result.cves} CVEs in the changelog, ${result.added.length} fixed events ${flags.dryRun ? 'to add' : 'added'}${fromTracker}\n`);
      }
    });
}
