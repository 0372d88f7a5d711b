import { createHash } from 'node:crypto';
import { isDigest, silentLogger, verifyChunks } from '../lib/index.ts';
import type { Digest, Logger } from '../lib/index.ts';
import { encodeJson, isIndexMediaType, MANIFEST_ACCEPT, ManifestProblem, MediaTypes, readManifestDocument, referenceIdentifier } from '../oci/index.ts';
import type { Descriptor, ImageIndex, ImageManifest, ImageReference, ManifestDocument } from '../oci/index.ts';
import { RegistryClientError } from './errors.ts';
import { withStallTimeout } from './stall-timeout.ts';
import type { CredentialLookup, RegistryCredentials } from './docker-config.ts';
import { isLoopbackRegistry, referrersFallbackTag, registryApiHost } from './format/endpoints.ts';

/** A repository on a registry: what every blob operation is scoped to. */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Where credentials come from; default anonymous. Use `dockerConfigCredentials()` for the
   *  Docker CLI's config.json. */
  credentials?: CredentialLookup;
  /** Allow plain HTTP to registries that are not on loopback (loopback always uses HTTP, as
   *  Docker does). HTTPS is tried first; on a connection/TLS failure the client retries over HTTP. */
  allowInsecure?: boolean;
  /** Chunk size for chunked uploads, bytes (default 8 MiB). */
  chunkSize?: number;
  /** Largest manifest accepted on pull, bytes (default 4 MiB, as registries enforce on push). */
  maxManifestBytes?: number;
  logger?: Logger;
  userAgent?: string;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Give up on a request when the registry sends no headers, or no body bytes, for this long
   *  (ms); default: wait as long as the connection stays open. */
  stallTimeoutMs?: number;
}

/** A manifest (or index) as pulled: its exact bytes, verified digest, media type and parsed body. */
export interface PulledManifest {
  bytes: Uint8Array;
  digest: Digest;
  mediaType: string;
  /** Parsed JSON; an image manifest or an index depending on `mediaType`. */
  manifest: ImageManifest | ImageIndex;
}

/** What a referrers listing returned and how. */
export interface ReferrersResult {
  manifests: Descriptor[];
  /** True when the registry answered the referrers API; false when the tag fallback was used. */
  viaApi: boolean;
}

/** Source bytes of a blob upload: whole bytes, or a stream of chunks read once. */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array>;

interface AuthState {
  scheme: 'none' | 'basic' | 'bearer';
  realm?: string;
  service?: string;
  tokens: Map<string, string>;
}

interface RequestOptions {
  method: string;
  url: string;
  repo?: RepositoryRef;
  actions?: string[];
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Extra scopes (mount source repository). */
  extraScopes?: string[];
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;
/** The largest OCI-Chunk-Min-Length the client honours (larger announcements are capped to this). */
const MAX_ANNOUNCED_CHUNK = 64 * 1024 * 1024;
const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;

/** An OCI distribution-spec client: resolve, pull and push manifests and blobs, list tags, list and
 *  attach referrers. Every pulled manifest and blob is checked against its digest before it is
 *  returned; streams fail at their end if the bytes do not match. Authentication follows the
 *  registry's challenge (Docker/OCI Bearer token or Basic), with credentials from `options.credentials`. */
export class RegistryClient {
  readonly #fetch: typeof fetch;
  readonly #credentials: CredentialLookup;
  readonly #allowInsecure: boolean;
  readonly #chunkSize: number;
  readonly #maxManifest: number;
  readonly #logger: Logger;
  readonly #userAgent: string;
  readonly #auth = new Map<string, AuthState>();
  readonly #scheme = new Map<string, 'http' | 'https'>();

  constructor(options: RegistryClientOptions = {}) {
    const base = options.fetch ?? globalThis.fetch;
    this.#fetch = options.stallTimeoutMs ? withStallTimeout(base, options.stallTimeoutMs) : base;
    this.#credentials = options.credentials ?? (async () => undefined);
    this.#allowInsecure = options.allowInsecure ?? false;
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
    this.#maxManifest = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    this.#logger = options.logger ?? silentLogger;
    this.#userAgent = options.userAgent ?? 'kiln';
  }

  /** `GET /v2/`: checks the registry answers the distribution API (authenticating if it asks). */
  async ping(registry: string): Promise<void> {
    const response = await this.#send({ method: 'GET', url: await this.#url(registry, '/v2/') });
    await this.#expect(response, [200], `ping ${registry}`);
  }

  /** Resolves a tag or digest to the manifest's descriptor with HEAD (GET when HEAD lacks the
   *  digest header). Undefined when the manifest does not exist. */
  async headManifest(ref: ImageReference): Promise<Descriptor | undefined> {
    const id = referenceIdentifier(ref);
    const response = await this.#send({
      method: 'HEAD',
      url: await this.#url(ref.registry, `/v2/${ref.repository}/manifests/${id}`),
      repo: ref,
      actions: ['pull'],
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
    });
    if (response.status === 404) return undefined;
    await this.#expect(response, [200], `HEAD manifest ${describe(ref)}`);
    const header = response.headers.get('docker-content-digest');
    const mediaType = stripParams(response.headers.get('content-type'));
    const size = Number(response.headers.get('content-length'));
    if (header && isDigest(header) && (ref.digest === undefined || header === ref.digest) && mediaType && Number.isInteger(size)) {
      return { mediaType, digest: header, size };
    }
    const pulled = await this.getManifest(ref);
    return { mediaType: pulled.mediaType, digest: pulled.digest, size: pulled.bytes.length };
  }

  /** Resolves a reference to the digest of its manifest; errors when it does not exist. */
  async resolve(ref: ImageReference): Promise<Descriptor> {
    const descriptor = await this.headManifest(ref);
    if (!descriptor) throw notFound(ref);
    return descriptor;
  }

  /** Pulls a manifest or index, verifying its bytes against the digest asked for (or the
   *  registry's `Docker-Content-Digest` when pulled by tag). */
  async getManifest(ref: ImageReference, accept: readonly string[] = MANIFEST_ACCEPT): Promise<PulledManifest> {
    const pulled = await this.getManifestIfExists(ref, accept);
    if (!pulled) throw notFound(ref);
    return pulled;
  }

  /** Like {@link getManifest} but undefined on 404. */
  async getManifestIfExists(ref: ImageReference, accept: readonly string[] = MANIFEST_ACCEPT): Promise<PulledManifest | undefined> {
    const id = referenceIdentifier(ref);
    const response = await this.#send({
      method: 'GET',
      url: await this.#url(ref.registry, `/v2/${ref.repository}/manifests/${id}`),
      repo: ref,
      actions: ['pull'],
      headers: { accept: accept.join(', ') },
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.#expect(response, [200], `GET manifest ${describe(ref)}`);
    const bytes = await readLimited(response, this.#maxManifest, `manifest ${describe(ref)}`);
    const header = response.headers.get('docker-content-digest');
    const expected = ref.digest ?? (header && isDigest(header) ? header : undefined);
    const algorithm = expected?.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
    if (expected !== undefined && expected !== digest) {
      throw new RegistryClientError('REGISTRY_DIGEST_MISMATCH', `manifest ${describe(ref)}: registry sent bytes with digest ${digest}, expected ${expected}`, {
        detail: { reference: describe(ref), expected, actual: digest },
      });
    }
    // The one manifest validator (src/oci): shape, media type, descriptors. The Content-Type header
    // counts only for a document that does not name its own media type.
    let document: ManifestDocument;
    try {
      document = readManifestDocument(bytes, stripParams(response.headers.get('content-type')) ?? MediaTypes.ociManifest, true);
    } catch (error) {
      if (!(error instanceof ManifestProblem)) throw error;
      throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `manifest ${describe(ref)} (${digest}): ${error.message}`, { cause: error, detail: { digest, field: error.field } });
    }
    const mediaType = document.mediaType;
    const manifest = document.index ?? document.manifest;
    return { bytes, digest, mediaType, manifest };
  }

  /** Pushes manifest bytes verbatim under a tag or (when `ref.digest` is set) by digest. Returns the
   *  digest and the `OCI-Subject` the registry reported (undefined when it has no referrers API). */
  async putManifest(ref: ImageReference, bytes: Uint8Array, mediaType: string): Promise<{ digest: Digest; subject?: string }> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    if (ref.digest !== undefined && ref.digest !== digest) {
      throw new RegistryClientError('REGISTRY_DIGEST_MISMATCH', `manifest for ${describe(ref)} hashes to ${digest}`, { detail: { expected: ref.digest, actual: digest } });
    }
    const id = ref.digest ?? ref.tag ?? digest;
    const response = await this.#send({
      method: 'PUT',
      url: await this.#url(ref.registry, `/v2/${ref.repository}/manifests/${id}`),
      repo: ref,
      actions: ['pull', 'push'],
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    await this.#expect(response, [200, 201], `PUT manifest ${describe({ ...ref, ...(ref.digest ? {} : { tag: id }) })}`);
    await response.body?.cancel();
    const subject = response.headers.get('oci-subject') ?? undefined;
    return { digest, ...(subject ? { subject } : {}) };
  }

  /** Pushes a JSON manifest/index value (compact JSON) and returns its descriptor. */
  async putManifestJson(ref: ImageReference, value: ImageManifest | ImageIndex): Promise<Descriptor & { subject?: string }> {
    const mediaType = value.mediaType ?? ('manifests' in value ? MediaTypes.ociIndex : MediaTypes.ociManifest);
    const bytes = encodeJson(value);
    const result = await this.putManifest(ref, bytes, mediaType);
    return { mediaType, digest: result.digest, size: bytes.length, ...(result.subject ? { subject: result.subject } : {}) };
  }

  /** Deletes a manifest by tag or digest (registries may refuse with UNSUPPORTED). */
  async deleteManifest(ref: ImageReference): Promise<void> {
    const response = await this.#send({
      method: 'DELETE',
      url: await this.#url(ref.registry, `/v2/${ref.repository}/manifests/${referenceIdentifier(ref)}`),
      repo: ref,
      actions: ['delete'],
    });
    await this.#expect(response, [200, 202], `DELETE manifest ${describe(ref)}`);
    await response.body?.cancel();
  }

  /** `HEAD` a blob: true when the repository has it. */
  async blobExists(repo: RepositoryRef, digest: Digest): Promise<boolean> {
    const response = await this.#send({ method: 'HEAD', url: await this.#url(repo.registry, `/v2/${repo.repository}/blobs/${digest}`), repo, actions: ['pull'] });
    if (response.status === 404) return false;
    await this.#expect(response, [200], `HEAD blob ${repo.registry}/${repo.repository}@${digest}`);
    return true;
  }

  /** Streams a blob; the iterator throws REGISTRY_DIGEST_MISMATCH at the end if the bytes do not
   *  hash to `digest`, so a consumer must treat nothing as trusted until the iteration completes. */
  async *openBlob(repo: RepositoryRef, digest: Digest): AsyncGenerator<Uint8Array> {
    const where = `${repo.registry}/${repo.repository}@${digest}`;
    const response = await this.#send({ method: 'GET', url: await this.#url(repo.registry, `/v2/${repo.repository}/blobs/${digest}`), repo, actions: ['pull'] });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new RegistryClientError('BLOB_NOT_FOUND', `blob ${where} not found`, { detail: { digest, repository: `${repo.registry}/${repo.repository}` } });
    }
    await this.#expect(response, [200], `GET blob ${where}`);
    const body = (response.body ?? (async function* () {})()) as unknown as AsyncIterable<Uint8Array>;
    yield* verifyChunks(body, digest, (actual) => new RegistryClientError('REGISTRY_DIGEST_MISMATCH', `blob ${where}: registry sent bytes with digest ${actual}`, { detail: { expected: digest, actual } }));
  }

  /** Pulls a whole blob into memory (verified); `maxBytes` guards against huge blobs. */
  async getBlob(repo: RepositoryRef, digest: Digest, maxBytes = 64 * 1024 * 1024): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this.openBlob(repo, digest)) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `blob ${repo.registry}/${repo.repository}@${digest} is larger than ${maxBytes} bytes`, { detail: { digest } });
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /** Tries a cross-repository mount of `digest` from `fromRepository` (same registry). True when
   *  the registry mounted it; false when it opened an upload instead (that session is abandoned). */
  async mountBlob(repo: RepositoryRef, digest: Digest, fromRepository: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from: fromRepository });
    const response = await this.#send({
      method: 'POST',
      url: await this.#url(repo.registry, `/v2/${repo.repository}/blobs/uploads/?${query}`),
      repo,
      actions: ['pull', 'push'],
      extraScopes: [`repository:${fromRepository}:pull`],
    });
    await this.#expect(response, [201, 202], `mount ${digest} from ${fromRepository} into ${repo.repository}`);
    await response.body?.cancel();
    if (response.status === 201) return true;
    const location = response.headers.get('location');
    if (location) {
      // Cancel the session the registry opened instead; registries that lack cancel just expire it.
      const cancel = await this.#send({ method: 'DELETE', url: resolveLocation(response.url, location), repo, actions: ['pull', 'push'] }).catch(() => undefined);
      await cancel?.body?.cancel();
    }
    return false;
  }

  /** Uploads a blob unless the repository already has it. Bytes up to the chunk size go in one
   *  PUT (POST + PUT); larger sources and streams are sent as ordered PATCH chunks. The digest is
   *  computed while sending and checked against `options.digest` when given. `mountFrom` tries a
   *  cross-repository mount first. For a stream whose blob already exists, the returned size is
   *  `options.size` (or -1 when not given). */
  async pushBlob(repo: RepositoryRef, source: BlobSource, options: { digest?: Digest; size?: number; mediaType?: string; mountFrom?: string; chunked?: boolean } = {}): Promise<Descriptor> {
    const mediaType = options.mediaType ?? 'application/octet-stream';
    if (source instanceof Uint8Array) {
      const digest = `sha256:${createHash('sha256').update(source).digest('hex')}` as Digest;
      if (options.digest !== undefined && options.digest !== digest) {
        throw new RegistryClientError('REGISTRY_DIGEST_MISMATCH', `blob for ${repo.repository} hashes to ${digest}, not ${options.digest}`, { detail: { expected: options.digest, actual: digest } });
      }
      const descriptor: Descriptor = { mediaType, digest, size: source.length };
      if (await this.blobExists(repo, digest)) return descriptor;
      if (options.mountFrom && (await this.mountBlob(repo, digest, options.mountFrom))) return descriptor;
      if (!options.chunked && source.length <= this.#chunkSize) {
        const { location } = await this.#startUpload(repo);
        await this.#finishUpload(repo, location, digest, source);
        return descriptor;
      }
      return this.#chunkedUpload(repo, chunksOf(source, this.#chunkSize), mediaType, digest);
    }
    if (options.digest !== undefined) {
      const known: Descriptor = { mediaType, digest: options.digest, size: options.size ?? -1 };
      if (await this.blobExists(repo, options.digest)) return known;
      if (options.mountFrom && (await this.mountBlob(repo, options.digest, options.mountFrom))) return known;
    }
    const pushed = await this.#chunkedUpload(repo, source, mediaType, options.digest);
    if (options.size !== undefined && pushed.size !== options.size) {
      throw new RegistryClientError('REGISTRY_REQUEST_FAILED', `streamed blob ${pushed.digest} was ${pushed.size} bytes, declared ${options.size}`, { detail: { digest: pushed.digest } });
    }
    return pushed;
  }

  /** Lists all tags of a repository, following `Link` pagination. */
  async listTags(repo: RepositoryRef, pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = await this.#url(repo.registry, `/v2/${repo.repository}/tags/list?n=${pageSize}`);
    while (url) {
      const response = await this.#send({ method: 'GET', url, repo, actions: ['pull'] });
      if (response.status === 404) {
        await response.body?.cancel();
        return tags;
      }
      await this.#expect(response, [200], `list tags of ${repo.registry}/${repo.repository}`);
      const body = (await readJson(response, 16 * 1024 * 1024, `tag list of ${repo.repository}`)) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      url = nextLink(response);
    }
    return tags;
  }

  /** Lists the manifests whose `subject` is `digest`: the referrers API when the registry has it
   *  (404 means it does not), else the fallback index at tag `sha256-<hex>`. */
  async referrers(repo: RepositoryRef, digest: Digest, options: { artifactType?: string } = {}): Promise<ReferrersResult> {
    const query = options.artifactType ? `?${new URLSearchParams({ artifactType: options.artifactType })}` : '';
    let url: string | undefined = await this.#url(repo.registry, `/v2/${repo.repository}/referrers/${digest}${query}`);
    const manifests: Descriptor[] = [];
    let first = true;
    let filtered = false;
    while (url) {
      const response = await this.#send({ method: 'GET', url, repo, actions: ['pull'], headers: { accept: MediaTypes.ociIndex } });
      if (first && (response.status === 404 || response.status === 405)) {
        await response.body?.cancel();
        const fallback = await this.getManifestIfExists({ ...repo, tag: referrersFallbackTag(digest) }, [MediaTypes.ociIndex]);
        const list = fallback && isIndexMediaType(fallback.mediaType) ? (fallback.manifest as ImageIndex).manifests ?? [] : [];
        return { manifests: filterArtifactType(list, options.artifactType), viaApi: false };
      }
      await this.#expect(response, [200], `referrers of ${repo.registry}/${repo.repository}@${digest}`);
      filtered ||= (response.headers.get('oci-filters-applied') ?? '').includes('artifactType');
      const index = (await readJson(response, this.#maxManifest, `referrers of ${digest}`)) as ImageIndex;
      manifests.push(...(index.manifests ?? []));
      url = nextLink(response);
      first = false;
    }
    return { manifests: filtered ? manifests : filterArtifactType(manifests, options.artifactType), viaApi: true };
  }

  /** Pushes a manifest that has a `subject` by digest, and when the registry does not confirm it
   *  indexed the subject (no `OCI-Subject`), adds it to the fallback index tag `sha256-<hex>`
   *  (read, append unless present, write back). Returns the referrer's descriptor. */
  async pushReferrer(repo: RepositoryRef, manifest: ImageManifest | ImageIndex): Promise<Descriptor & { viaApi: boolean }> {
    if (!manifest.subject) throw new RegistryClientError('REGISTRY_REQUEST_FAILED', 'pushReferrer needs a manifest with a subject', {});
    const bytes = encodeJson(manifest);
    const mediaType = manifest.mediaType ?? ('manifests' in manifest ? MediaTypes.ociIndex : MediaTypes.ociManifest);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    const pushed = await this.putManifest({ ...repo, digest }, bytes, mediaType);
    const artifactType = manifest.artifactType ?? ('config' in manifest ? manifest.config.mediaType : undefined);
    const descriptor: Descriptor = {
      mediaType,
      digest,
      size: bytes.length,
      ...(artifactType ? { artifactType } : {}),
      ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
    };
    if (pushed.subject) return { ...descriptor, viaApi: true };
    const tag = referrersFallbackTag(manifest.subject.digest);
    const existing = await this.getManifestIfExists({ ...repo, tag }, [MediaTypes.ociIndex]);
    const list = existing && isIndexMediaType(existing.mediaType) ? ((existing.manifest as ImageIndex).manifests ?? []) : [];
    if (!list.some((entry) => entry.digest === digest)) {
      const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...list, descriptor] };
      await this.putManifestJson({ ...repo, tag }, index);
    }
    return { ...descriptor, viaApi: false };
  }

  /** Opens an upload session: its URL, and the registry's `OCI-Chunk-Min-Length` when it sent one. */
  async #startUpload(repo: RepositoryRef): Promise<{ location: string; minChunk: number | undefined }> {
    const response = await this.#send({ method: 'POST', url: await this.#url(repo.registry, `/v2/${repo.repository}/blobs/uploads/`), repo, actions: ['pull', 'push'] });
    await this.#expect(response, [202], `start upload to ${repo.registry}/${repo.repository}`);
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `start upload to ${repo.registry}/${repo.repository}: 202 without Location`, {});
    const announced = Number(response.headers.get('oci-chunk-min-length') ?? Number.NaN);
    return { location: resolveLocation(response.url, location), minChunk: Number.isSafeInteger(announced) && announced > 0 ? announced : undefined };
  }

  async #finishUpload(repo: RepositoryRef, location: string, digest: Digest, body?: Uint8Array): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const response = await this.#send({
      method: 'PUT',
      url: url.toString(),
      repo,
      actions: ['pull', 'push'],
      headers: { 'content-type': 'application/octet-stream' },
      body: body ?? new Uint8Array(0),
    });
    await this.#expect(response, [201, 204], `finish upload of ${digest} to ${repo.registry}/${repo.repository}`);
    await response.body?.cancel();
  }

  async #chunkedUpload(repo: RepositoryRef, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, mediaType: string, expected?: Digest): Promise<Descriptor> {
    const started = await this.#startUpload(repo);
    let location = started.location;
    // Non-final chunks at least as long as the registry's OCI-Chunk-Min-Length (bounded, so a hostile
    // registry cannot make the client buffer without limit).
    const chunkSize = Math.max(this.#chunkSize, Math.min(started.minChunk ?? 0, MAX_ANNOUNCED_CHUNK));
    const hash = createHash('sha256');
    let offset = 0;
    let pending: Uint8Array[] = [];
    let pendingSize = 0;
    const flush = async (): Promise<void> => {
      if (pendingSize === 0) return;
      const chunk = Buffer.concat(pending, pendingSize);
      pending = [];
      pendingSize = 0;
      const response = await this.#send({
        method: 'PATCH',
        url: location,
        repo,
        actions: ['pull', 'push'],
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
        body: chunk,
      });
      await this.#expect(response, [202, 204], `upload chunk ${offset}-${offset + chunk.length - 1} to ${repo.registry}/${repo.repository}`);
      await response.body?.cancel();
      offset += chunk.length;
      const next = response.headers.get('location');
      if (next) location = resolveLocation(response.url, next);
    };
    for await (const piece of source) {
      hash.update(piece);
      let start = 0;
      while (start < piece.length) {
        const take = Math.min(piece.length - start, chunkSize - pendingSize);
        pending.push(piece.subarray(start, start + take));
        pendingSize += take;
        start += take;
        if (pendingSize >= chunkSize) await flush();
      }
    }
    await flush();
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    if (expected !== undefined && expected !== digest) {
      throw new RegistryClientError('REGISTRY_DIGEST_MISMATCH', `streamed blob for ${repo.repository} hashed to ${digest}, not ${expected}; upload abandoned`, { detail: { expected, actual: digest } });
    }
    await this.#finishUpload(repo, location, digest);
    return { mediaType, digest, size: offset };
  }

  async #url(registry: string, path: string): Promise<string> {
    const host = registryApiHost(registry);
    let scheme = this.#scheme.get(host);
    if (!scheme) {
      if (isLoopbackRegistry(host)) scheme = 'http';
      else if (!this.#allowInsecure) scheme = 'https';
      else {
        scheme = 'https';
        try {
          const probe = await this.#fetch(`https://${host}/v2/`, { method: 'GET', redirect: 'manual' });
          await probe.body?.cancel();
        } catch {
          this.#logger.warn({ registry: host }, 'https failed; using plain http as allowed');
          scheme = 'http';
        }
      }
      this.#scheme.set(host, scheme);
    }
    return `${scheme}://${host}${path}`;
  }

  /** Sends a request, answering auth challenges once, following redirects without forwarding
   *  credentials to another host. */
  async #send(options: RequestOptions): Promise<Response> {
    const host = new URL(options.url).host;
    const scope = options.repo && options.actions ? [`repository:${options.repo.repository}:${options.actions.join(',')}`, ...(options.extraScopes ?? [])] : [];
    const scopeKey = scope.join(' ');
    let authorization = await this.#authorizationFor(host, scopeKey);
    const replayable = !(options.body && !(options.body instanceof Uint8Array));
    let response = await this.#fetchFollowing(options, authorization);
    if (response.status === 401 && replayable) {
      const challenge = response.headers.get('www-authenticate') ?? '';
      await response.body?.cancel();
      authorization = await this.#answerChallenge(host, options.url, challenge, scope, scopeKey);
      response = await this.#fetchFollowing(options, authorization);
      if (response.status === 401) {
        const detail = await errorSummary(response);
        throw new RegistryClientError('REGISTRY_AUTH_FAILED', `${options.method} ${pathOf(options.url)} on ${host}: registry refused the credentials (401${detail})`, { detail: { registry: host } });
      }
    }
    if (response.status === 403) {
      const detail = await errorSummary(response);
      throw new RegistryClientError('REGISTRY_DENIED', `${options.method} ${pathOf(options.url)} on ${host}: access denied (403${detail})`, { detail: { registry: host } });
    }
    return response;
  }

  async #fetchFollowing(options: RequestOptions, authorization: string | undefined): Promise<Response> {
    let url = options.url;
    const origin = new URL(url).host;
    for (let hop = 0; hop < 6; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...(options.headers ?? {}) };
      if (authorization && new URL(url).host === origin) headers.authorization = authorization;
      if (options.body instanceof Uint8Array) headers['content-length'] = String(options.body.length);
      let response: Response;
      try {
        response = await this.#fetchRetrying(url, options.method, {
          method: options.method,
          headers,
          redirect: 'manual',
          ...(options.body === undefined ? {} : { body: options.body as BodyInit, duplex: 'half' }),
        } as RequestInit);
      } catch (error) {
        throw new RegistryClientError('REGISTRY_UNREACHABLE', `${options.method} ${url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, {
          cause: error,
          detail: { url },
        });
      }
      if (response.status >= 300 && response.status < 400 && response.status !== 304 && response.headers.get('location') && (options.method === 'GET' || options.method === 'HEAD')) {
        await response.body?.cancel();
        url = resolveLocation(url, response.headers.get('location')!);
        continue;
      }
      return response;
    }
    throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `${options.method} ${options.url}: too many redirects`, { detail: { url: options.url } });
  }

  /** Reads (GET/HEAD) are retried twice on connection errors and 429/502/503/504, with a short
   *  backoff; writes are not, since a registry may have applied them. */
  async #fetchRetrying(url: string, method: string, init: RequestInit): Promise<Response> {
    const idempotent = method === 'GET' || method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      const last = !idempotent || attempt >= 2;
      try {
        const response = await this.#fetch(url, init);
        if (last || ![429, 502, 503, 504].includes(response.status)) return response;
        await response.body?.cancel();
      } catch (error) {
        if (last) throw error;
      }
      this.#logger.debug({ url, attempt }, 'retrying registry read');
      await new Promise((resolve) => setTimeout(resolve, 200 * 3 ** attempt));
    }
  }

  async #authorizationFor(host: string, scopeKey: string): Promise<string | undefined> {
    const state = this.#auth.get(host);
    if (!state || state.scheme === 'none') return undefined;
    if (state.scheme === 'basic') return basicHeader(await this.#credentials(registryNameOf(host)));
    const token = state.tokens.get(scopeKey);
    return token ? `Bearer ${token}` : undefined;
  }

  async #answerChallenge(host: string, url: string, challenge: string, scope: string[], scopeKey: string): Promise<string | undefined> {
    const parsed = parseChallenge(challenge);
    const credentials = await this.#credentials(registryNameOf(host));
    if (parsed.scheme === 'basic') {
      this.#auth.set(host, { scheme: 'basic', tokens: new Map() });
      if (!credentials?.username) {
        throw new RegistryClientError('REGISTRY_AUTH_FAILED', `${host} asks for a username and password and none are configured (docker login ${host}, or DOCKER_CONFIG)`, { detail: { registry: host } });
      }
      return basicHeader(credentials);
    }
    if (parsed.scheme !== 'bearer' || !parsed.params.realm) {
      throw new RegistryClientError('REGISTRY_AUTH_FAILED', `${host}: unsupported authentication challenge ${JSON.stringify(challenge)} for ${pathOf(url)}`, { detail: { registry: host } });
    }
    if (credentials?.registryToken) return `Bearer ${credentials.registryToken}`;
    const scopes = scope.length ? scope : parsed.params.scope ? [parsed.params.scope] : [];
    const token = await this.#fetchToken(host, parsed.params.realm, parsed.params.service, scopes, credentials);
    const state = this.#auth.get(host) ?? { scheme: 'bearer' as const, tokens: new Map<string, string>() };
    state.scheme = 'bearer';
    state.realm = parsed.params.realm;
    if (parsed.params.service !== undefined) state.service = parsed.params.service;
    state.tokens.set(scopeKey, token);
    this.#auth.set(host, state);
    return `Bearer ${token}`;
  }

  async #fetchToken(host: string, realm: string, service: string | undefined, scopes: string[], credentials: RegistryCredentials | undefined): Promise<string> {
    let response: Response;
    try {
      if (credentials?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'kiln', scope: scopes.join(' ') });
        if (service) form.set('service', service);
        response = await this.#fetch(realm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': this.#userAgent }, body: form.toString() });
      } else {
        const url = new URL(realm);
        if (service) url.searchParams.set('service', service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        const headers: Record<string, string> = { 'user-agent': this.#userAgent };
        const basic = basicHeader(credentials);
        if (basic) headers.authorization = basic;
        response = await this.#fetch(url, { headers });
      }
    } catch (error) {
      throw new RegistryClientError('REGISTRY_UNREACHABLE', `token service ${realm} for ${host}: ${(error as Error).message}`, { cause: error, detail: { realm } });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new RegistryClientError('REGISTRY_AUTH_FAILED', `token service ${realm} for ${host} answered ${response.status}${credentials ? ' (check the credentials for this registry)' : ' (no credentials configured)'}`, { detail: { realm, status: response.status } });
    }
    const body = (await readJson(response, 1 << 20, `token from ${realm}`)) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryClientError('REGISTRY_AUTH_FAILED', `token service ${realm} answered without a token`, { detail: { realm } });
    return token;
  }

  async #expect(response: Response, ok: number[], what: string): Promise<void> {
    if (ok.includes(response.status)) return;
    const detail = await errorSummary(response);
    const code = response.status !== 404 ? 'REGISTRY_REQUEST_FAILED' : what.includes('manifest') ? 'MANIFEST_NOT_FOUND' : what.includes('blob') ? 'BLOB_NOT_FOUND' : 'REGISTRY_REQUEST_FAILED';
    throw new RegistryClientError(code, `${what}: registry answered ${response.status}${detail}`, { detail: { status: response.status, url: response.url } });
  }
}

function describe(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag && !ref.digest ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function notFound(ref: ImageReference): RegistryClientError {
  return new RegistryClientError('MANIFEST_NOT_FOUND', `manifest ${describe(ref)} not found`, { detail: { reference: describe(ref) } });
}

function registryNameOf(host: string): string {
  return host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function stripParams(value: string | null): string | undefined {
  return value ? value.split(';')[0]!.trim() : undefined;
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

function basicHeader(credentials: RegistryCredentials | undefined): string | undefined {
  if (!credentials?.username) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`;
}

function resolveLocation(base: string, location: string): string {
  return new URL(location, base).toString();
}

function nextLink(response: Response): string | undefined {
  const link = response.headers.get('link');
  const match = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  return match ? resolveLocation(response.url, match[1]!) : undefined;
}

function filterArtifactType(list: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? list.filter((entry) => entry.artifactType === artifactType) : list;
}

function* chunksOf(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
  if (bytes.length === 0) yield bytes;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may contain commas). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).trim().toLowerCase();
  const params: Record<string, string> = {};
  const rest = space < 0 ? '' : header.slice(space + 1);
  for (const match of rest.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[match[1]!.toLowerCase()] = (match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

async function readLimited(response: Response, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `${what}: ${declared} bytes exceeds the ${limit}-byte limit`, { detail: { limit } });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > limit) throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `${what}: more than the ${limit}-byte limit`, { detail: { limit } });
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks, total);
}

async function readJson(response: Response, limit: number, what: string): Promise<unknown> {
  const bytes = await readLimited(response, limit, what);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new RegistryClientError('REGISTRY_RESPONSE_INVALID', `${what}: not JSON`, { cause: error });
  }
}

/** `: CODE message` from an OCI error body, or '' when there is none. */
async function errorSummary(response: Response): Promise<string> {
  try {
    const text = (await response.text()).slice(0, 4096);
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const errors = parsed.errors?.map((entry) => `${entry.code ?? 'UNKNOWN'}${entry.message ? ` ${entry.message}` : ''}`) ?? [];
    return errors.length ? `: ${errors.join('; ')}` : '';
  } catch {
    return '';
  }
}
