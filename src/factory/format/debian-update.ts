// Pure: Debian update detection for recipes that use the `debian/source` pipeline. Reads Sources
// indexes, picks the versions newer than a recipe's, and rewrites the recipe's text (version, epoch,
// pinned checksums) keeping its comments and layout.
import { gunzipSync } from 'node:zlib';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document, YAMLMap } from 'yaml';
import { isValidVersion } from '../../apk/index.ts';
import { compareDebianVersions, field, parseControl, sourceFileRole, sourceFiles } from '../../debian/index.ts';
import type { SourceFile } from '../../debian/index.ts';
import { parseYamlBounded } from '../../lib/index.ts';
import { FactoryError } from '../errors.ts';

/** One source package version listed by a Sources index. */
export interface SourcesEntry {
  package: string;
  version: string;
  /** Pool directory relative to the archive root (`pool/main/z/zlib`). */
  directory: string;
  files: SourceFile[];
  /** Where the index came from (`URL suite`), for reports. */
  origin: string;
  /** Archive root the pool directory is relative to (`file:///srv/debian`, `http://deb.debian.org/debian`). */
  archive: string;
}

/** A recipe's Debian source, as written in its `debian/source` step. */
export interface RecipeDebianSource {
  /** Source package name. */
  package: string;
  /** Full Debian version the recipe pins. */
  version: string;
  /** The `vars` key holding the version when the step reads it from there (`debian-version`). */
  versionVar?: string;
  apkVersion: string;
  epoch: number;
}

/** A verified newer version a recipe moves to. */
export interface RecipeUpdate {
  recipe: string;
  file: string;
  package: string;
  from: string;
  to: string;
  fromApk: string;
  toApk: string;
  /** New `package.epoch`: 0 for a new upstream version, one more for a new Debian revision of the same one. */
  epoch: number;
  pins: { dscSha256: string; origSha256?: string; debianSha256?: string };
  /** CVE ids named by the changelog entries between the two versions. */
  cves: string[];
  /** Changelog lines of the new entries (the why), newest first. */
  changes: string[];
}

/** Parses a Sources index (deb822 paragraphs); paragraphs without Package, Version or checksums are skipped. */
export function parseSourcesIndex(text: string, source: { archive: string; suite: string }): SourcesEntry[] {
  const origin = `${source.archive} ${source.suite}`;
  const entries: SourcesEntry[] = [];
  for (const paragraph of parseControl(text)) {
    const name = field(paragraph, 'Package');
    const version = field(paragraph, 'Version');
    const files = sourceFiles(paragraph);
    if (!name || !version || files.length === 0) continue;
    entries.push({ package: name, version, directory: field(paragraph, 'Directory') ?? '', files, origin, archive: source.archive });
  }
  return entries;
}

/** The text of a Sources index as served: plain or gzip-compressed. */
export function decodeSourcesIndex(bytes: Uint8Array): string {
  const isGzip = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return Buffer.from(isGzip ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** The apk version of a Debian version: the upstream part without epoch, Debian revision, repack
 *  suffixes (`.dfsg`, `+dfsg1`, `+ds`) or stable-update suffixes (`+deb12u1`, `~deb12u2`); undefined
 *  when what remains is not a valid apk version. */
export function apkVersionOf(debianVersion: string): string | undefined {
  let upstream = debianVersion.replace(/^\d+:/, '');
  const dash = upstream.lastIndexOf('-');
  if (dash > 0) upstream = upstream.slice(0, dash);
  upstream = upstream.replace(/([~+]deb\d+u\d+)$/, '').replace(/([.+~](dfsg|ds)\d*)$/, '');
  return isValidVersion(upstream) ? upstream : undefined;
}

/** Source versions newer than the recipe's, newest first (each version once, first index wins). */
export function newerVersions(source: RecipeDebianSource, entries: readonly SourcesEntry[]): SourcesEntry[] {
  const seen = new Map<string, SourcesEntry>();
  for (const entry of entries) {
    if (entry.package !== source.package || seen.has(entry.version)) continue;
    if (compareDebianVersions(entry.version, source.version) > 0) seen.set(entry.version, entry);
  }
  return [...seen.values()].sort((a, b) => compareDebianVersions(b.version, a.version));
}

/** The pins a recipe needs for an entry: the .dsc, the upstream (or native) tarball and the Debian tarball. */
export function pinsOf(entry: SourcesEntry): RecipeUpdate['pins'] | undefined {
  const dsc = entry.files.find((file) => sourceFileRole(file.name) === 'dsc');
  if (!dsc) return undefined;
  const orig = entry.files.find((file) => ['orig', 'native'].includes(sourceFileRole(file.name)));
  const debian = entry.files.find((file) => ['debian', 'diff'].includes(sourceFileRole(file.name)));
  return { dscSha256: dsc.sha256, ...(orig ? { origSha256: orig.sha256 } : {}), ...(debian ? { debianSha256: debian.sha256 } : {}) };
}

function parseRecipeDoc(text: string, file: string): Document {
  const { doc } = parseYamlBounded(text, file);
  if (doc.errors.length > 0) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, { detail: { file } });
  return doc;
}

function debianStep(doc: Document): YAMLMap | undefined {
  const pipeline = doc.get('pipeline');
  if (!isSeq(pipeline)) return undefined;
  for (const step of pipeline.items) {
    if (isMap(step) && step.get('uses') === 'debian/source') {
      const withMap = step.get('with');
      return isMap(withMap) ? withMap : undefined;
    }
  }
  return undefined;
}

const VAR_REFERENCE = /^\$\{\{\s*vars\.([A-Za-z0-9_-]+)\s*\}\}$/;

function resolveVar(doc: Document, value: unknown): { value: string; variable?: string } | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value);
  const match = VAR_REFERENCE.exec(text);
  if (!match) return { value: text };
  const resolved = doc.getIn(['vars', match[1]!]);
  return typeof resolved === 'string' || typeof resolved === 'number' ? { value: String(resolved), variable: match[1]! } : undefined;
}

/** The Debian source a recipe pins, or undefined when it has no `debian/source` step (or one whose
 *  package and version are not literal or plain `${{vars.X}}` references). */
export function recipeDebianSource(text: string, file: string): RecipeDebianSource | undefined {
  const doc = parseRecipeDoc(text, file);
  const step = debianStep(doc);
  if (!step) return undefined;
  const name = resolveVar(doc, step.get('package'));
  const version = resolveVar(doc, step.get('version'));
  if (!name || !version) return undefined;
  const epoch = Number(doc.getIn(['package', 'epoch']) ?? 0);
  return {
    package: name.value,
    version: version.value,
    ...(version.variable ? { versionVar: version.variable } : {}),
    apkVersion: String(doc.getIn(['package', 'version']) ?? ''),
    epoch: Number.isInteger(epoch) ? epoch : 0,
  };
}

/** The recipe text moved to `update`: the Debian version (in `vars` when the step reads it from
 *  there), the pinned checksums, `package.version` and `package.epoch`. Comments and layout stay. */
export function rewriteRecipe(text: string, file: string, update: Pick<RecipeUpdate, 'to' | 'toApk' | 'epoch' | 'pins'>): string {
  const doc = parseRecipeDoc(text, file);
  const step = debianStep(doc);
  if (!step) throw new FactoryError('FACTORY_UPDATE_FAILED', `${file}: no debian/source step to update`, { detail: { file } });
  const version = resolveVar(doc, step.get('version'));
  if (version?.variable) doc.setIn(['vars', version.variable], update.to);
  else step.set('version', update.to);
  const setPin = (key: string, value: string | undefined) => {
    if (value) step.set(key, value);
    else if (step.has(key)) step.delete(key);
  };
  setPin('dsc-sha256', update.pins.dscSha256);
  setPin('orig-sha256', update.pins.origSha256);
  setPin('debian-sha256', update.pins.debianSha256);
  const pkgVersion = doc.getIn(['package', 'version'], true);
  // Keep a quoted version quoted ("20230311" must stay a string).
  if (isScalar(pkgVersion)) pkgVersion.value = update.toApk;
  else doc.setIn(['package', 'version'], update.toApk);
  doc.setIn(['package', 'epoch'], update.epoch);
  return doc.toString({ lineWidth: 0 });
}

/** The new epoch: a new upstream version starts again at 0; a new Debian revision of the same
 *  upstream version is one more build of it. */
export function nextEpoch(source: RecipeDebianSource, toApk: string): number {
  return toApk === source.apkVersion ? source.epoch + 1 : 0;
}
