import { ApkError } from '../errors.ts';
import type { FetchOptions, FetchResult, Fetcher } from './fetcher.ts';
import { FileTransport } from './file-transport.ts';
import { HttpTransport } from './http-transport.ts';
import type { HttpTransportOptions } from './http-transport.ts';

/** The default fetcher: dispatches `http:`/`https:` to HttpTransport and `file:` to FileTransport. */
export class SchemeFetcher implements Fetcher {
  readonly #http: HttpTransport;
  readonly #file = new FileTransport();

  constructor(options: HttpTransportOptions = {}) {
    this.#http = new HttpTransport(options);
  }

  fetch(url: string, options?: FetchOptions): Promise<FetchResult> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    if (scheme === 'http' || scheme === 'https') return this.#http.fetch(url, options);
    if (scheme === 'file') return this.#file.fetch(url, options);
    return Promise.reject(
      new ApkError('APK_REPO_URL_UNSUPPORTED', `${url}: unsupported URL scheme (use https://, http:// or file://)`, { detail: { url } }),
    );
  }

  /** Releases pooled connections. */
  close(): void {
    this.#http.close();
  }
}
