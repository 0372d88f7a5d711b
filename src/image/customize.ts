import { stringify } from 'yaml';
import { ImageError } from './errors.ts';
import { splitShellWords } from './format/shell-words.ts';
import type { ImageConfig } from './config/types.ts';

// Pure: `kiln image customize` — a derived image configuration from a base (merged, includes
// applied) and a list of changes. Unlike apko's `include:`, which can only add, a derived config is
// the whole configuration written out, so packages can be removed down to the shell. It records its
// base in two annotations (which the image carries too) and in a header comment.

/** Annotation naming the base configuration a derived one was made from. */
export const BASE_ANNOTATION = 'dev.kiln.image.base';
/** Annotation with the base's checksum (apko's `sha256-<base64>` over its files). */
export const BASE_CHECKSUM_ANNOTATION = 'dev.kiln.image.base.checksum';

/** What to change in the base. */
export interface CustomizeChanges {
  add?: readonly string[];
  /** Package names to remove; each becomes a `!name` world entry so nothing pulls it back in. */
  remove?: readonly string[];
  /** `run-as`: a user name from accounts.users or a numeric uid. */
  user?: string;
  /** `K=V` environment entries (an empty V sets an empty value). */
  env?: readonly string[];
  /** Entrypoint command line (empty string: no entrypoint). */
  entrypoint?: string;
  /** `cmd` (arguments to the entrypoint). */
  cmd?: string;
  workDir?: string;
  /** Extra repositories and keyring entries, as written. */
  repositories?: readonly string[];
  keyring?: readonly string[];
}

/** The base as named on the command line and its checksum. */
export interface CustomizeBase {
  name: string;
  checksum: string;
}

/** A derived configuration and what the caller should know about it. */
export interface CustomizeResult {
  config: ImageConfig;
  /** Things that still look wrong, e.g. an entrypoint naming the shell that was removed. */
  warnings: string[];
}

function invalid(message: string, detail: Record<string, unknown>): ImageError {
  return new ImageError('IMAGE_CUSTOMIZE_INVALID', message, { detail });
}

/** The package name of a world entry (`busybox`, `busybox=1.36-r0`, `busybox>1`, `busybox@edge`). */
function packageName(spec: string): string {
  return spec.replace(/^!/, '').split(/[<>=~@]/)[0]!.trim();
}

const SHELLS = new Set(['/bin/sh', '/bin/ash', '/bin/bash', '/usr/bin/sh', '/usr/bin/bash', 'sh', 'bash', 'ash']);

/** Applies the changes to the base configuration (which is not modified). */
export function customizeConfig(base: ImageConfig, changes: CustomizeChanges, from: CustomizeBase): CustomizeResult {
  const config = structuredClone(base) as ImageConfig;
  const warnings: string[] = [];
  let packages = [...config.contents.packages];
  for (const name of changes.remove ?? []) {
    if (!/^[A-Za-z0-9][A-Za-z0-9+._-]*$/.test(name)) throw invalid(`--remove ${JSON.stringify(name)}: give a package name`, { package: name });
    const kept = packages.filter((spec) => spec.startsWith('!') || packageName(spec) !== name);
    if (kept.length === packages.length) throw invalid(`--remove ${name}: ${from.name} does not list ${name} in contents.packages (it lists ${packages.join(', ') || 'nothing'})`, { package: name, base: from.name });
    packages = [...kept, `!${name}`];
  }
  for (const spec of changes.add ?? []) {
    const name = packageName(spec);
    if (!name || spec.startsWith('!')) throw invalid(`--add ${JSON.stringify(spec)}: give a package, optionally with a version constraint`, { package: spec });
    packages = packages.filter((entry) => entry !== `!${name}` && (entry.startsWith('!') || packageName(entry) !== name));
    packages.push(spec);
  }
  config.contents.packages = packages;
  config.contents.repositories = [...new Set([...config.contents.repositories, ...(changes.repositories ?? [])])];
  config.contents.keyring = [...new Set([...config.contents.keyring, ...(changes.keyring ?? [])])];
  if (changes.user !== undefined) {
    const known = config.accounts.users.some((user) => user.username === changes.user || String(user.uid) === changes.user);
    if (!known && !/^\d+$/.test(changes.user)) throw invalid(`--user ${changes.user}: not a user in accounts.users of ${from.name} (${config.accounts.users.map((user) => user.username).join(', ') || 'none'}) and not a numeric uid`, { user: changes.user });
    config.accounts['run-as'] = changes.user;
  }
  for (const entry of changes.env ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw invalid(`--env ${JSON.stringify(entry)}: expected KEY=VALUE`, { env: entry });
    config.environment = { ...config.environment, [entry.slice(0, eq)]: entry.slice(eq + 1) };
  }
  if (changes.entrypoint !== undefined) config.entrypoint = { ...config.entrypoint, command: changes.entrypoint };
  if (changes.cmd !== undefined) config.cmd = changes.cmd;
  if (changes.workDir !== undefined) config['work-dir'] = changes.workDir;
  const removed = new Set(changes.remove ?? []);
  if (removed.has('busybox') || removed.has('bash') || removed.has('dash')) {
    const command = config.entrypoint.command ? splitShellWords(config.entrypoint.command)[0] : undefined;
    if (command && SHELLS.has(command)) warnings.push(`the entrypoint ${JSON.stringify(config.entrypoint.command)} runs a shell that was removed: set --entrypoint`);
  }
  config.annotations = { ...config.annotations, [BASE_ANNOTATION]: from.name, [BASE_CHECKSUM_ANNOTATION]: from.checksum };
  return { config, warnings };
}

/** Drops empty lists and objects so the written configuration shows only what is set. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const compacted = compact(item);
      if (Array.isArray(compacted) && compacted.length === 0) continue;
      if (compacted && typeof compacted === 'object' && !Array.isArray(compacted) && Object.keys(compacted).length === 0) continue;
      if (compacted === undefined) continue;
      out[key] = compacted;
    }
    return out;
  }
  return value;
}

/** The derived configuration as apko YAML, with a header naming its base and the changes. */
export function formatDerivedConfig(config: ImageConfig, from: CustomizeBase, changes: CustomizeChanges): string {
  const summary = [
    ...(changes.add ?? []).map((pkg) => `+${pkg}`),
    ...(changes.remove ?? []).map((pkg) => `-${pkg}`),
    ...(changes.user !== undefined ? [`run-as ${changes.user}`] : []),
    ...(changes.env ?? []).map((entry) => `env ${entry.slice(0, entry.indexOf('='))}`),
    ...(changes.entrypoint !== undefined ? ['entrypoint'] : []),
    ...(changes.cmd !== undefined ? ['cmd'] : []),
    ...(changes.workDir !== undefined ? ['work-dir'] : []),
  ];
  const header = [
    `# Derived by kiln image customize from ${from.name} (${from.checksum}).`,
    `# Changes: ${summary.join(', ') || 'none'}. The base is also recorded in annotations ${BASE_ANNOTATION} and ${BASE_CHECKSUM_ANNOTATION}.`,
    '',
  ].join('\n');
  return `${header}${stringify(compact(config), { lineWidth: 0 })}`;
}
