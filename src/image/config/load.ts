import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isKilnError, readInputFile } from '../../lib/index.ts';
import { ImageError } from '../errors.ts';
import { mergeConfigs, normalizeConfigFile, validateMergedConfig } from './normalize.ts';
import { parseImageConfigText } from './parse.ts';
import type { ImageConfig } from './types.ts';

/** A loaded configuration: merged and normalised, with apko's checksum over every file read. */
export interface LoadedImageConfig {
  config: ImageConfig;
  /** Path of the main file as given. */
  path: string;
  /** `sha256-<base64>` over the bytes of the main file and every included file, in load order. */
  checksum: string;
  /** Every file read, main first. */
  files: string[];
  /** Directories of those files: where relative paths not found from the working directory are
   *  looked for next (see {@link resolveLocalPath}). */
  configDirs?: string[];
}

/** A relative local path (keyring file, local repository) the way apko finds it, from the working
 *  directory; when nothing is there, the first configuration directory that has it. The config
 *  keeps the text as written (it is what the image records); only reading uses the result. */
export function resolveLocalPath(path: string, cwd: string, configDirs: readonly string[] = []): string {
  const fromCwd = resolve(cwd, path);
  if (isAbsolute(path) || existsSync(fromCwd)) return fromCwd;
  for (const dir of configDirs) {
    const beside = resolve(dir, path);
    if (existsSync(beside)) return beside;
  }
  return fromCwd;
}

/** Options for {@link loadImageConfig}. */
export interface LoadImageConfigOptions {
  /** Directory relative paths resolve against (default: process working directory). */
  cwd?: string;
  /** Extra directories in which `include:` targets are looked for (apko --include-paths). */
  includePaths?: readonly string[];
  /** Files to read for `include:` values exactly as written (`kiln image reproduce` lays recorded
   *  includes out in a scratch directory, whatever path they had on the publishing machine). */
  includeFiles?: ReadonlyMap<string, string>;
}

async function readFirst(candidates: readonly string[]): Promise<{ path: string; bytes: Buffer } | undefined> {
  for (const candidate of candidates) {
    try {
      return { path: candidate, bytes: await readInputFile(candidate, { what: 'image configuration' }) };
    } catch (error) {
      const errno = isKilnError(error) ? error.detail.errno : undefined;
      if (errno !== 'ENOENT' && errno !== 'ENOTDIR') throw error;
    }
  }
  return undefined;
}

/** Reads, validates and include-merges an image configuration file. */
export async function loadImageConfig(path: string, options: LoadImageConfigOptions = {}): Promise<LoadedImageConfig> {
  const cwd = options.cwd ?? process.cwd();
  const hash = createHash('sha256');
  const files: string[] = [];
  const seen = new Set<string>();

  const loadOne = async (file: string, candidates: string[], includedFrom?: string): Promise<ImageConfig> => {
    const found = await readFirst(candidates);
    if (!found) {
      if (!includedFrom) throw new ImageError('IMAGE_CONFIG_INVALID', `${file}: image configuration not found`, { detail: { file } });
      throw new ImageError('IMAGE_CONFIG_INCLUDE', `${includedFrom}: include ${JSON.stringify(file)} not found (looked in ${candidates.join(', ')})`, {
        detail: { file: includedFrom, include: file },
      });
    }
    const real = resolve(found.path);
    if (seen.has(real)) {
      throw new ImageError('IMAGE_CONFIG_INCLUDE', `${includedFrom ?? file}: include cycle through ${found.path}`, { detail: { file: found.path } });
    }
    seen.add(real);
    hash.update(found.bytes);
    files.push(found.path);
    const parsed = parseImageConfigText(found.bytes.toString('utf8'), found.path);
    const config = normalizeConfigFile(parsed);
    const include = parsed.raw.include;
    if (!include) return config;
    const mapped = options.includeFiles?.get(include);
    const includeCandidates = mapped ? [mapped] : isAbsolute(include) ? [include] : [resolve(cwd, include), ...(options.includePaths ?? []).map((dir) => resolve(cwd, dir, include)), resolve(dirname(real), include)];
    const base = await loadOne(include, includeCandidates, found.path);
    return mergeConfigs(base, config);
  };

  const config = await loadOne(path, [resolve(cwd, path)]);
  validateMergedConfig(config, path);
  const configDirs = [...new Set(files.map((file) => dirname(resolve(cwd, file))))];
  return { config, path, checksum: `sha256-${hash.digest('base64')}`, files, configDirs };
}

/** Parses and validates configuration text without includes (tests, stdin). */
export function loadImageConfigText(text: string, file: string): LoadedImageConfig {
  const parsed = parseImageConfigText(text, file);
  if (parsed.raw.include) {
    throw new ImageError('IMAGE_CONFIG_INCLUDE', `${file}: include is not available for configuration text without a file`, { detail: { file } });
  }
  const config = normalizeConfigFile(parsed);
  validateMergedConfig(config, file);
  return { config, path: file, checksum: `sha256-${createHash('sha256').update(text).digest('base64')}`, files: [file] };
}
