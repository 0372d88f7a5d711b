import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApkError } from '../errors.ts';
import type { FetchOptions, FetchResult, Fetcher } from './fetcher.ts';

/** Fetcher adapter for `file://` URLs. The file's mtime plays the role of Last-Modified, so a
 *  cached index is reused until the file changes. */
export class FileTransport implements Fetcher {
  async fetch(url: string, options: FetchOptions = {}): Promise<FetchResult> {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (cause) {
      throw new ApkError('APK_REPO_URL_UNSUPPORTED', `${url}: not a valid local file URL`, { cause, detail: { url } });
    }
    let info;
    try {
      info = await stat(path);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new ApkError('APK_REPO_NOT_FOUND', `${url}: no such file`, { cause, detail: { url, path } });
      }
      throw new ApkError('APK_REPO_NETWORK', `${url}: ${(cause as Error).message}`, { cause, detail: { url, path } });
    }
    if (!info.isFile()) throw new ApkError('APK_REPO_NOT_FOUND', `${url}: not a regular file`, { detail: { url, path } });
    const lastModified = new Date(info.mtimeMs).toUTCString();
    const stamp = `"${info.size}-${Math.trunc(info.mtimeMs * 1000)}-${info.ino}"`;
    if (options.validators?.etag === stamp) return { kind: 'not-modified', url };
    const body = createReadStream(path, { signal: options.signal });
    body.on('error', () => undefined); // recorded on body.errored and reported to the reader

    return { kind: 'body', url, finalUrl: url, body, contentLength: info.size, validators: { etag: stamp, lastModified } };
  }
}
