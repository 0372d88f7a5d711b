import { ApkError } from '../errors.ts';
import type { FetchOptions, FetchResult, Fetcher } from './fetcher.ts';
import { FileTransport } from './file-transport.ts';
import type { HttpTransport, HttpTransportOptions } from './http-transport.ts';

/** An HTTP transport, loaded on demand (Node's http, https and tls modules come with it). */
export async function createHttpTransport(options: HttpTransportOptions = {}): Promise<HttpTransport> {
  const { HttpTransport: Transport } = await import('./http-transport.ts');
  return new Transport(options);
}

/** The default fetcher: dispatches `http:`/`https:` to HttpTransport and `file:` to FileTransport.
 *  The HTTP transport (and with it Node's http, https and tls modules) loads on the first http(s)
 *  URL, so commands on local repositories do not pay for it at start-up. */
export class SchemeFetcher implements Fetcher {
  readonly #options: HttpTransportOptions;
  #http: Promise<HttpTransport> | undefined;
  readonly #file = new FileTransport();

  constructor(options: HttpTransportOptions = {}) {
    this.#options = options;
  }

  #httpTransport(): Promise<HttpTransport> {
    this.#http ??= createHttpTransport(this.#options);
    return this.#http;
  }

  fetch(url: string, options?: FetchOptions): Promise<FetchResult> {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    if (scheme === 'http' || scheme === 'https') {
      return this.#httpTransport().then((transport) => transport.fetch(url, options));
    }
    if (scheme === 'file') return this.#file.fetch(url, options);
    return Promise.reject(
      new ApkError('APK_REPO_URL_UNSUPPORTED', `${url}: unsupported URL scheme (use https://, http:// or file://)`, { detail: { url } }),
    );
  }

  /** Releases pooled connections. */
  close(): void {
    void this.#http?.then((transport) => transport.close());
  }
}
