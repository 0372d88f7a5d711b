import http from 'node:http';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import { ApkError } from '../errors.ts';
import type { FetchOptions, FetchResult, Fetcher, FetchValidators } from './fetcher.ts';
import { proxyAuthorization, proxyFor, TunnelingAgent } from './proxy.ts';
import type { ProxySettings } from './proxy.ts';

/** Options of the HTTP(S) transport. */
export interface HttpTransportOptions {
  /** Milliseconds without any socket activity (connect, headers or body) before giving up. */
  timeoutMs?: number;
  /** Redirects followed before APK_REPO_REDIRECTS (default 5). */
  maxRedirects?: number;
  userAgent?: string;
  /** Agents for connection reuse; defaults are keep-alive agents owned by this transport. */
  httpAgent?: http.Agent;
  httpsAgent?: https.Agent;
  /** Proxies (see proxyFromEnvironment); loopback targets never use them. */
  proxy?: ProxySettings;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Fetcher adapter for `http://` and `https://` on node:http(s): streaming bodies, socket-idle
 *  timeouts, bounded redirects, conditional requests. node:http is used rather than the global
 *  fetch so the body is a plain Node stream whose truncation surfaces as an error. */
export class HttpTransport implements Fetcher {
  readonly #timeoutMs: number;
  readonly #maxRedirects: number;
  readonly #userAgent: string;
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  readonly #proxy: ProxySettings;
  readonly #tunnels = new Map<string, TunnelingAgent>();
  readonly #proxyAgent = new http.Agent({ keepAlive: true });

  constructor(options: HttpTransportOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRedirects = options.maxRedirects ?? 5;
    this.#userAgent = options.userAgent ?? 'kiln-apk';
    this.#httpAgent = options.httpAgent ?? new http.Agent({ keepAlive: true });
    this.#httpsAgent = options.httpsAgent ?? new https.Agent({ keepAlive: true });
    this.#proxy = options.proxy ?? {};
  }

  /** Closes idle keep-alive connections (call when done, so the process can exit promptly). */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#proxyAgent.destroy();
    for (const tunnel of this.#tunnels.values()) tunnel.destroy();
  }

  async fetch(url: string, options: FetchOptions = {}): Promise<FetchResult> {
    let current = new URL(url);
    for (let redirects = 0; ; redirects++) {
      const answer = await this.#get(url, current, options);
      if (answer.kind !== 'redirect') return answer;
      if (redirects >= this.#maxRedirects) {
        throw new ApkError('APK_REPO_REDIRECTS', `GET ${url}: more than ${this.#maxRedirects} redirects (last to ${answer.location})`, {
          detail: { url, location: answer.location },
        });
      }
      let next: URL;
      try {
        next = new URL(answer.location, current);
      } catch (cause) {
        throw new ApkError('APK_REPO_REDIRECTS', `GET ${current.href}: redirect to an invalid URL ${JSON.stringify(answer.location)}`, { cause, detail: { url } });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ApkError('APK_REPO_REDIRECTS', `GET ${current.href}: redirect to unsupported URL ${next.href}`, { detail: { url, location: next.href } });
      }
      current = next;
    }
  }

  /** A GET to `target`, directly or through the configured proxy. */
  #request(target: URL, isHttps: boolean, headers: Record<string, string>, signal: AbortSignal | undefined): http.ClientRequest {
    const proxy = proxyFor(target, this.#proxy);
    if (!proxy) return (isHttps ? https : http).request(target, { method: 'GET', headers, agent: isHttps ? this.#httpsAgent : this.#httpAgent, signal });
    if (isHttps) {
      let tunnel = this.#tunnels.get(proxy.href);
      if (!tunnel) {
        tunnel = new TunnelingAgent(proxy, this.#httpsAgent.options);
        this.#tunnels.set(proxy.href, tunnel);
      }
      return https.request(target, { method: 'GET', headers, agent: tunnel, signal });
    }
    // Plain http through a proxy: the absolute URI goes in the request line.
    const authorization = proxyAuthorization(proxy);
    return http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      path: target.href,
      method: 'GET',
      headers: { ...headers, host: target.host, ...(authorization ? { 'proxy-authorization': authorization } : {}) },
      agent: this.#proxyAgent,
      signal,
    });
  }

  #get(url: string, target: URL, options: FetchOptions): Promise<FetchResult | { kind: 'redirect'; location: string }> {
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, accept: '*/*', 'accept-encoding': 'identity' };
    const validators = options.validators;
    if (validators?.etag) headers['if-none-match'] = validators.etag;
    if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
    const isHttps = target.protocol === 'https:';
    if (!isHttps && target.protocol !== 'http:') {
      return Promise.reject(new ApkError('APK_REPO_URL_UNSUPPORTED', `GET ${target.href}: unsupported URL scheme ${target.protocol}`, { detail: { url } }));
    }
    const where = target.href === url ? url : `${url} (redirected to ${target.href})`;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: ApkError): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const request = this.#request(target, isHttps, headers, options.signal);
      let bodyStream: PassThrough | undefined;
      request.setTimeout(this.#timeoutMs, () => {
        const error = new ApkError('APK_REPO_TIMEOUT', `GET ${where}: no data for ${this.#timeoutMs} ms`, { detail: { url, timeoutMs: this.#timeoutMs } });
        if (bodyStream) bodyStream.destroy(error);
        else fail(error);
        request.destroy(error);
      });
      request.on('error', (cause) => {
        const error =
          cause instanceof ApkError ? cause : new ApkError('APK_REPO_NETWORK', `GET ${where}: ${cause.message}`, { cause, detail: { url } });
        if (bodyStream) bodyStream.destroy(error);
        else fail(error);
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (REDIRECT_STATUSES.has(status) && response.headers.location) {
          response.resume();
          settled = true;
          resolve({ kind: 'redirect', location: response.headers.location });
          return;
        }
        if (status === 304 && validators) {
          response.resume();
          settled = true;
          resolve({ kind: 'not-modified', url });
          return;
        }
        if (status < 200 || status > 299) {
          response.resume();
          const statusText = `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
          fail(
            new ApkError(status === 404 ? 'APK_REPO_NOT_FOUND' : 'APK_REPO_HTTP_STATUS', `GET ${where}: ${statusText}`, {
              detail: { url, finalUrl: target.href, status },
            }),
          );
          return;
        }
        const declared = response.headers['content-length'];
        const contentLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
        // A PassThrough in front of the response so that early end (fewer bytes than declared)
        // and socket errors arrive as one 'error' on the stream the caller reads.
        const body = new PassThrough();
        // The caller may attach its reader a few ticks later; an error before then stays recorded
        // on the stream (stream.errored) and is reported by pipeline()/iteration instead of crashing.
        body.on('error', () => undefined);
        bodyStream = body;
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (!body.write(chunk)) {
            response.pause();
            body.once('drain', () => response.resume());
          }
        });
        response.on('end', () => {
          if (contentLength !== undefined && received !== contentLength) {
            body.destroy(
              new ApkError('APK_REPO_NETWORK', `GET ${where}: body ended after ${received} of ${contentLength} bytes`, {
                detail: { url, received, contentLength },
              }),
            );
            return;
          }
          body.end();
        });
        response.on('error', (cause) => {
          body.destroy(cause instanceof ApkError ? cause : new ApkError('APK_REPO_NETWORK', `GET ${where}: ${cause.message}`, { cause, detail: { url, received } }));
        });
        body.on('close', () => {
          if (!response.complete) response.destroy();
        });
        const responseValidators: FetchValidators = {};
        const etag = response.headers.etag;
        const lastModified = response.headers['last-modified'];
        if (etag) responseValidators.etag = etag;
        if (lastModified) responseValidators.lastModified = lastModified;
        settled = true;
        resolve({ kind: 'body', url, finalUrl: target.href, body, contentLength, validators: responseValidators });
      });
      request.end();
    });
  }
}
