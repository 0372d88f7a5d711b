import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { MultiBar } from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { hostArchName } from '../../apk/index.ts';
import { defaultCacheDir, isKeyUrl, openRepositoryClient } from '../../apk/repository/index.ts';
import type { RepositoryClientHandle } from '../../apk/repository/index.ts';
import { KilnError } from '../../lib/index.ts';
import { ImageError, loadImageConfig, parseBuildDate, parseSourceDateEpoch, resolveLocalPath } from '../../image/index.ts';
import type { BuildImageOptions, LoadedImageConfig } from '../../image/index.ts';
import type { CliContext } from '../context.ts';

/** Flags shared by the image commands (apko's names). */
export interface ImageFlags {
  arch?: string[];
  keyringAppend?: string[];
  repositoryAppend?: string[];
  packageAppend?: string[];
  buildDate?: string;
  annotations?: string[];
  cacheDir?: string;
  includePaths?: string[];
  ignoreSignatures?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the resolution flags apko's build, lock and ls-files share. */
export function addImageOptions(command: Command): Command {
  return command
    .option('--arch <ARCH>', 'architecture(s) to build (OCI or apk name; repeat or comma-separate; `host`, `all`)', collect)
    .option('-k, --keyring-append <FILE>', 'extra public key (file or https:// URL) for verifying repository indexes', collect)
    .option('-r, --repository-append <REPO>', 'extra repository (used to build and written into the image)', collect)
    .option('-p, --package-append <PKG>', 'extra package to install', collect)
    .option('--include-paths <DIR>', 'directory to look for `include:` files in', collect)
    .option('--cache-dir <DIR>', 'package cache directory (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)')
    .option('--ignore-signatures', 'accept repository indexes without a trusted signature');
}

/** Reads the configuration named on the command line. */
export async function loadConfigFromFlags(context: CliContext, path: string, flags: ImageFlags): Promise<LoadedImageConfig> {
  return loadImageConfig(path, { cwd: context.cwd, includePaths: (flags.includePaths ?? []).map((dir) => resolve(context.cwd, dir)) });
}

/** Opens the repository client with the config keyring plus -k keys. */
export async function openImageRepositories(context: CliContext, loaded: LoadedImageConfig, flags: ImageFlags): Promise<RepositoryClientHandle> {
  const keyringPaths = [
    ...loaded.config.contents.keyring.map((key) => (isKeyUrl(key) ? key : resolveLocalPath(key, context.cwd, loaded.configDirs))),
    ...(flags.keyringAppend ?? []).map((key) => (isKeyUrl(key) ? key : resolve(context.cwd, key))),
  ];
  if (keyringPaths.length === 0 && !flags.ignoreSignatures) {
    throw new ImageError('IMAGE_KEY_INVALID', `${loaded.path}: no keys to verify repository indexes: list them in contents.keyring, add -k/--keyring-append, or pass --ignore-signatures`, {
      detail: { file: loaded.path },
    });
  }
  return openRepositoryClient({
    cacheDir: flags.cacheDir ? resolve(context.cwd, flags.cacheDir) : defaultCacheDir(context.env, context.env.HOME ?? homedir()),
    keyringPaths,
    ...(flags.ignoreSignatures ? { allowUntrusted: true } : {}),
  });
}

/** `--annotations key:value` parsed (apko's rules: key `^[a-z0-9-.]+$`, value non-empty, no duplicates). */
export function parseAnnotations(values: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    const key = value.slice(0, colon);
    const text = value.slice(colon + 1);
    if (colon <= 0 || !/^[a-z0-9-.]+$/.test(key) || !text) {
      throw new ImageError('IMAGE_ANNOTATION_INVALID', `--annotations ${JSON.stringify(value)}: expected key:value with a key of [a-z0-9-.]`, { detail: { value } });
    }
    if (key in out) throw new ImageError('IMAGE_ANNOTATION_INVALID', `--annotations: ${key} given twice`, { detail: { key } });
    out[key] = text;
  }
  return out;
}

/** Build options common to build, lock and ls-files. */
export function buildOptionsFromFlags(context: CliContext, flags: ImageFlags): Omit<BuildImageOptions, 'loaded' | 'repository' | 'tag'> {
  const sourceDateEpoch = parseSourceDateEpoch(context.env.SOURCE_DATE_EPOCH);
  return {
    cwd: context.cwd,
    ...(flags.arch ? { archs: flags.arch } : {}),
    ...(flags.repositoryAppend ? { repositoryAppend: flags.repositoryAppend } : {}),
    ...(flags.keyringAppend ? { keyringAppend: flags.keyringAppend } : {}),
    ...(flags.packageAppend ? { packageAppend: flags.packageAppend } : {}),
    annotations: parseAnnotations(flags.annotations),
    ...(flags.buildDate ? { buildDate: parseBuildDate(flags.buildDate) } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
    hostArch: hostArchName(process.arch),
  };
}

/** Progress bars of an image command on stderr: one line per phase (resolve, fetch, install per
 *  arch, push), redrawn in place. */
interface ImageProgress {
  /** The `onProgress` of the image build service (and, with phase `push`, of publishing). */
  update: (phase: string, done: number, total: number, item: string) => void;
  /** Draws the final state and releases the terminal; call it in `finally`, then print. */
  stop: () => void;
}

/** Starts progress bars (cli-progress) on stderr when it is a terminal; undefined otherwise, so
 *  piped and `--json` runs print nothing but their output. */
export function startImageProgress(context: CliContext): ImageProgress | undefined {
  if (!context.isTTY) return undefined;
  // cli-progress writes to a stream; this one forwards to the context's stderr (tests capture it).
  const columns = Number(context.env.COLUMNS);
  const stream = { isTTY: true, columns: Number.isInteger(columns) && columns > 0 ? columns : 80, write: (text: string) => (context.stderr(text), true) };
  const bars = new MultiBar({
    stream: stream as unknown as NodeJS.WritableStream,
    format: '{phase} [{bar}] {value}/{total} {item}',
    barsize: 24,
    hideCursor: true,
    autopadding: true,
    fps: 10,
  });
  const byPhase = new Map<string, SingleBar>();
  const width = 16;
  return {
    update: (phase, done, total, item) => {
      const payload = { phase: phase.padEnd(width), item };
      const bar = byPhase.get(phase);
      if (bar) {
        bar.setTotal(total);
        bar.update(done, payload);
      } else {
        byPhase.set(phase, bars.create(total, done, payload));
      }
    },
    stop: () => bars.stop(),
  };
}

/** Usage error helper. */
export function usage(message: string): KilnError {
  return new KilnError('USAGE', message);
}
