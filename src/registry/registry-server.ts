import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Counter, Histogram } from 'prom-client';
import type { Registry as MetricsRegistry } from 'prom-client';
import { algorithmOf, DIGEST_GRAMMAR, digestWith, isKilnError } from '../lib/index.ts';
import type { Digest, Logger } from '../lib/index.ts';
import type { EventSink, RegistryEvent } from '../events/index.ts';
import type { ManifestRecord, MetadataStore } from '../metadata/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { isLoopback } from './access.ts';
import type { AccessController, AccessRequest, Principal } from './access.ts';
import { RegistryError } from './errors.ts';
import type { RegistryErrorCode } from './errors.ts';
import { isValidName, isValidTag } from './format/grammar.ts';
import { parseByteRange, parseChunkRange } from './format/ranges.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import type { KeyedLock } from './keyed-mutex.ts';
import { RateLimiter } from './rate-limit.ts';
import { PullThroughCache } from './pull-through.ts';
import type { PullThroughRule } from './pull-through.ts';
import { ImmutableTags } from './tag-policy.ts';
import type { ImmutableTagRule } from './tag-policy.ts';
import { isRegisteredDigest, ManifestProblem, MediaTypes, parseManifest } from '../oci/index.ts';

/** Settings of the registry's HTTP behaviour (from the config file). */
export interface RegistrySettings {
  /** Allow DELETE of manifests, tags and blobs (405 UNSUPPORTED otherwise). */
  deleteEnabled: boolean;
  /** Largest manifest body accepted, in bytes (413 above). */
  maxManifestBytes: number;
  /** Longest repository name accepted. */
  maxNameLength: number;
  /** Largest page of tags/catalog/referrers returned; bigger `n` is clamped and a Link header sent. */
  maxPageSize: number;
  /** Requests per second per client, and burst; 0 disables rate limiting. */
  rateLimit: { requestsPerSecond: number; burst: number };
  /** Trust X-Forwarded-For for the client address (behind a proxy). */
  trustProxy: boolean;
  /** Smallest non-final chunk the storage handles without extra copying, announced as
   *  `OCI-Chunk-Min-Length` when an upload starts; 0 or absent: no minimum, no header. */
  chunkMinLength?: number;
  /** Tags that may be created once and never moved or deleted (409 TAG_IMMUTABLE naming the rule). */
  immutableTags?: readonly ImmutableTagRule[];
  /** Repositories that mirror an upstream registry (pull-through cache); they refuse pushes and deletes. */
  pullThrough?: readonly PullThroughRule[];
  /** Publish `manifest.pulled` events for manifest GETs (off unless a webhook asks for pulls: it
   *  costs on the hottest path). */
  pullEvents?: boolean;
}

/** Everything the registry needs, injected by the composition root (src/app). */
export interface RegistryDependencies {
  blobs: BlobStore;
  metadata: MetadataStore;
  access: AccessController;
  logger: Logger;
  metrics: MetricsRegistry;
  settings: RegistrySettings;
  /** Shared with garbage collection so a sweep and a push of the same digest never interleave (across
   *  replicas when the lock is a database's). */
  digestLocks: KeyedLock;
  /** When set, a blob GET (never a HEAD) that passed authorization and the repository check is
   *  answered with a 307 to the URL this returns — a short-lived pre-signed storage URL — instead of
   *  the bytes. */
  blobRedirect?: (digest: Digest) => Promise<string>;
  /** Where push, delete (and optionally pull) events go, e.g. webhooks. */
  events?: EventSink;
  now?: () => number;
}

const API_VERSION_HEADER = 'registry/2.0';
/** How many repositories linking a blob an anonymous mount (no `from=`) looks through for one the
 *  caller may read, so one request's cost stays bounded however widely a blob is shared. */
const MOUNT_SEARCH_LIMIT = 1000;
const MANIFEST_CACHE_BYTES = 64 * 1024 * 1024;

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'token' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload-start'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

/** Splits a request path into a route; the repository name is everything between `/v2/` and the
 *  trailing fixed segments, so names like `team/blobs` stay legal. */
function route(path: string): Route | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  if (path === '/auth/token') return { kind: 'token' };
  if (!path.startsWith('/v2/')) return undefined;
  const rest = path.slice(4);
  let match: RegExpExecArray | null;
  if ((match = /^(.+)\/manifests\/([^/]+)$/.exec(rest))) return { kind: 'manifest', name: match[1]!, reference: match[2]! };
  if ((match = /^(.+)\/blobs\/uploads\/?$/.exec(rest))) return { kind: 'upload-start', name: match[1]! };
  if ((match = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(rest))) return { kind: 'upload', name: match[1]!, id: match[2]! };
  if ((match = /^(.+)\/blobs\/([^/]+)$/.exec(rest))) return { kind: 'blob', name: match[1]!, digest: match[2]! };
  if ((match = /^(.+)\/tags\/list$/.exec(rest))) return { kind: 'tags', name: match[1]! };
  if ((match = /^(.+)\/referrers\/([^/]+)$/.exec(rest))) return { kind: 'referrers', name: match[1]!, digest: match[2]! };
  return undefined;
}

/** Per-request state shared by the handlers. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  principal: Principal;
  requestId: string;
}

/** The OCI distribution v1.1 API over a BlobStore and a MetadataStore, as a plain node:http request
 *  handler (plain node:http rather than Fastify: blob bodies stream straight from the socket to disk,
 *  and the manifest hot path avoids per-request framework work — see bench/registry.bench.ts). */
/** The address a request comes from. With `trustProxy`, the rightmost X-Forwarded-For entry: the
 *  one the trusted proxy appended. Entries to its left come from the client and may be anything (a
 *  forged 127.0.0.1 included). */
export function clientAddress(req: IncomingMessage, socketAddress: string, trustProxy: boolean): string {
  let address = socketAddress;
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    if (forwarded !== undefined) {
      // An empty last entry (`a,`) is no address: never fall back to the proxy's loopback socket.
      address = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').pop()?.trim() || 'unknown';
    }
  }
  // A loopback client that names another host is a web page rebinding its DNS name to this
  // machine (the browser sends the page's host): it gets no loopback trust.
  if (isLoopback(address) && !isLoopbackHost(req.headers.host)) return 'unknown';
  return address;
}

/** Whether a Host header names this machine by a loopback name or address (or is absent, as
 *  from HTTP/1.0 clients). */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || lower.endsWith('.localhost') || isLoopback(lower);
}

export class RegistryServer {
  readonly #deps: RegistryDependencies;
  readonly #now: () => number;
  readonly #uploadLocks = new KeyedMutex();
  readonly #manifestCache = new Map<string, Buffer>();
  #manifestCacheBytes = 0;
  readonly #limiter: RateLimiter | undefined;
  readonly #immutable: ImmutableTags;
  readonly #mirror: PullThroughCache | undefined;
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #duration: Histogram<'method' | 'route'>;
  readonly #bytes: Counter<'direction'>;
  readonly #internalErrors: Counter<'where'>;
  readonly #redirects: Counter;
  #draining = false;

  constructor(deps: RegistryDependencies) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    const { requestsPerSecond, burst } = deps.settings.rateLimit;
    this.#limiter = requestsPerSecond > 0 ? new RateLimiter(requestsPerSecond, burst, this.#now) : undefined;
    this.#immutable = new ImmutableTags(deps.settings.immutableTags ?? []);
    this.#mirror = deps.settings.pullThrough?.length
      ? new PullThroughCache(deps.settings.pullThrough, { blobs: deps.blobs, metadata: deps.metadata, digestLocks: deps.digestLocks, logger: deps.logger, now: this.#now })
      : undefined;
    this.#requests = new Counter({ name: 'kiln_registry_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [deps.metrics] });
    this.#duration = new Histogram({
      name: 'kiln_registry_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [deps.metrics],
    });
    this.#internalErrors = new Counter({ name: 'kiln_registry_internal_errors_total', help: 'Errors Kiln did not expect (bugs), by where they were caught; each is logged with its request id', labelNames: ['where'], registers: [deps.metrics] });
    this.#redirects = new Counter({ name: 'kiln_registry_blob_redirects_total', help: 'Blob GETs answered with a 307 to a pre-signed storage URL', registers: [deps.metrics] });
    this.#bytes = new Counter({ name: 'kiln_registry_blob_bytes_total', help: 'Blob bytes received (push) and sent (pull)', labelNames: ['direction'], registers: [deps.metrics] });
  }

  /** Stops accepting new work: later requests get 503 UNAVAILABLE while running ones finish. */
  drain(): void {
    this.#draining = true;
  }

  /** node:http request listener. Never throws, and nothing it attaches to the request or response
   *  may throw either: a listener's error would otherwise end the whole process (one client could
   *  stop the registry). Every failure becomes a spec error body, or a closed connection once the
   *  response has started. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    // Read once now: after a refused body destroys the request, req.socket is null.
    const remote = req.socket?.remoteAddress ?? 'unknown';
    const requestId = requestIdOf(req);
    let routeName = 'unknown';
    try {
      res.setHeader('Docker-Distribution-API-Version', API_VERSION_HEADER);
      res.setHeader('X-Request-Id', requestId);
      res.once('finish', () => {
        try {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          this.#requests.inc({ method: req.method ?? '', route: routeName, status: String(res.statusCode) });
          this.#duration.observe({ method: req.method ?? '', route: routeName }, seconds);
          this.#deps.logger.debug({ requestId, method: req.method, route: routeName, status: res.statusCode, ms: Math.round(seconds * 1000), remote }, 'request');
        } catch (error) {
          this.#internalError(error, requestId, 'finish-listener');
        }
      });
      void this.#dispatch(req, res, remote, requestId, (name) => {
        routeName = name;
      })
        .catch((error: unknown) => this.#fail(req, res, error, requestId))
        .catch((error: unknown) => this.#abort(res, error, requestId, 'error-response'));
    } catch (error) {
      this.#abort(res, error, requestId, 'request-listener');
    }
  };

  /** Logs and counts an error Kiln did not expect (a bug), with the request it belongs to. */
  #internalError(error: unknown, requestId: string, where: string): void {
    try {
      this.#internalErrors.inc({ where });
      this.#deps.logger.error({ err: error, requestId, where }, 'internal error');
    } catch {
      // The logger itself failed: nothing more can be reported, and the process must keep serving.
    }
  }

  /** Last resort when even the error response failed: log, count, and drop the connection. */
  #abort(res: ServerResponse, error: unknown, requestId: string, where: string): void {
    this.#internalError(error, requestId, where);
    try {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, new RegistryError('UNKNOWN', `internal error; see the registry log (request ${requestId})`).toBody());
      else res.destroy();
    } catch {
      res.destroy();
    }
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, socketAddress: string, requestId: string, setRoute: (name: string) => void): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://registry.invalid');
    } catch {
      throw new RegistryError('NOT_FOUND', 'malformed request URL');
    }
    if (this.#draining) throw new RegistryError('UNAVAILABLE', 'the registry is shutting down', { headers: { 'retry-after': '1', connection: 'close' } });
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw new RegistryError('NAME_INVALID', 'the request path is not valid percent-encoding');
    }
    const target = route(path);
    setRoute(target?.kind ?? 'unknown');
    const remoteAddress = this.#clientAddress(req, socketAddress);
    if (this.#limiter) {
      const wait = this.#limiter.take(remoteAddress);
      if (wait > 0) throw new RegistryError('TOOMANYREQUESTS', `rate limit exceeded for ${remoteAddress}`, { headers: { 'retry-after': String(Math.ceil(wait / 1000)) } });
    }
    if (!target) throw new RegistryError('NOT_FOUND', `no endpoint at ${url.pathname}`);
    const principal = await this.#deps.access.authenticate(req.headers.authorization, remoteAddress);
    const exchange: Exchange = { req, res, url, principal, requestId };
    const method = req.method ?? 'GET';
    switch (target.kind) {
      case 'base':
        return this.#onBase(exchange, method);
      case 'catalog':
        return this.#onCatalog(exchange, method);
      case 'token':
        return this.#onToken(exchange, method);
      default:
        break;
    }
    const name = target.name;
    if (!isValidName(name, this.#deps.settings.maxNameLength)) {
      throw new RegistryError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 300))}`, { detail: { name: name.slice(0, 300) } });
    }
    switch (target.kind) {
      case 'manifest':
        return this.#onManifest(exchange, method, name, target.reference);
      case 'blob':
        return this.#onBlob(exchange, method, name, target.digest);
      case 'upload-start':
        if (method !== 'POST') throw notAllowed(method, 'POST');
        return this.#onUploadStart(exchange, name);
      case 'upload':
        return this.#onUpload(exchange, method, name, target.id);
      case 'tags':
        if (method !== 'GET') throw notAllowed(method, 'GET');
        return this.#onTags(exchange, name);
      case 'referrers':
        if (method !== 'GET') throw notAllowed(method, 'GET');
        return this.#onReferrers(exchange, name, target.digest);
    }
  }

  #clientAddress(req: IncomingMessage, socketAddress: string): string {
    return clientAddress(req, socketAddress, this.#deps.settings.trustProxy);
  }

  /** Hands an event to the sink (which never throws and returns at once). */
  #publish(exchange: Exchange, event: Omit<RegistryEvent, 'time' | 'actor' | 'requestId'>): void {
    const sink = this.#deps.events;
    if (!sink) return;
    const actor = exchange.principal.user;
    sink.publish({ ...event, time: this.#now(), requestId: exchange.requestId, ...(actor ? { actor } : {}) });
  }

  #authorize(exchange: Exchange, needs: AccessRequest[]): void {
    this.#deps.access.authorize(exchange.principal, needs);
  }

  // ---- /v2/, catalog, token ------------------------------------------------------------------

  async #onBase(exchange: Exchange, method: string): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') throw notAllowed(method, 'GET, HEAD');
    const { access } = this.#deps;
    // Anonymous clients of a registry with users must learn the challenge here (docker login, skopeo).
    if (!access.config.open && exchange.principal.user === undefined && exchange.principal.tokenAccess === undefined) throw access.challenge([], 'authentication required');
    sendJson(exchange.res, 200, {}, method === 'HEAD');
  }

  /** Lists only repositories the caller may pull. Filtering happens while paging, and the Link cursor
   *  is the last name shown, so neither a page's length nor its `last=` reveals a hidden name. */
  async #onCatalog(exchange: Exchange, method: string): Promise<void> {
    if (method !== 'GET') throw notAllowed(method, 'GET');
    const { access, metadata, settings } = this.#deps;
    const { principal } = exchange;
    if (access.config.open && !isLoopback(principal.remoteAddress)) throw new RegistryError('DENIED', 'this registry has no users configured: only loopback clients may use it');
    const { limit, last, requested } = this.#page(exchange.url);
    // A bearer token lists what its subject may pull (an anonymous token: what anyone may), not
    // only the repositories its claims name: clients ask for the catalog with a registry scope.
    const judged: Principal = principal.tokenAccess ? { ...(principal.user !== undefined ? { user: principal.user } : {}), remoteAddress: principal.remoteAddress } : principal;
    const visible: string[] = [];
    let cursor = last || undefined;
    // One more than the page tells whether a next page exists; hidden names may need several reads.
    while (limit > 0 && visible.length <= limit) {
      const names = await metadata.listRepositories({ ...(cursor !== undefined ? { last: cursor } : {}), limit: settings.maxPageSize });
      for (const name of names) if (visible.length <= limit && access.permits(judged, name, 'pull')) visible.push(name);
      if (names.length < settings.maxPageSize) break;
      cursor = names[names.length - 1];
    }
    if (visible.length > limit) exchange.res.setHeader('Link', `</v2/_catalog?n=${requested ?? limit}&last=${encodeURIComponent(visible[limit - 1]!)}>; rel="next"`);
    sendJson(exchange.res, 200, { repositories: visible.slice(0, limit) });
  }

  async #onToken(exchange: Exchange, method: string): Promise<void> {
    if (method !== 'GET') throw new RegistryError('NOT_FOUND', 'the token endpoint answers GET only (OAuth2 POST is not supported)');
    const scopes = exchange.url.searchParams.getAll('scope');
    const token = await this.#deps.access.issueToken(exchange.principal, scopes, this.#now());
    exchange.res.setHeader('Cache-Control', 'no-store');
    sendJson(exchange.res, 200, token);
  }

  // ---- manifests -------------------------------------------------------------------------------

  async #resolveReference(name: string, reference: string): Promise<ManifestRecord> {
    const { metadata } = this.#deps;
    let digest: Digest | undefined;
    if (reference.includes(':')) {
      if (!isRegisteredDigest(reference)) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not a supported digest`, { detail: { digest: reference } });
      digest = reference;
    } else {
      if (!isValidTag(reference)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(reference)}`, { detail: { tag: reference } });
      digest = await metadata.resolveTag(name, reference);
      if (!digest) throw new RegistryError('MANIFEST_UNKNOWN', `${name}:${reference} is not a known tag`, { detail: { tag: reference } });
    }
    const record = await metadata.getManifest(name, digest);
    if (!record) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}@${digest} is unknown`, { detail: { digest } });
    return record;
  }

  async #manifestBytes(digest: Digest): Promise<Buffer> {
    const cached = this.#manifestCache.get(digest);
    if (cached) return cached;
    const bytes = await this.#deps.blobs.read(digest);
    // Content-addressed bytes never change, so caching by digest needs no invalidation.
    if (bytes.length < MANIFEST_CACHE_BYTES / 16) {
      while (this.#manifestCacheBytes + bytes.length > MANIFEST_CACHE_BYTES && this.#manifestCache.size) {
        const [oldest, value] = this.#manifestCache.entries().next().value as [string, Buffer];
        this.#manifestCache.delete(oldest);
        this.#manifestCacheBytes -= value.length;
      }
      this.#manifestCache.set(digest, bytes);
      this.#manifestCacheBytes += bytes.length;
    }
    return bytes;
  }

  async #onManifest(exchange: Exchange, method: string, name: string, reference: string): Promise<void> {
    const { res } = exchange;
    if (method === 'GET' || method === 'HEAD') {
      this.#authorize(exchange, [{ repository: name, actions: ['pull'] }]);
      const rule = this.#mirror?.ruleFor(name);
      if (rule && (isValidTag(reference) || isRegisteredDigest(reference))) await this.#mirror!.refresh(rule, name, reference);
      const record = await this.#resolveReference(name, reference);
      res.setHeader('Docker-Content-Digest', record.digest);
      res.setHeader('ETag', `"${record.digest}"`);
      res.setHeader('Content-Type', record.mediaType);
      if (exchange.req.headers['if-none-match'] === `"${record.digest}"`) {
        res.statusCode = 304;
        res.end();
        return;
      }
      res.setHeader('Content-Length', record.size);
      res.statusCode = 200;
      if (method === 'HEAD') {
        res.end();
        return;
      }
      res.end(await this.#manifestBytes(record.digest));
      if (this.#deps.settings.pullEvents) {
        this.#publish(exchange, { type: 'manifest.pulled', repository: name, digest: record.digest, mediaType: record.mediaType, size: record.size, ...(reference.includes(':') ? {} : { tag: reference }) });
      }
      return;
    }
    if (method === 'PUT') return this.#putManifest(exchange, name, reference);
    if (method === 'DELETE') return this.#deleteManifest(exchange, name, reference);
    throw notAllowed(method, 'GET, HEAD, PUT, DELETE');
  }

  /** Mirrored repositories hold what the upstream has, nothing else. */
  #refuseMirrored(name: string, what: string): void {
    const rule = this.#mirror?.ruleFor(name);
    if (rule) throw new RegistryError('UNSUPPORTED', `${name} is a pull-through cache of ${rule.upstream.name}: ${what} is not allowed`, { detail: { repository: name, upstream: rule.upstream.name } });
  }

  async #putManifest(exchange: Exchange, name: string, reference: string): Promise<void> {
    const { req, res, url } = exchange;
    this.#authorize(exchange, [{ repository: name, actions: ['pull', 'push'] }]);
    this.#refuseMirrored(name, 'pushing');
    const isDigestRef = reference.includes(':');
    if (isDigestRef) {
      if (!DIGEST_GRAMMAR.test(reference) || !isRegisteredDigest(reference)) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${JSON.stringify(reference)}`, { detail: { digest: reference } });
    } else if (!isValidTag(reference)) {
      throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(reference)}`, { detail: { tag: reference } });
    }
    const extraTags = url.searchParams.getAll('tag');
    if (extraTags.length && !isDigestRef) throw new RegistryError('TAG_INVALID', 'tag= parameters are only allowed when pushing by digest');
    for (const tag of extraTags) if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag)}`, { detail: { tag } });
    const bytes = await readLimited(req, this.#deps.settings.maxManifestBytes);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim() || undefined;
    let parsed;
    try {
      parsed = parseManifest(bytes, contentType);
    } catch (error) {
      if (error instanceof ManifestProblem) throw new RegistryError('MANIFEST_INVALID', error.message, { detail: { field: error.field } });
      throw error;
    }
    const digest = isDigestRef ? digestWith(bytes, algorithmOf(reference as Digest)) : digestWith(bytes);
    if (isDigestRef && digest !== reference) {
      throw new RegistryError('DIGEST_INVALID', `manifest bytes hash to ${digest}, not ${reference}`, { detail: { digest: reference, actual: digest } });
    }
    const tags = isDigestRef ? extraTags : [reference];
    const fixed = tags.map((tag) => ({ tag, match: this.#immutable.ruleFor(name, tag) })).filter((entry) => entry.match !== undefined);
    const record: ManifestRecord = { repository: name, digest, mediaType: parsed.mediaType, size: bytes.length, blobs: parsed.blobs, children: parsed.children, createdAt: this.#now() };
    if (parsed.subject) record.subject = parsed.subject;
    if (parsed.artifactType) record.artifactType = parsed.artifactType;
    if (parsed.annotations) record.annotations = parsed.annotations;
    // Bytes first (verified, atomic), metadata second: a crash in between leaves an unreferenced blob
    // for GC, never a manifest without its bytes.
    const result = await this.#deps.digestLocks.run(digest, async () => {
      await this.#deps.blobs.put(digest, [bytes], bytes.length);
      return this.#deps.metadata.putManifest(record, tags, this.#now(), fixed.length ? { immutableTags: fixed.map((entry) => entry.tag) } : {});
    });
    if (result.immutableTagsMoved.length) {
      const tag = result.immutableTagsMoved[0]!;
      throw immutableTag(name, tag, this.#immutable.ruleFor(name, tag)!.name, 'moved to another manifest');
    }
    const missing = [...result.missingBlobs, ...result.missingManifests];
    if (missing.length) {
      const entries = missing.map((item) => ({ code: 'MANIFEST_BLOB_UNKNOWN' as RegistryErrorCode, message: `${item} is not in ${name}`, detail: { digest: item } }));
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', entries[0]!.message, { detail: { digest: missing[0] }, extra: entries.slice(1) });
    }
    this.#deps.logger.info({ repository: name, digest, tags }, 'manifest pushed');
    this.#publish(exchange, { type: 'manifest.pushed', repository: name, digest, mediaType: parsed.mediaType, size: bytes.length, tags });
    res.setHeader('Location', `/v2/${name}/manifests/${digest}`);
    res.setHeader('Docker-Content-Digest', digest);
    if (parsed.subject) res.setHeader('OCI-Subject', parsed.subject);
    if (extraTags.length) res.setHeader('OCI-Tag', extraTags.join(','));
    res.setHeader('Content-Length', 0);
    res.statusCode = 201;
    res.end();
  }

  async #deleteManifest(exchange: Exchange, name: string, reference: string): Promise<void> {
    this.#authorize(exchange, [{ repository: name, actions: ['delete'] }]);
    if (!this.#deps.settings.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry (storage.delete.enabled)');
    this.#refuseMirrored(name, 'deleting');
    const { metadata } = this.#deps;
    if (reference.includes(':')) {
      if (!isRegisteredDigest(reference)) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${JSON.stringify(reference)}`, { detail: { digest: reference } });
      // Deleting a manifest removes its tags: refused while an immutable tag points at it. Under the
      // digest's lock, which a manifest PUT (the only way to tag it) holds too: no tag can arrive
      // between the check and the delete.
      const deleted = await this.#deps.digestLocks.run(reference, async () => {
        if (!this.#immutable.isEmpty) {
          const held = await this.#immutableTagOf(name, reference);
          if (held) throw immutableTag(name, held.tag, held.rule, 'deleted (it points at this manifest)');
        }
        return metadata.deleteManifest(name, reference);
      });
      if (!deleted) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${name}@${reference} is unknown`, { detail: { digest: reference } });
      this.#publish(exchange, { type: 'manifest.deleted', repository: name, digest: reference });
    } else {
      if (!isValidTag(reference)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(reference)}`, { detail: { tag: reference } });
      const rule = this.#immutable.ruleFor(name, reference);
      // An immutable tag is never deleted, even one pushed after this check: deleteTag is not called.
      if (rule) {
        if ((await metadata.resolveTag(name, reference)) !== undefined) throw immutableTag(name, reference, rule.name, 'deleted');
        throw new RegistryError('MANIFEST_UNKNOWN', `${name}:${reference} is not a known tag`, { detail: { tag: reference } });
      }
      if (!(await metadata.deleteTag(name, reference))) throw new RegistryError('MANIFEST_UNKNOWN', `${name}:${reference} is not a known tag`, { detail: { tag: reference } });
      this.#publish(exchange, { type: 'tag.deleted', repository: name, tag: reference });
    }
    this.#deps.logger.info({ repository: name, reference }, 'manifest deleted');
    exchange.res.statusCode = 202;
    exchange.res.setHeader('Content-Length', 0);
    exchange.res.end();
  }

  /** An immutable tag of `name` that points at `digest`, if any (walks the repository's tags). */
  async #immutableTagOf(name: string, digest: Digest): Promise<{ tag: string; rule: string } | undefined> {
    let last: string | undefined;
    for (;;) {
      const page = await this.#deps.metadata.listTags(name, { ...(last !== undefined ? { last } : {}), limit: 1000 });
      for (const tag of page) {
        const rule = this.#immutable.ruleFor(name, tag);
        if (rule && (await this.#deps.metadata.resolveTag(name, tag)) === digest) return { tag, rule: rule.name };
      }
      if (page.length < 1000) return undefined;
      last = page[page.length - 1];
    }
  }

  // ---- blobs -----------------------------------------------------------------------------------

  async #onBlob(exchange: Exchange, method: string, name: string, digestText: string): Promise<void> {
    const { req, res } = exchange;
    if (method === 'DELETE') {
      this.#authorize(exchange, [{ repository: name, actions: ['delete'] }]);
      if (!this.#deps.settings.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry (storage.delete.enabled)');
      this.#refuseMirrored(name, 'deleting');
      if (!isRegisteredDigest(digestText)) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${JSON.stringify(digestText)}`, { detail: { digest: digestText } });
      const result = await this.#deps.metadata.unlinkBlob(name, digestText);
      if (result.referencedBy !== undefined) {
        // Unlinking it would let GC delete bytes the manifest (and any tag on it) still needs.
        throw new RegistryError('DENIED', `blob ${digestText} is referenced by manifest ${name}@${result.referencedBy}; delete the manifest first`, {
          httpStatus: 409,
          detail: { digest: digestText, manifest: result.referencedBy },
        });
      }
      if (!result.unlinked) throw new RegistryError('BLOB_UNKNOWN', `blob ${digestText} is not in ${name}`, { detail: { digest: digestText } });
      res.statusCode = 202;
      res.setHeader('Content-Length', 0);
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw notAllowed(method, 'GET, HEAD, DELETE');
    this.#authorize(exchange, [{ repository: name, actions: ['pull'] }]);
    if (!isRegisteredDigest(digestText)) {
      throw new RegistryError(DIGEST_GRAMMAR.test(digestText) ? 'BLOB_UNKNOWN' : 'DIGEST_INVALID', `unsupported or malformed digest ${JSON.stringify(digestText.slice(0, 200))}`, { detail: { digest: digestText.slice(0, 200) } });
    }
    const digest = digestText;
    // A link implies the bytes: GC deletes a blob only after its last link is gone (under the digest lock).
    const info = await this.#deps.metadata.blobLink(name, digest);
    if (!info) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`, { detail: { digest } });
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Cache-Control', 'max-age=31536000');
    if (req.headers['if-none-match'] === `"${digest}"`) {
      res.statusCode = 304;
      res.end();
      return;
    }
    if (method === 'GET' && this.#deps.blobRedirect) {
      const location = await this.#deps.blobRedirect(digest);
      res.statusCode = 307;
      res.setHeader('Location', location);
      // The URL expires: no cache may keep the redirect for the blob's lifetime.
      res.setHeader('Cache-Control', 'no-store');
      res.removeHeader('ETag');
      res.setHeader('Content-Length', 0);
      res.end();
      this.#redirects.inc();
      return;
    }
    const range = parseByteRange(req.headers.range, info.size);
    if (range.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${info.size}`);
      throw new RegistryError('RANGE_INVALID', `range ${req.headers.range} is outside blob ${digest} of ${info.size} bytes`, { detail: { digest, size: info.size } });
    }
    if (range.kind === 'range') {
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
      res.setHeader('Content-Length', range.end - range.start + 1);
    } else {
      res.statusCode = 200;
      res.setHeader('Content-Length', info.size);
    }
    if (method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    const stream = await this.#deps.blobs.get(digest, range.kind === 'range' ? range : undefined);
    await pipeline(stream, res);
    this.#bytes.inc({ direction: 'pull' }, range.kind === 'range' ? range.end - range.start + 1 : info.size);
  }

  // ---- uploads ---------------------------------------------------------------------------------

  async #onUploadStart(exchange: Exchange, name: string): Promise<void> {
    const { req, res, url } = exchange;
    this.#authorize(exchange, [{ repository: name, actions: ['pull', 'push'] }]);
    this.#refuseMirrored(name, 'pushing');
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    if (mount !== null) {
      if (await this.#tryMount(exchange, name, mount, from)) return;
    }
    const digestParam = url.searchParams.get('digest');
    if (digestParam !== null) {
      const digest = checkUploadDigest(digestParam);
      const expected = contentLength(req);
      // Written and verified outside the digest's lock (put is atomic: no blob or the whole verified
      // blob), so a client that sends slowly or stalls holds up no other push, mount or GC of the
      // digest. The lock covers the link only; a blob GC removed meanwhile is not linked.
      const { size } = await this.#deps.blobs.put(digest, this.#countIn(req), expected);
      await this.#deps.digestLocks.run(digest, async () => {
        if (!(await this.#deps.blobs.touch(digest))) throw new RegistryError('BLOB_UPLOAD_INVALID', `blob ${digest} was removed while it was being pushed; push it again`, { detail: { digest } });
        await this.#deps.metadata.linkBlob(name, digest, size, this.#now());
      });
      this.#deps.logger.debug({ repository: name, digest, size }, 'blob pushed');
      return blobCreated(res, name, digest);
    }
    const id = randomUUID();
    const now = this.#now();
    await this.#deps.blobs.createUpload(id);
    await this.#deps.metadata.createUpload({ id, repository: name, offset: 0, createdAt: now, updatedAt: now });
    // A POST may carry the first (or only) chunk of a session.
    let offset = 0;
    if (hasBody(req)) offset = await this.#append(name, id, 0, req, undefined);
    else await drainBody(req);
    const minimum = this.#deps.settings.chunkMinLength ?? 0;
    if (minimum > 0) res.setHeader('OCI-Chunk-Min-Length', String(minimum));
    uploadAccepted(res, name, id, offset);
  }

  /** Cross-repository mount: with `from=`, from that repository when the caller may pull it; without
   *  (an anonymous mount), from the first repository, in name order, that links the blob and that the
   *  caller may pull — so a mount never reveals a blob the caller could not read. False: open a normal
   *  upload session instead (202), as the spec asks. */
  async #tryMount(exchange: Exchange, name: string, mount: string, from: string | null): Promise<boolean> {
    if (!isRegisteredDigest(mount)) return false;
    let sources: string[];
    if (from !== null) {
      if (!isValidName(from, this.#deps.settings.maxNameLength) || !this.#mayPull(exchange.principal, from)) return false;
      sources = [from];
    } else {
      sources = await this.#readableSources(exchange.principal, mount, name);
    }
    for (const source of sources) {
      const mounted = await this.#deps.digestLocks.run(mount, async () => {
        const link = await this.#deps.metadata.blobLink(source, mount);
        if (!link || !(await this.#deps.blobs.touch(mount))) return false;
        await this.#deps.metadata.linkBlob(name, mount, link.size, this.#now());
        return true;
      });
      if (!mounted) continue;
      await drainBody(exchange.req);
      this.#deps.logger.debug({ repository: name, digest: mount, from: source, anonymous: from === null }, 'blob mounted');
      blobCreated(exchange.res, name, mount);
      return true;
    }
    return false;
  }

  #mayPull(principal: Principal, repository: string): boolean {
    try {
      this.#deps.access.authorize(principal, [{ repository, actions: ['pull'] }]);
      return true;
    } catch {
      return false;
    }
  }

  /** Up to a few repositories (other than `target`) that link `digest` and that `principal` may pull;
   *  the search looks at no more than MOUNT_SEARCH_LIMIT linking repositories. */
  async #readableSources(principal: Principal, digest: Digest, target: string): Promise<string[]> {
    const found: string[] = [];
    let last: string | undefined;
    for (let seen = 0; seen < MOUNT_SEARCH_LIMIT && found.length < 3; ) {
      const page = await this.#deps.metadata.blobRepositories(digest, { ...(last !== undefined ? { last } : {}), limit: 100 });
      for (const repository of page) if (repository !== target && this.#mayPull(principal, repository)) found.push(repository);
      seen += page.length;
      if (page.length < 100) break;
      last = page[page.length - 1];
    }
    return found.slice(0, 3);
  }

  async #onUpload(exchange: Exchange, method: string, name: string, id: string): Promise<void> {
    const { req, res, url } = exchange;
    this.#authorize(exchange, [{ repository: name, actions: method === 'GET' ? ['pull'] : ['pull', 'push'] }]);
    if (!['GET', 'PATCH', 'PUT', 'DELETE'].includes(method)) throw notAllowed(method, 'GET, PATCH, PUT, DELETE');
    await this.#uploadLocks.run(id, async () => {
      const session = /^[A-Za-z0-9-]{8,64}$/.test(id) ? await this.#deps.metadata.getUpload(id) : undefined;
      if (!session || session.repository !== name) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id.slice(0, 80)} is unknown in ${name}`, { detail: { uuid: id.slice(0, 80) } });
      // A crash after the staged bytes were committed (or lost) but before the session row was
      // removed leaves a session without bytes: it can only be restarted, never resumed.
      const staged = await this.#deps.blobs.uploadSize(id);
      if (staged === undefined || staged < session.offset) {
        await this.#deps.metadata.deleteUpload(id);
        throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} lost its staged bytes; start a new upload`, { detail: { uuid: id } });
      }
      if (method === 'GET') {
        res.statusCode = 204;
        res.setHeader('Location', `/v2/${name}/blobs/uploads/${id}`);
        res.setHeader('Range', `0-${Math.max(session.offset - 1, 0)}`);
        res.setHeader('Docker-Upload-UUID', id);
        res.end();
        return;
      }
      if (method === 'DELETE') {
        await this.#deps.metadata.deleteUpload(id);
        await this.#deps.blobs.deleteUpload(id);
        res.statusCode = 204;
        res.end();
        return;
      }
      if (method === 'PATCH') {
        const offset = await this.#append(name, id, session.offset, req, req.headers['content-range']);
        uploadAccepted(res, name, id, offset);
        return;
      }
      // PUT closes the session, optionally with a final chunk.
      const digestParam = url.searchParams.get('digest');
      if (digestParam === null) throw new RegistryError('DIGEST_INVALID', 'closing an upload needs ?digest=');
      const digest = checkUploadDigest(digestParam);
      let offset = session.offset;
      if (hasBody(req)) offset = await this.#append(name, id, offset, req, req.headers['content-range']);
      else await drainBody(req);
      try {
        await this.#deps.digestLocks.run(digest, async () => {
          await this.#deps.blobs.commitUpload(id, digest, offset);
          await this.#deps.metadata.linkBlob(name, digest, offset, this.#now());
        });
      } catch (error) {
        if (isKilnError(error) && error.code === 'STORAGE_DIGEST_MISMATCH') {
          // The client must restart: discard the session, as Distribution does.
          await this.#deps.metadata.deleteUpload(id);
          await this.#deps.blobs.deleteUpload(id);
        }
        throw error;
      }
      await this.#deps.metadata.deleteUpload(id);
      this.#deps.logger.debug({ repository: name, digest, size: offset }, 'blob pushed');
      blobCreated(res, name, digest);
    });
  }

  /** Appends a request body at the session's durable offset; with Content-Range it must continue
   *  exactly there (416 otherwise) and match Content-Length. Returns the new durable offset. */
  async #append(name: string, id: string, offset: number, req: IncomingMessage, contentRange: string | undefined): Promise<number> {
    let expected: number | undefined;
    if (contentRange !== undefined) {
      const range = parseChunkRange(contentRange);
      if (!range) throw new RegistryError('BLOB_UPLOAD_INVALID', `malformed Content-Range ${JSON.stringify(contentRange.slice(0, 100))}`);
      if (range.start !== offset) {
        throw new RegistryError('RANGE_INVALID', `chunk starts at ${range.start} but upload ${id} has ${offset} bytes`, { detail: { uuid: id, offset }, headers: { range: `0-${Math.max(offset - 1, 0)}`, location: `/v2/${name}/blobs/uploads/${id}` } });
      }
      expected = range.end - range.start + 1;
      const length = contentLength(req);
      if (length !== undefined && length !== expected) throw new RegistryError('SIZE_INVALID', `Content-Length ${length} does not match Content-Range ${contentRange}`);
    }
    const size = await this.#deps.blobs.appendUpload(id, offset, this.#countIn(req));
    if (expected !== undefined && size - offset !== expected) {
      throw new RegistryError('SIZE_INVALID', `chunk of ${size - offset} bytes does not match Content-Range ${contentRange}`);
    }
    if (!(await this.#deps.metadata.advanceUpload(id, offset, size, this.#now()))) {
      throw new RegistryError('RANGE_INVALID', `upload ${id} changed concurrently`, { detail: { uuid: id } });
    }
    return size;
  }

  async *#countIn(req: IncomingMessage): AsyncIterable<Uint8Array> {
    for await (const chunk of req) {
      this.#bytes.inc({ direction: 'push' }, (chunk as Buffer).length);
      yield chunk as Buffer;
    }
  }

  // ---- tags and referrers ------------------------------------------------------------------------

  #page(url: URL): { limit: number; last: string | undefined; requested: number | undefined } {
    const n = url.searchParams.get('n');
    let requested: number | undefined;
    if (n !== null) {
      if (!/^\d+$/.test(n)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, got ${JSON.stringify(n.slice(0, 20))}`);
      // Any size is a valid request; above the maximum it is clamped (and the Link header says so).
      requested = Math.min(Number(n), this.#deps.settings.maxPageSize);
    }
    const limit = Math.min(requested ?? this.#deps.settings.maxPageSize, this.#deps.settings.maxPageSize);
    return { limit, last: url.searchParams.get('last') ?? undefined, requested };
  }

  async #onTags(exchange: Exchange, name: string): Promise<void> {
    this.#authorize(exchange, [{ repository: name, actions: ['pull'] }]);
    const { limit, last, requested } = this.#page(exchange.url);
    const { metadata } = this.#deps;
    const tags = limit === 0 ? [] : await metadata.listTags(name, { ...(last !== undefined ? { last } : {}), limit: limit + 1 });
    if (tags.length === 0 && !(await metadata.repositoryExists(name))) throw new RegistryError('NAME_UNKNOWN', `repository ${name} is unknown`, { detail: { name } });
    if (tags.length > limit) {
      exchange.res.setHeader('Link', `</v2/${name}/tags/list?n=${requested ?? limit}&last=${encodeURIComponent(tags[limit - 1]!)}>; rel="next"`);
    }
    sendJson(exchange.res, 200, { name, tags: tags.slice(0, limit) });
  }

  /** Referrers, oldest first (then by digest), in pages of at most `http.maxPageSize` (or `n=`); a
   *  `Link: <…>; rel="next"` header carries the cursor `last=<createdAt>.<digest>` of the page's last
   *  entry, which stays valid when that entry is deleted between the two requests. */
  async #onReferrers(exchange: Exchange, name: string, digestText: string): Promise<void> {
    this.#authorize(exchange, [{ repository: name, actions: ['pull'] }]);
    if (!isRegisteredDigest(digestText)) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${JSON.stringify(digestText.slice(0, 200))}`, { detail: { digest: digestText.slice(0, 200) } });
    const { url } = exchange;
    const { limit, last, requested } = this.#page(url);
    let after: { createdAt: number; digest: string } | undefined;
    if (last !== undefined) {
      const cursor = /^(\d{1,16})\.(.+)$/.exec(last);
      if (!cursor) throw new RegistryError('PAGINATION_NUMBER_INVALID', `last must be a cursor from a Link header, got ${JSON.stringify(last.slice(0, 200))}`);
      after = { createdAt: Number(cursor[1]), digest: cursor[2]! };
    }
    const filters = url.searchParams.getAll('artifactType');
    let records = await this.#deps.metadata.listReferrers(name, digestText);
    if (filters.length) {
      records = records.filter((record) => record.artifactType !== undefined && filters.includes(record.artifactType));
      exchange.res.setHeader('OCI-Filters-Applied', 'artifactType');
    }
    if (after) {
      const { createdAt, digest } = after;
      records = records.filter((record) => record.createdAt > createdAt || (record.createdAt === createdAt && record.digest > digest));
    }
    const page = records.slice(0, limit);
    if (records.length > limit && limit > 0) {
      const end = page[page.length - 1]!;
      const next = new URLSearchParams();
      for (const filter of filters) next.append('artifactType', filter);
      next.set('n', String(requested ?? limit));
      next.set('last', `${end.createdAt}.${end.digest}`);
      exchange.res.setHeader('Link', `</v2/${name}/referrers/${digestText}?${next.toString()}>; rel="next"`);
    }
    const manifests = page.map((record) => ({
      mediaType: record.mediaType,
      digest: record.digest,
      size: record.size,
      ...(record.artifactType ? { artifactType: record.artifactType } : {}),
      ...(record.annotations ? { annotations: record.annotations } : {}),
    }));
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
    exchange.res.statusCode = 200;
    exchange.res.setHeader('Content-Type', MediaTypes.ociIndex);
    exchange.res.setHeader('Content-Length', body.length);
    exchange.res.end(body);
  }

  // ---- errors ----------------------------------------------------------------------------------

  #fail(req: IncomingMessage, res: ServerResponse, caught: unknown, requestId: string): void {
    const error = toRegistryError(caught, requestId);
    if (error.code === 'UNKNOWN') this.#internalError(caught, requestId, 'handler');
    else if (error.detail.backend !== undefined) this.#deps.logger.warn({ requestId, code: error.detail.backend, method: req.method, url: req.url?.slice(0, 500), message: (caught as Error).message }, 'storage backend failed');
    else this.#deps.logger.debug({ requestId, code: error.code, method: req.method, url: req.url?.slice(0, 500), message: error.message }, 'request refused');
    if (res.headersSent || res.destroyed || (req.destroyed && !req.complete && res.writableEnded)) {
      res.destroy();
      return;
    }
    for (const [header, value] of Object.entries(error.headers)) res.setHeader(header, value);
    // A refused request whose body was not read: close the connection instead of reading it all.
    if (!req.complete) res.setHeader('Connection', 'close');
    res.removeHeader('Docker-Content-Digest');
    res.removeHeader('ETag');
    res.removeHeader('Content-Length');
    sendJson(res, error.httpStatus, error.toBody(), req.method === 'HEAD');
    if (!req.complete) res.once('finish', () => req.destroy());
  }
}

const STORAGE_TO_REGISTRY: Readonly<Record<string, RegistryErrorCode>> = {
  STORAGE_BLOB_NOT_FOUND: 'BLOB_UNKNOWN',
  STORAGE_DIGEST_MISMATCH: 'DIGEST_INVALID',
  STORAGE_SIZE_MISMATCH: 'SIZE_INVALID',
  STORAGE_UPLOAD_NOT_FOUND: 'BLOB_UPLOAD_UNKNOWN',
  STORAGE_UPLOAD_OFFSET: 'RANGE_INVALID',
  STORAGE_RANGE_INVALID: 'RANGE_INVALID',
  STORAGE_INVALID_ID: 'BLOB_UPLOAD_UNKNOWN',
};

/** Failures of a shared engine (PostgreSQL, S3) that a retry may get past: 503, never 500. */
const BACKEND_UNAVAILABLE: ReadonlySet<string> = new Set(['METADATA_UNAVAILABLE', 'STORAGE_BACKEND_FAILED']);

function toRegistryError(error: unknown, requestId: string): RegistryError {
  if (error instanceof RegistryError) return error;
  if (isKilnError(error) && STORAGE_TO_REGISTRY[error.code]) return new RegistryError(STORAGE_TO_REGISTRY[error.code]!, error.message, { cause: error, detail: { ...error.detail } });
  if (isKilnError(error) && BACKEND_UNAVAILABLE.has(error.code)) {
    return new RegistryError('UNAVAILABLE', `storage backend unavailable; retry later (request ${requestId})`, { cause: error, detail: { requestId, backend: error.code }, headers: { 'retry-after': '1' } });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error | undefined)?.message === 'aborted') {
    return new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended early', { cause: error });
  }
  return new RegistryError('UNKNOWN', `internal error; see the registry log (request ${requestId})`, { cause: error, detail: { requestId } });
}

/** 409 for a push that would move, or a delete that would remove, an immutable tag; names the rule. */
function immutableTag(name: string, tag: string, rule: string, what: string): RegistryError {
  return new RegistryError('TAG_IMMUTABLE', `tag ${name}:${tag} is immutable (rule ${JSON.stringify(rule)}) and cannot be ${what}`, { detail: { repository: name, tag, rule } });
}

function notAllowed(method: string, allowed: string): RegistryError {
  return new RegistryError('METHOD_NOT_ALLOWED', `${method} is not allowed here (${allowed})`, { headers: { allow: allowed } });
}

/** The client's X-Request-Id when it is a short token (so it can be logged safely), else a fresh UUID. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

function checkUploadDigest(value: string): Digest {
  if (!isRegisteredDigest(value)) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${JSON.stringify(value.slice(0, 200))} (sha256 and sha512 are supported)`, { detail: { digest: value.slice(0, 200) } });
  return value;
}

function contentLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  return header === undefined ? undefined : Number(header);
}

function hasBody(req: IncomingMessage): boolean {
  const length = contentLength(req);
  return (length !== undefined && length > 0) || (length === undefined && req.headers['transfer-encoding'] !== undefined);
}

async function drainBody(req: IncomingMessage): Promise<void> {
  if (req.complete) return;
  for await (const _ of req) {
    // discard
  }
}

async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limit) throw new RegistryError('MANIFEST_TOO_LARGE', `manifest of ${declared} bytes exceeds the limit of ${limit}`, { detail: { size: declared, limit } });
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the limit of ${limit} bytes`, { detail: { limit } });
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headOnly = false): void {
  const body = Buffer.from(JSON.stringify(value));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', body.length);
  res.end(headOnly ? undefined : body);
}

function blobCreated(res: ServerResponse, name: string, digest: Digest): void {
  res.statusCode = 201;
  res.setHeader('Location', `/v2/${name}/blobs/${digest}`);
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('Content-Length', 0);
  res.end();
}

function uploadAccepted(res: ServerResponse, name: string, id: string, offset: number): void {
  res.statusCode = 202;
  res.setHeader('Location', `/v2/${name}/blobs/uploads/${id}`);
  res.setHeader('Range', `0-${Math.max(offset - 1, 0)}`);
  res.setHeader('Docker-Upload-UUID', id);
  res.setHeader('Content-Length', 0);
  res.end();
}

