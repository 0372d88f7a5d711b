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
  tagFilterPrefix: string;
  tagFilterContains: string;
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
  let filters: Raw = {};
  if (rm) {
    const id = Number(rm.identifier);
    if (!Number.isInteger(id) || id <= 0) throw invalid(recipe, 'update.release-monitor.identifier', 'must be a positive integer');
    source = { kind: 'release-monitor', identifier: id };
    filters = rm;
  } else if (gh) {
    const id = gh.identifier;
    if (typeof id !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(id)) throw invalid(recipe, 'update.github.identifier', 'must be owner/repo');
    source = { kind: 'github', identifier: id, useTag: gh['use-tag'] === true };
    filters = gh;
  } else if (git) {
    source = { kind: 'git' };
    filters = git;
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
    // `tag-filter` is melange's older spelling of `tag-filter-prefix`.
    tagFilterPrefix: str(recipe, filters, 'tag-filter-prefix') || str(recipe, filters, 'tag-filter'),
    tagFilterContains: str(recipe, filters, 'tag-filter-contains'),
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

/** The `with:` mappings of a recipe's top-level `fetch` steps, whose URIs name the tarball to checksum. */
function fetchSteps(doc: Document): YAMLMap[] {
  const pipeline = doc.get('pipeline');
  if (!isSeq(pipeline)) return [];
  return pipeline.items.flatMap((step) => {
    if (!isMap(step) || step.get('uses') !== 'fetch') return [];
    const w = step.get('with');
    return isMap(w) ? [w as YAMLMap] : [];
  });
}

/** The fetch URIs of a recipe at `version` (`${{package.version}}` substituted), in pipeline order. */
export function fetchUris(text: string, file: string, version: string): string[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: ${doc.errors[0]!.message}`, { detail: { file } });
  return fetchSteps(doc).map((w) => String(w.get('uri') ?? '').replaceAll('${{package.version}}', version));
}

/**
 * The recipe text at a new upstream version: `package.version` set, `package.epoch` reset to 0 and each
 * fetch step's `expected-sha256` replaced by the checksum computed for it (same order as `fetchUris`).
 * Comments and layout of the rest of the file are kept.
 */
export function rewriteMelangeRecipe(text: string, file: string, version: string, sha256s: readonly string[]): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: ${doc.errors[0]!.message}`, { detail: { file } });
  const steps = fetchSteps(doc);
  if (steps.length !== sha256s.length) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: ${steps.length} fetch steps but ${sha256s.length} checksums`, { detail: { file } });
  }
  doc.setIn(['package', 'version'], version);
  doc.setIn(['package', 'epoch'], 0);
  steps.forEach((w, i) => w.set('expected-sha256', sha256s[i]));
  return doc.toString();
}
