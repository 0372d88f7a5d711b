// A recipe's melange `update:` block and the choice of the newest upstream version from a feed's tags.
// Pure: the feeds themselves are read by an adapter; this module only parses and selects.
import { isMap, isSeq, parseDocument } from 'yaml';
import type { Document, YAMLMap } from 'yaml';
import { compareVersions, isValidVersion } from '../../apk/index.ts';
import { FactoryError } from '../errors.ts';

export type UpdateSource =
  | { kind: 'release-monitor'; identifier: number }
  | { kind: 'github'; identifier: string; useTag: boolean }
  | { kind: 'git' };

export interface UpdateBlock {
  enabled: boolean;
  source: UpdateSource | undefined;
  stripPrefix: string;
  stripSuffix: string;
  /** Only tags (release-monitor: versions) that start with / contain these are candidates. */
  tagFilterPrefix: string;
  tagFilterContains: string;
  /** melange's `enable-prerelease-tags`: also GitHub pre-releases and release-monitor's unstable versions. */
  enablePreReleaseTags: boolean;
  ignoreRegexPatterns: readonly RegExp[];
  versionTransform: readonly { match: RegExp; replace: string }[];
}

type Raw = Record<string, unknown>;

function str(recipe: string, obj: Raw, key: string): string {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(recipe, `update.${key}`, 'must be a string');
  return v;
}

function invalid(recipe: string, field: string, why: string): FactoryError {
  return new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${field} ${why}`, { detail: { recipe, field } });
}

function regex(recipe: string, field: string, source: string, flags = ''): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (cause) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${field} is not a valid regular expression`, { cause, detail: { recipe, field } });
  }
}

/** Parses the `update:` mapping of a recipe (already YAML-decoded); `undefined` when the recipe has none. */
export function parseUpdateBlock(recipe: string, raw: unknown): UpdateBlock | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(recipe, 'update', 'must be a mapping');
  const u = raw as Raw;
  const enabled = u.enabled !== false;
  const rm = u['release-monitor'] as Raw | undefined;
  const gh = u.github as Raw | undefined;
  const git = u.git as Raw | undefined;
  let source: UpdateSource | undefined;
  // Filters live inside the monitor's own mapping in melange; the one chosen supplies them.
  // release-monitor names them version-filter-*, the git monitors tag-filter-* (GitHub also the
  // older `tag-filter`).
  let filters: Raw = {};
  let tagFilterPrefix = '';
  let tagFilterContains = '';
  if (rm) {
    const id = Number(rm.identifier);
    if (!Number.isInteger(id) || id <= 0) throw invalid(recipe, 'update.release-monitor.identifier', 'must be a positive integer');
    source = { kind: 'release-monitor', identifier: id };
    filters = rm;
    tagFilterPrefix = str(recipe, rm, 'version-filter-prefix');
    tagFilterContains = str(recipe, rm, 'version-filter-contains');
  } else if (gh) {
    const id = gh.identifier;
    if (typeof id !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(id)) throw invalid(recipe, 'update.github.identifier', 'must be owner/repo');
    source = { kind: 'github', identifier: id, useTag: gh['use-tag'] === true };
    filters = gh;
    tagFilterPrefix = str(recipe, gh, 'tag-filter-prefix') || str(recipe, gh, 'tag-filter');
    tagFilterContains = str(recipe, gh, 'tag-filter-contains');
  } else if (git) {
    source = { kind: 'git' };
    filters = git;
    tagFilterPrefix = str(recipe, git, 'tag-filter-prefix');
    tagFilterContains = str(recipe, git, 'tag-filter-contains');
  }
  const ignore = u['ignore-regex-patterns'];
  if (ignore !== undefined && !Array.isArray(ignore)) throw invalid(recipe, 'update.ignore-regex-patterns', 'must be a list');
  const transforms = u['version-transform'];
  if (transforms !== undefined && !Array.isArray(transforms)) throw invalid(recipe, 'update.version-transform', 'must be a list');
  return {
    enabled,
    source,
    stripPrefix: str(recipe, filters, 'strip-prefix'),
    stripSuffix: str(recipe, filters, 'strip-suffix'),
    tagFilterPrefix,
    tagFilterContains,
    enablePreReleaseTags: u['enable-prerelease-tags'] === true,
    ignoreRegexPatterns: ((ignore ?? []) as unknown[]).map((p, i) => regex(recipe, `update.ignore-regex-patterns[${i}]`, String(p))),
    versionTransform: ((transforms ?? []) as Raw[]).map((t, i) => ({
      match: regex(recipe, `update.version-transform[${i}].match`, String(t.match ?? ''), 'g'),
      replace: String(t.replace ?? ''),
    })),
  };
}

/** Upstream tag or version string to an apk version, or `undefined` when the block's filters reject it. */
export function tagToVersion(block: UpdateBlock, tag: string): string | undefined {
  if (block.tagFilterPrefix && !tag.startsWith(block.tagFilterPrefix)) return undefined;
  if (block.tagFilterContains && !tag.includes(block.tagFilterContains)) return undefined;
  if (block.ignoreRegexPatterns.some((re) => re.test(tag))) return undefined;
  let v = tag;
  if (block.stripPrefix && v.startsWith(block.stripPrefix)) v = v.slice(block.stripPrefix.length);
  if (block.stripSuffix && v.endsWith(block.stripSuffix)) v = v.slice(0, -block.stripSuffix.length);
  // Every match is replaced, as melange does (Go's ReplaceAllString).
  for (const t of block.versionTransform) v = v.replace(t.match, t.replace);
  return isValidVersion(v) ? v : undefined;
}

export interface UpdateChoice {
  version: string;
  tag: string;
}

/** The newest accepted version strictly newer than `current`, with the tag it came from; `undefined` if none. */
export function chooseUpdate(block: UpdateBlock, current: string, tags: readonly string[]): UpdateChoice | undefined {
  let best: UpdateChoice | undefined;
  for (const tag of tags) {
    const version = tagToVersion(block, tag);
    if (version === undefined || compareVersions(version, current) <= 0) continue;
    if (!best || compareVersions(version, best.version) > 0) best = { version, tag };
  }
  return best;
}

/** The `with:` mappings of a recipe's top-level steps that use `uses`. */
function stepsUsing(doc: Document, uses: string): YAMLMap[] {
  const pipeline = doc.get('pipeline');
  if (!isSeq(pipeline)) return [];
  return pipeline.items.flatMap((step) => {
    if (!isMap(step) || step.get('uses') !== uses) return [];
    const w = step.get('with');
    return isMap(w) ? [w as YAMLMap] : [];
  });
}

function parseRecipe(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: ${doc.errors[0]!.message}`, { detail: { file } });
  return doc;
}

/** `value` with the recipe's package and vars substitutions made at `version`; a substitution left over
 *  (one the update cannot know) is refused rather than fetched literally. */
function substitute(doc: Document, file: string, field: string, value: string, version: string): string {
  const vars = doc.get('vars');
  const out = value.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (whole, name: string) => {
    if (name === 'package.version') return version;
    if (name === 'package.name') return String(doc.getIn(['package', 'name']) ?? whole);
    if (name.startsWith('vars.') && isMap(vars) && vars.has(name.slice(5))) return String(vars.get(name.slice(5)));
    return whole;
  });
  const left = /\$\{\{[^}]*\}\}/.exec(out);
  if (left) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: ${field}: ${left[0]} cannot be resolved for an update`, { detail: { file, field } });
  return out;
}

/** The fetch URIs of a recipe at `version` (substitutions made), in pipeline order. */
export function fetchUris(text: string, file: string, version: string): string[] {
  const doc = parseRecipe(text, file);
  return stepsUsing(doc, 'fetch').map((w, i) => substitute(doc, file, `pipeline fetch[${i}].uri`, String(w.get('uri') ?? ''), version));
}

/** The recipe's first `git-checkout` step that pins `expected-commit`: its repository and the tag it
 *  checks out at `version`. An update must move the pin to that tag's commit. */
export function pinnedCheckout(text: string, file: string, version: string): { repository: string; tag: string } | undefined {
  const doc = parseRecipe(text, file);
  const step = stepsUsing(doc, 'git-checkout').find((w) => w.has('expected-commit'));
  if (!step) return undefined;
  const tag = step.get('tag');
  if (typeof tag !== 'string' || tag === '') throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: git-checkout pins expected-commit without a tag; an update cannot know the new commit`, { detail: { file, field: 'git-checkout.tag' } });
  return { repository: substitute(doc, file, 'git-checkout.repository', String(step.get('repository') ?? ''), version), tag: substitute(doc, file, 'git-checkout.tag', tag, version) };
}

/**
 * The recipe text at a new upstream version: `package.version` set, `package.epoch` reset to 0, each
 * fetch step's `expected-sha256` replaced by the checksum computed for it (same order as `fetchUris`),
 * and the pinned git-checkout's `expected-commit` moved to `expectedCommit`. Comments and layout of
 * the rest of the file are kept.
 */
export function rewriteMelangeRecipe(text: string, file: string, version: string, sha256s: readonly string[], expectedCommit?: string): string {
  const doc = parseRecipe(text, file);
  const steps = stepsUsing(doc, 'fetch');
  if (steps.length !== sha256s.length) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: ${steps.length} fetch steps but ${sha256s.length} checksums`, { detail: { file } });
  }
  const pinned = stepsUsing(doc, 'git-checkout').find((w) => w.has('expected-commit'));
  if (pinned && !expectedCommit) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: git-checkout pins expected-commit but no new commit was given`, { detail: { file } });
  doc.setIn(['package', 'version'], version);
  doc.setIn(['package', 'epoch'], 0);
  steps.forEach((w, i) => w.set('expected-sha256', sha256s[i]));
  if (pinned && expectedCommit) pinned.set('expected-commit', expectedCommit);
  return doc.toString();
}
