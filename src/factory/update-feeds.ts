// Reads upstream version feeds for melange `update:` blocks: release-monitoring.org, GitHub tags/releases
// and `git ls-remote --tags`. Base URLs are options so tests point them at local servers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FactoryError } from './errors.ts';
import type { UpdateSource } from './format/melange-update.ts';

const run = promisify(execFile);

export interface UpdateFeedOptions {
  releaseMonitorUrl?: string;
  githubApiUrl?: string;
  githubToken?: string;
}

async function getJson(url: string, recipe: string, opts: UpdateFeedOptions, headers: Record<string, string> = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal: AbortSignal.timeout(30_000) });
  } catch (cause) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${url}: cannot be fetched`, { cause, detail: { recipe, url } });
  }
  if (!res.ok) throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${url}: HTTP ${res.status}`, { detail: { recipe, url, status: res.status } });
  return res.json();
}

/** Upstream tags (or version strings) for one recipe's update block; `gitUrl` is the repository of a `git` source. */
export async function readUpdateFeed(recipe: string, block: { source: UpdateSource; enablePreReleaseTags?: boolean }, opts: UpdateFeedOptions, gitUrl?: string): Promise<string[]> {
  const { source } = block;
  if (source.kind === 'release-monitor') {
    const base = opts.releaseMonitorUrl ?? 'https://release-monitoring.org';
    const body = (await getJson(`${base}/api/v2/versions/?project_id=${source.identifier}`, recipe, opts)) as { stable_versions?: unknown; versions?: unknown };
    // Unstable versions only when the recipe asks for pre-releases, as melange does.
    const list = block.enablePreReleaseTags === true ? body.versions : body.stable_versions;
    if (!Array.isArray(list)) throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: release-monitor project ${source.identifier}: no versions in the answer`, { detail: { recipe } });
    return list.filter((v): v is string => typeof v === 'string');
  }
  if (source.kind === 'github') {
    const base = opts.githubApiUrl ?? 'https://api.github.com';
    const headers: Record<string, string> = opts.githubToken ? { authorization: `Bearer ${opts.githubToken}` } : {};
    // use-tag reads tags; otherwise releases, skipping drafts and pre-releases as melange does.
    if (source.useTag) {
      const body = await getJson(`${base}/repos/${source.identifier}/tags?per_page=100`, recipe, opts, headers);
      return (body as { name?: unknown }[]).map((t) => t.name).filter((n): n is string => typeof n === 'string');
    }
    const body = await getJson(`${base}/repos/${source.identifier}/releases?per_page=100`, recipe, opts, headers);
    return (body as { tag_name?: unknown; draft?: boolean; prerelease?: boolean }[])
      .filter((r) => !r.draft && (block.enablePreReleaseTags === true || !r.prerelease))
      .map((r) => r.tag_name)
      .filter((n): n is string => typeof n === 'string');
  }
  if (!gitUrl) throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: update.git needs a git-checkout step naming the repository`, { detail: { recipe } });
  let stdout: string;
  try {
    ({ stdout } = await run('git', ['ls-remote', '--tags', '--refs', gitUrl], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }));
  } catch (cause) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${gitUrl}: git ls-remote failed`, { cause, detail: { recipe, url: gitUrl } });
  }
  return stdout.split('\n').flatMap((line) => {
    const ref = line.split('\t')[1];
    return ref?.startsWith('refs/tags/') ? [ref.slice('refs/tags/'.length)] : [];
  });
}

/** The commit a tag of a git repository points at (an annotated tag peeled to its commit). */
export async function tagCommit(recipe: string, repository: string, tag: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run('git', ['ls-remote', repository, `refs/tags/${tag}`, `refs/tags/${tag}^{}`], { maxBuffer: 1024 * 1024, timeout: 120_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }));
  } catch (cause) {
    throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${repository}: git ls-remote failed`, { cause, detail: { recipe, url: repository } });
  }
  const refs = new Map(stdout.split('\n').flatMap((line) => {
    const [sha, ref] = line.split('\t');
    return sha && ref ? [[ref, sha] as const] : [];
  }));
  const commit = refs.get(`refs/tags/${tag}^{}`) ?? refs.get(`refs/tags/${tag}`);
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) throw new FactoryError('FACTORY_UPDATE_FAILED', `${recipe}: ${repository} has no tag ${tag}`, { detail: { recipe, url: repository, tag } });
  return commit;
}
