import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { writeFileAtomic } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { parsePublicKey } from '../format/signature.ts';
import { ApkError } from '../errors.ts';
import type { ApkCache } from './cache.ts';
import { isTransient } from './client.ts';
import type { Fetcher } from './fetcher.ts';

/** Keys are small PEM files; anything bigger is not a key. */
const MAX_KEY_BYTES = 64 * 1024;

/** A keyring entry that names a URL rather than a local path. */
export function isKeyUrl(entry: string): boolean {
  return /^(https?|file):\/\//i.test(entry);
}

/** A public key fetched from a URL (as apko's `contents.keyring` lists them). */
export interface RemoteKey {
  url: string;
  /** The key's name: the last path segment, as /etc/apk/keys and `.SIGN.*` names use it. */
  name: string;
  content: Buffer;
  key: KeyObject;
}

function keyName(url: URL): string {
  const name = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  if (!name || name === '.' || name === '..' || name.includes('/')) {
    throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${url.href}: the URL does not end in a key file name`, { detail: { url: url.href } });
  }
  return name;
}

/**
 * Fetches a key from `https://`, `file://` or loopback `http://` (a key is the root of trust for
 * every index it verifies, so it never comes over plain HTTP from another host). A fetched key is
 * checked to be an RSA public key before it is cached; when the download fails for a transient
 * reason (network, timeout, 5xx), a cached copy from an earlier run is used with a warning.
 */
export async function fetchRemoteKey(input: { url: string; fetcher: Fetcher; cache: ApkCache; logger: Logger }): Promise<RemoteKey> {
  const { fetcher, cache, logger } = input;
  let url: URL;
  try {
    url = new URL(input.url);
  } catch (cause) {
    throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${input.url}: not a valid URL`, { cause, detail: { url: input.url } });
  }
  refusePlainHttp(url, url.href);
  const name = keyName(url);
  const cached = join(cache.root, 'keys', `${createHash('sha256').update(url.href).digest('hex')}.pem`);
  let content: Buffer;
  try {
    content = await download(fetcher, url.href);
  } catch (error) {
    const copy = isTransient(error) ? await readFile(cached).catch(() => undefined) : undefined;
    if (!copy) throw error;
    logger.warn({ url: url.href, reason: (error as Error).message }, 'key download failed; using the cached copy');
    return { url: url.href, name, content: copy, key: parsePublicKey(copy, url.href) };
  }
  let key: KeyObject;
  try {
    key = parsePublicKey(content, url.href);
  } catch (cause) {
    throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${url.href}: ${(cause as Error).message}`, { cause, detail: { url: url.href } });
  }
  await writeFileAtomic(cached, content);
  return { url: url.href, name, content, key };
}

/** A key is the root of trust for every index it verifies: never plain http from another host. */
function refusePlainHttp(url: URL, asked: string): void {
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    const via = url.href === asked ? '' : ` (redirected to ${url.href})`;
    throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${asked}${via}: keys are fetched over https (or from file://), never plain http from another host`, { detail: { url: asked, finalUrl: url.href } });
  }
}

async function download(fetcher: Fetcher, url: string): Promise<Buffer> {
  const result = await fetcher.fetch(url);
  if (result.kind !== 'body') throw new ApkError('APK_REPO_NETWORK', `GET ${url}: server answered 304 to an unconditional request`, { detail: { url } });
  // The transport follows redirects: the rule holds for where the bytes really came from.
  try {
    refusePlainHttp(new URL(result.finalUrl), url);
  } catch (error) {
    result.body.destroy();
    throw error;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of result.body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_KEY_BYTES) {
      result.body.destroy();
      throw new ApkError('APK_REPO_KEY_INVALID', `keyring ${url}: more than ${MAX_KEY_BYTES} bytes, not a public key`, { detail: { url } });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
