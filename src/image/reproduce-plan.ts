import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import type { Digest } from '../lib/index.ts';
import { parseImageConfigText } from './config/parse.ts';
import { ImageError } from './errors.ts';
import { parseLockFile } from './lock.ts';
import type { LockFile } from './lock.ts';
import { KILN_IMAGE_BUILD_TYPE } from './publish-attest.ts';
import type { ReproducibleBuildFlags } from './publish-attest.ts';

// Pure: what `kiln image reproduce` rebuilds from, read out of a (verified) SLSA v1 provenance
// predicate that `kiln image publish` wrote, with every record checked against the others: each
// config file against its digest, the main file against the config digest, the files together
// against the lock's config checksum.

/** The inputs of a rebuild. */
export interface ReproducePlan {
  /** The configuration's path as it was given to publish. */
  configPath: string;
  /** Files to write into the rebuild's directory, main first: relative names and exact bytes;
   *  `include` is the `include:` value that names the file, when it cannot be the file's name there
   *  (absolute, or leaving the directory): the loader is told to read `name` for it. */
  configFiles: Array<{ name: string; bytes: Buffer; include?: string }>;
  lock: LockFile;
  build: ReproducibleBuildFlags;
  /** SOURCE_DATE_EPOCH in seconds, when the publish had one. */
  sourceDateEpoch?: number;
  /** First tag published (SBOM purls). */
  tag: string;
  /** Index digest the provenance says was built. */
  index?: Digest;
  /** Key contents by the file or URL the config lists. */
  keys: Map<string, Uint8Array>;
}

function incomplete(where: string, why: string): ImageError {
  return new ImageError('IMAGE_PROVENANCE_INCOMPLETE', `${where}: ${why}`, { detail: { provenance: where } });
}

function object(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stringList(value: unknown, where: string, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw incomplete(where, `build.${field} is not a list of strings`);
  return value as string[];
}

/** True when an include can be written under its own name inside the rebuild directory. */
function isLaidOutAsIs(name: string): boolean {
  return name !== '' && !isAbsolute(name) && !name.split(/[\\/]/).some((part) => part === '..' || part === '.kiln-reproduce');
}

/** Checks a relative name to write inside the rebuild directory. */
function safeName(name: string, where: string, what: string): string {
  if (isAbsolute(name) || name.split(/[\\/]/).some((part) => part === '..') || name === '') throw incomplete(where, `${what} ${JSON.stringify(name)} is not a relative path inside the configuration's directory, so it cannot be laid out for a rebuild`);
  return name;
}

/** Reads the rebuild inputs out of a provenance predicate (`where` names it in messages).
 *  IMAGE_PROVENANCE_INCOMPLETE when it was not written by `kiln image publish` with the inputs
 *  recorded, or when its records disagree. */
export function planReproduce(predicate: unknown, where: string): ReproducePlan {
  const definition = object(object(predicate)?.buildDefinition);
  if (!definition) throw incomplete(where, 'not a SLSA v1 provenance (no buildDefinition)');
  if (definition.buildType !== KILN_IMAGE_BUILD_TYPE) throw incomplete(where, `build type ${JSON.stringify(definition.buildType)} is not ${KILN_IMAGE_BUILD_TYPE}: only images published by kiln image publish can be rebuilt`);
  const external = object(definition.externalParameters) ?? {};
  const internal = object(definition.internalParameters) ?? {};
  const config = object(external.config);
  const files = config?.files;
  const build = object(external.build);
  if (!config || typeof config.path !== 'string' || !Array.isArray(files) || files.length === 0 || !build || internal.lock === undefined) {
    throw incomplete(where, 'does not record the configuration content, build flags and lock (published by an older kiln): publish the image again to make it reproducible');
  }
  const configFiles: ReproducePlan['configFiles'] = [];
  let next: string | undefined = config.path.slice(config.path.replace(/\\/g, '/').lastIndexOf('/') + 1);
  const hash = createHash('sha256');
  for (const [index, entry] of files.entries()) {
    const file = object(entry);
    const sha256 = object(file?.digest)?.sha256;
    if (typeof file?.content !== 'string' || typeof sha256 !== 'string') throw incomplete(where, `config.files[${index}] has no content or digest`);
    const bytes = Buffer.from(file.content, 'base64');
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw incomplete(where, `config.files[${index}] (${String(file.path)}) content has sha256 ${actual}, but its digest says ${sha256}`);
    if (next === undefined) throw incomplete(where, `config.files[${index}] (${String(file.path)}) is not included by the file before it`);
    if (index === 0) configFiles.push({ name: safeName(next, where, 'configuration'), bytes });
    else if (isLaidOutAsIs(next)) configFiles.push({ name: next, bytes });
    else configFiles.push({ name: `.kiln-reproduce/include-${index}.yaml`, bytes, include: next });
    hash.update(bytes);
    next = parseImageConfigText(bytes.toString('utf8'), `${where}: ${String(file.path)}`).raw.include ?? undefined;
  }
  if (next !== undefined) throw incomplete(where, `the last configuration file includes ${JSON.stringify(next)}, which the provenance does not record`);
  const mainDigest = object(config.digest)?.sha256;
  const mainActual = createHash('sha256').update(configFiles[0]!.bytes).digest('hex');
  if (mainDigest !== mainActual) throw incomplete(where, `the recorded configuration content has sha256 ${mainActual}, but config.digest says ${String(mainDigest)}`);
  const lock = parseLockFile(JSON.stringify(internal.lock), `${where}: lock`);
  const checksum = `sha256-${hash.digest('base64')}`;
  if (lock.config && lock.config.checksum !== checksum) throw incomplete(where, `the lock was made from configuration checksum ${lock.config.checksum}, but the recorded files have ${checksum}`);
  const archs = stringList(build.archs, where, 'archs');
  if (!archs?.length) throw incomplete(where, 'build.archs is missing');
  const annotations = object(build.annotations);
  if (annotations && !Object.values(annotations).every((value) => typeof value === 'string')) throw incomplete(where, 'build.annotations has a value that is not a string');
  const flags: ReproducibleBuildFlags = {
    archs,
    ...(annotations ? { annotations: annotations as Record<string, string> } : {}),
    ...(typeof build.buildDate === 'string' ? { buildDate: build.buildDate } : {}),
  };
  for (const field of ['repositoryAppend', 'keyringAppend', 'packageAppend'] as const) {
    const list = stringList(build[field], where, field);
    if (list) flags[field] = list;
  }
  let sourceDateEpoch: number | undefined;
  if (external.sourceDateEpoch !== undefined) {
    if (typeof external.sourceDateEpoch !== 'string' || !/^\d+$/.test(external.sourceDateEpoch)) throw incomplete(where, `sourceDateEpoch ${JSON.stringify(external.sourceDateEpoch)} is not a whole number of seconds`);
    sourceDateEpoch = Number(external.sourceDateEpoch);
  }
  const tags = stringList(external.tags, where, 'tags') ?? [];
  const keys = new Map<string, Uint8Array>();
  for (const key of lock.contents.keyring) {
    if (key.content === undefined) throw incomplete(where, `the lock's key ${key.url} has no content`);
    keys.set(key.url, Buffer.from(key.content, 'utf8'));
  }
  return {
    configPath: config.path,
    configFiles,
    lock,
    build: flags,
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    tag: tags[0] ?? 'localhost/reproduce:latest',
    ...(typeof internal.index === 'string' ? { index: internal.index as Digest } : {}),
    keys,
  };
}
