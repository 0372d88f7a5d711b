// The repository model: `/etc/apk/repositories` lines and the URL layout of an apk v2 repository
// (apk-tools 2.14): URL/ARCH/APKINDEX.tar.gz and URL/ARCH/NAME-VERSION.apk. Pure.
import { pathToFileURL } from 'node:url';
import { ApkError } from '../errors.ts';

/** One configured repository: its base URL (no trailing slash) and optional pinning tag (no `@`). */
export interface Repository {
  url: string;
  tag?: string;
}

const TAG_PATTERN = /^[A-Za-z0-9._+-]+$/;

/** Normalises a repository location: `https://…`, `http://…`, `file://…` or an absolute local path
 *  (apk accepts plain paths), with trailing slashes removed. */
export function normalizeRepositoryUrl(location: string, where: string): string {
  let url: URL;
  if (location.startsWith('/')) {
    url = pathToFileURL(location);
  } else {
    try {
      url = new URL(location);
    } catch (cause) {
      throw new ApkError('APK_REPO_LIST_INVALID', `${where}: not a URL or absolute path: ${JSON.stringify(location.length > 200 ? `${location.slice(0, 200)}…` : location)}`, { cause, detail: { where, location } });
    }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:' && url.protocol !== 'file:') {
    throw new ApkError('APK_REPO_URL_UNSUPPORTED', `${where}: unsupported repository URL scheme ${url.protocol} in ${location} (use https://, http:// or file://)`, {
      detail: { where, location },
    });
  }
  if (url.search || url.hash) {
    throw new ApkError('APK_REPO_LIST_INVALID', `${where}: repository URL must not have a query or fragment: ${location}`, { detail: { where, location } });
  }
  return url.href.replace(/\/+$/, '');
}

/** Parses one `[@tag ]URL` specification (a repositories-file line or a `--repository` value). */
export function parseRepository(spec: string, where: string): Repository {
  const words = spec.trim().split(/\s+/).filter((word) => word !== '');
  let tag: string | undefined;
  if (words[0]?.startsWith('@')) {
    tag = words.shift()!.slice(1);
    if (!TAG_PATTERN.test(tag)) throw new ApkError('APK_REPO_LIST_INVALID', `${where}: invalid repository tag @${tag}`, { detail: { where, tag } });
  }
  if (words.length !== 1) {
    throw new ApkError('APK_REPO_LIST_INVALID', `${where}: expected "[@tag ]URL", got ${JSON.stringify(spec.trim())}`, { detail: { where, spec } });
  }
  const url = normalizeRepositoryUrl(words[0]!, where);
  return tag === undefined ? { url } : { url, tag };
}

/** Parses an `/etc/apk/repositories` file: one `[@tag ]URL` per line, `#` comment lines, blank lines. */
export function parseRepositories(text: string, source: string): Repository[] {
  const repositories: Repository[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    repositories.push(parseRepository(line, `${source}:${index + 1}`));
  });
  return repositories;
}

/** Renders repositories back to file syntax (for an image's /etc/apk/repositories). */
export function formatRepositories(repositories: readonly Repository[]): string {
  return repositories.map((repository) => `${repository.tag ? `@${repository.tag} ` : ''}${repository.url}\n`).join('');
}

/** Percent-encodes only what is not allowed in a URL path segment; apk names and versions
 *  (`libstdc++-13.2.0-r1`, `1.0_rc1~abc`) stay verbatim, as apk-tools requests them. */
function pathSegment(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/g, (char) =>
    Array.from(Buffer.from(char, 'utf8'), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** `URL/ARCH/APKINDEX.tar.gz`. */
export function indexUrl(repository: Repository, arch: string): string {
  return `${repository.url}/${pathSegment(arch)}/APKINDEX.tar.gz`;
}

/** `URL/ARCH/NAME-VERSION.apk`, ARCH being the directory the package's index was read from. */
export function packageUrl(repository: Repository, arch: string, name: string, version: string): string {
  return `${repository.url}/${pathSegment(arch)}/${pathSegment(`${name}-${version}`)}.apk`;
}

/** A repository as apk prints it: `@tag URL` or `URL`. */
export function describeRepository(repository: Repository): string {
  return repository.tag ? `@${repository.tag} ${repository.url}` : repository.url;
}
