import { normalizeArchs } from './archs.ts';
import { parseGoInteger } from './parse.ts';
import type { ParsedConfigFile } from './parse.ts';
import type { ImageConfig, PathMutation } from './types.ts';
import { ImageError } from '../errors.ts';

// Pure: raw documents → normalised ImageConfig, include merging (image-config.md §1) and the
// checks apko runs on the merged result.

const trimSlash = (url: string): string => url.replace(/\/+$/, '');
const nonEmpty = (value: string | null | undefined): string | undefined => (value ? value : undefined);

/** Normalises one parsed file: empty/null → absent, Go integers, trimmed URLs, OCI arch names. */
export function normalizeConfigFile(parsed: ParsedConfigFile): ImageConfig {
  const { raw } = parsed;
  const contents = raw.contents ?? {};
  const entrypoint = raw.entrypoint ?? {};
  const accounts = raw.accounts ?? {};
  let archs: string[];
  try {
    archs = normalizeArchs(raw.archs ?? []);
  } catch (error) {
    const index = (raw.archs ?? []).findIndex((name) => {
      try {
        normalizeArchs([name]);
        return false;
      } catch {
        return true;
      }
    });
    const pos = parsed.locate(['archs', index]);
    throw new ImageError('IMAGE_ARCH_UNKNOWN', `${parsed.file}:${pos.line}:${pos.column}: archs[${index}]: ${(error as Error).message}`, {
      detail: { file: parsed.file, ...pos },
    });
  }
  const config: ImageConfig = {
    contents: {
      repositories: (contents.repositories ?? []).map(trimSlash),
      build_repositories: (contents.build_repositories ?? []).map(trimSlash),
      runtime_repositories: (contents.runtime_repositories ?? []).map(trimSlash),
      keyring: [...(contents.keyring ?? [])],
      runtime_keyring: (contents.runtime_keyring ?? []).map((key) => ({ name: key.name, content: key.content })),
      packages: [...(contents.packages ?? [])],
    },
    entrypoint: { services: { ...(entrypoint.services ?? {}) } },
    accounts: {
      users: (accounts.users ?? []).map((user) => {
        const uid = parseGoInteger(user.uid!);
        return {
          username: user.username!,
          uid,
          gid: user.gid === undefined || user.gid === null ? uid : parseGoInteger(user.gid),
          ...(user.shell ? { shell: user.shell } : {}),
          homedir: user.homedir || `/home/${user.username!}`,
        };
      }),
      groups: (accounts.groups ?? []).map((group) => ({
        groupname: group.groupname!,
        gid: group.gid === undefined || group.gid === null ? 0 : parseGoInteger(group.gid),
        members: [...(group.members ?? [])],
      })),
    },
    environment: { ...(raw.environment ?? {}) },
    paths: (raw.paths ?? []).map((mutation) => {
      const out: PathMutation = { path: mutation.path, type: mutation.type, recursive: mutation.recursive ?? false };
      if (mutation.uid !== undefined && mutation.uid !== null) out.uid = parseGoInteger(mutation.uid);
      if (mutation.gid !== undefined && mutation.gid !== null) out.gid = parseGoInteger(mutation.gid);
      if (mutation.permissions !== undefined && mutation.permissions !== null) out.permissions = parseGoInteger(mutation.permissions);
      if (mutation.source) out.source = mutation.source;
      return out;
    }),
    archs,
    annotations: { ...(raw.annotations ?? {}) },
    volumes: [...(raw.volumes ?? [])],
  };
  const baseimage = contents.baseimage;
  if (baseimage && (baseimage.image || baseimage.apkindex)) {
    config.contents.baseimage = { ...(baseimage.image ? { image: baseimage.image } : {}), ...(baseimage.apkindex ? { apkindex: baseimage.apkindex } : {}) };
  }
  const set = <K extends keyof ImageConfig>(key: K, value: ImageConfig[K] | undefined) => {
    if (value !== undefined) config[key] = value;
  };
  if (entrypoint.command) config.entrypoint.command = entrypoint.command;
  if (entrypoint['shell-fragment']) config.entrypoint['shell-fragment'] = entrypoint['shell-fragment'];
  if (entrypoint.type) config.entrypoint.type = entrypoint.type;
  const runAs = accounts['run-as'];
  if (runAs !== undefined && runAs !== null && runAs !== '') config.accounts['run-as'] = String(runAs);
  set('cmd', nonEmpty(raw.cmd));
  set('work-dir', nonEmpty(raw['work-dir']));
  set('stop-signal', nonEmpty(raw['stop-signal']));
  set('vcs-url', nonEmpty(raw['vcs-url']));
  if (raw.format) config.format = raw.format;
  // `layering: {}` means a single layer; a strategy without a budget gets apko's default of 0.
  if (raw.layering && (raw.layering.strategy || raw.layering.budget !== undefined && raw.layering.budget !== null)) {
    config.layering = { strategy: 'origin', budget: raw.layering.budget === undefined || raw.layering.budget === null ? 0 : parseGoInteger(raw.layering.budget) };
  }
  if (raw.certificates && ((raw.certificates.additional ?? []).length > 0 || (raw.certificates.providers ?? []).length > 0)) {
    config.certificates = {
      additional: (raw.certificates.additional ?? []).map((cert) => ({ name: cert.name, content: cert.content })),
      providers: [...(raw.certificates.providers ?? [])],
    };
  }
  return config;
}

/** Merges an included (base) config under the including (target) one; the target wins. */
export function mergeConfigs(base: ImageConfig, target: ImageConfig): ImageConfig {
  const hasEntrypoint = Boolean(target.entrypoint.command || target.entrypoint['shell-fragment'] || target.entrypoint.type || Object.keys(target.entrypoint.services).length);
  const merged: ImageConfig = {
    contents: {
      repositories: [...base.contents.repositories, ...target.contents.repositories],
      build_repositories: [...base.contents.build_repositories, ...target.contents.build_repositories],
      runtime_repositories: [...base.contents.runtime_repositories, ...target.contents.runtime_repositories],
      keyring: [...base.contents.keyring, ...target.contents.keyring],
      runtime_keyring: [...base.contents.runtime_keyring, ...target.contents.runtime_keyring],
      packages: [...base.contents.packages, ...target.contents.packages],
    },
    entrypoint: hasEntrypoint ? target.entrypoint : base.entrypoint,
    accounts: {
      users: [...base.accounts.users, ...target.accounts.users],
      groups: [...base.accounts.groups, ...target.accounts.groups],
    },
    environment: { ...base.environment, ...target.environment },
    paths: [...base.paths, ...target.paths],
    archs: target.archs.length > 0 ? target.archs : base.archs,
    annotations: { ...base.annotations, ...target.annotations },
    volumes: [...base.volumes, ...target.volumes],
  };
  const baseimage = target.contents.baseimage ?? base.contents.baseimage;
  if (baseimage) merged.contents.baseimage = baseimage;
  const runAs = target.accounts['run-as'] ?? base.accounts['run-as'];
  if (runAs !== undefined) merged.accounts['run-as'] = runAs;
  for (const key of ['cmd', 'stop-signal', 'work-dir', 'format', 'vcs-url'] as const) {
    const value = target[key] ?? base[key];
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  const layering = target.layering ?? base.layering;
  if (layering) merged.layering = layering;
  const certificates = target.certificates ?? base.certificates;
  if (certificates) merged.certificates = certificates;
  return merged;
}

/** Checks apko runs on the merged configuration (image_configuration.go). */
export function validateMergedConfig(config: ImageConfig, file: string): void {
  const fail = (message: string) => {
    throw new ImageError('IMAGE_CONFIG_INVALID', `invalid image configuration ${file}: ${message}`, { detail: { file } });
  };
  if (config.format === 'erofs' && config.layering) fail('format erofs cannot be combined with layering');
  if (config.contents.baseimage) {
    const used = [
      config.entrypoint.command || config.entrypoint['shell-fragment'] || config.entrypoint.type ? 'entrypoint' : '',
      config.cmd ? 'cmd' : '',
      config.accounts.users.length || config.accounts.groups.length || config.accounts['run-as'] ? 'accounts' : '',
      Object.keys(config.environment).length ? 'environment' : '',
      config.paths.length ? 'paths' : '',
      Object.keys(config.annotations).length ? 'annotations' : '',
      config['work-dir'] ? 'work-dir' : '',
      config.volumes.length ? 'volumes' : '',
    ].filter(Boolean);
    if (used.length) fail(`with contents.baseimage only contents, archs and include may be set (also set: ${used.join(', ')})`);
  }
}
