import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { collectDefaultMetrics, Counter, Registry as MetricsRegistry } from 'prom-client';
import { isProcessAlive, readInputFile, writeFileAtomic } from '../lib/index.ts';
import type { Digest, Logger } from '../lib/index.ts';
import { WebhookSink } from '../events/index.ts';
import { RegistryClient } from '../registry-client/index.ts';
import type { RegistryEvent } from '../events/index.ts';
import { loadPostgresDriver, redactUrl, SqliteMetadataStore } from '../metadata/index.ts';
import type { MetadataStore } from '../metadata/index.ts';
import { AccessController, clientAddress, collectGarbage, isLoopback, KeyedMutex, loadHtpasswd, RegistryError, RegistryServer, repositoryGlob } from '../registry/index.ts';
import type { AccessConfig, GcOptions, GcReport, KeyedLock, Principal, PullThroughRule, TokenSettings, Upstream } from '../registry/index.ts';
import { FsBlobStore, loadS3BlobStore } from '../storage/index.ts';
import type { BlobStore } from '../storage/index.ts';
import { parseAddr } from './registry-config.ts';
import type { RegistryConfig } from './registry-config.ts';

/** The smallest S3 multipart part: chunks at least this long are assembled inside S3 without re-reading. */
const S3_MIN_PART = 5 * 1024 * 1024;

/** Something served beside the registry API on the same listener (the web catalog of `--catalog`). */
export interface RegistryExtension {
  /** Called once the server listens, with the stores and the registry's URL; returns a handler that
   *  serves a request and returns true, or returns false to leave it to the registry. */
  attach(context: { blobs: BlobStore; metadata: MetadataStore; url: string; isOpen: boolean; trustProxy: boolean }): Promise<(req: IncomingMessage, res: ServerResponse) => boolean>;
}

/** A running registry: its address, and a graceful stop that lets running requests finish. */
export interface RunningRegistry {
  url: string;
  port: number;
  server: Server;
  registry: RegistryServer;
  close(): Promise<void>;
  /** Runs one garbage-collection pass now with the configured policy. */
  collectGarbage(overrides?: Partial<GcOptions>): Promise<GcReport>;
}

/** Creates the pino logger the registry logs through (JSON lines on stderr). */
export function createRegistryLogger(level: string): Logger & { level: string } {
  return pino({ level, base: { service: 'kiln-registry' } }, pino.destination({ fd: 2, sync: false }));
}

async function tokenSettings(config: RegistryConfig, baseUrl: string): Promise<TokenSettings | undefined> {
  const token = config.auth.token;
  if (!token) return undefined;
  const keyPath = token.key ?? join(config.dataDir, 'token-key.pem');
  let pem = await readFile(keyPath, 'utf8').catch(() => undefined);
  if (pem === undefined) {
    if (token.key) throw new RegistryError('CONFIG_INVALID', `${keyPath}: cannot read auth.token.key`, { detail: { path: keyPath } });
    pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeFileAtomic(keyPath, pem, { mode: 0o600 });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new RegistryError('CONFIG_INVALID', `${keyPath}: not a PEM private key`, { cause: error, detail: { path: keyPath } });
  }
  if (privateKey.asymmetricKeyType !== 'ec') throw new RegistryError('CONFIG_INVALID', `${keyPath}: the token key must be an EC P-256 key (ES256)`, { detail: { path: keyPath } });
  return { realm: token.realm ?? `${baseUrl}/auth/token`, service: token.service, issuer: token.issuer, expiresInSeconds: token.expiresIn, privateKey, publicKey: createPublicKey(privateKey) };
}

/** Composition root of `kiln registry serve`: config → blob store (filesystem or S3), metadata
 *  (SQLite or PostgreSQL), access control, metrics, HTTP(S) server, online GC. */
export async function startRegistry(config: RegistryConfig, logger: Logger, extension?: RegistryExtension): Promise<RunningRegistry> {
  const { host, port } = parseAddr(config.addr);
  const tls = config.http.tls ? { cert: await readConfigured(config.http.tls.certificate, 'http.tls.certificate', config), key: await readConfigured(config.http.tls.key, 'http.tls.key', config) } : undefined;
  const scheme = tls ? 'https' : 'http';
  const { blobs, metadata, digestLocks, closeStores, blobRedirect } = await openStores(config, logger);
  const users = config.auth.htpasswd ? await loadHtpasswd(config.auth.htpasswd) : new Map<string, string>();
  const open = users.size === 0;
  const displayHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const accessConfig: AccessConfig = { open, users, rules: config.auth.access };
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });
  let server: Server | undefined;
  const access = new AccessController(accessConfig);
  // The source of events names this registry; the real port is known only after listening.
  let sourceUrl = `${scheme}://${displayHost}:${port}`;
  const webhooks = createWebhookSink(config, logger, () => sourceUrl);
  try {
    const registry = new RegistryServer({
      ...(webhooks ? { events: webhooks } : {}),
      blobs,
      metadata,
      access,
      logger,
      metrics,
      digestLocks,
      ...(blobRedirect ? { blobRedirect } : {}),
      settings: {
        deleteEnabled: config.storage.delete.enabled,
        maxManifestBytes: config.http.maxManifestBytes,
        maxNameLength: config.http.maxNameLength,
        maxPageSize: config.http.maxPageSize,
        rateLimit: config.http.rateLimit,
        trustProxy: config.http.trustProxy,
        chunkMinLength: config.http.chunkMinLength ?? (config.storage.driver === 's3' ? S3_MIN_PART : 0),
        immutableTags: config.tags.immutable,
        pullEvents: config.events.webhooks.some((hook) => hook.actions.includes('pull')),
        pullThrough: config.proxy.map((rule): PullThroughRule => ({
          repository: rule.repository,
          upstream: upstreamOf(rule.upstream, rule.username !== undefined && rule.password !== undefined ? { username: rule.username, password: rule.password } : undefined, rule.timeout * 1000),
          stripPrefix: rule.stripPrefix,
          addPrefix: rule.addPrefix,
          revalidateAfterMs: rule.revalidateAfter * 1000,
        })),
      },
    });
    const gcRuns = new Counter({ name: 'kiln_registry_gc_runs_total', help: 'Garbage-collection passes', registers: [metrics] });
    const gcDeleted = new Counter({ name: 'kiln_registry_gc_deleted_total', help: 'Objects removed by garbage collection', labelNames: ['type'], registers: [metrics] });
    const gcOptions: GcOptions = gcOptionsOf(config);
    const runGc = async (overrides: Partial<GcOptions> = {}): Promise<GcReport> => {
      const report = await collectGarbage({ blobs, metadata, logger, digestLocks }, { ...gcOptions, ...overrides }, Date.now());
      gcRuns.inc();
      gcDeleted.inc({ type: 'manifest' }, report.manifestsDeleted.length);
      gcDeleted.inc({ type: 'blob' }, report.blobsDeleted.length);
      gcDeleted.inc({ type: 'upload' }, report.uploadsExpired.length);
      return report;
    };
    const serveMetrics = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      // The same address the registry judges by: behind a proxy on this host every socket is loopback.
      const remote = clientAddress(req, req.socket?.remoteAddress ?? 'unknown', config.http.trustProxy);
      let principal: Principal;
      try {
        principal = await access.authenticate(req.headers.authorization, remote);
      } catch {
        principal = { remoteAddress: remote };
      }
      if (!mayReadMetrics(config.metrics, open, principal)) {
        const status = principal.user === undefined && !open ? 401 : 403;
        res.statusCode = status;
        if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="kiln-registry"');
        res.setHeader('Content-Type', 'text/plain');
        res.end(status === 401 ? 'authentication required\n' : 'metrics are not available to this client\n');
        return;
      }
      const text = await metrics.metrics();
      res.setHeader('Content-Type', metrics.contentType);
      res.end(text);
    };
    let extra: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz') {
        res.setHeader('Content-Type', 'application/json');
        res.end('{"status":"ok"}');
        return;
      }
      if (path === '/metrics' && config.metrics.enabled) {
        serveMetrics(req, res).catch((error: unknown) => {
          logger.error({ err: error }, 'metrics request failed');
          if (!res.headersSent) res.statusCode = 500;
          res.end();
        });
        return;
      }
      if (extra?.(req, res)) return;
      registry.handle(req, res);
    };
    server = tls ? createHttpsServer({ ...tls }, listener) : createHttpServer(listener);
    // Requests the HTTP parser rejects (bad bytes in the path, oversized headers) still get a spec body.
    server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
      if (!socket.writable) return socket.destroy();
      const isHead = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      const body = JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: `malformed HTTP request: ${error.code ?? 'parse error'}` }] });
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nDocker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n\r\n${isHead ? '' : body}`);
    });
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0;
    await new Promise<void>((resolvePromise, reject) => {
      server!.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, config.addr)));
      server!.listen(port, host, () => resolvePromise());
    });
    const actualPort = (server.address() as AddressInfo).port;
    const url = `${scheme}://${displayHost}:${actualPort}`;
    sourceUrl = url;
    if (extension) extra = await extension.attach({ blobs, metadata, url, isOpen: open, trustProxy: config.http.trustProxy });
    const token = await tokenSettings(config, url);
    if (token) accessConfig.token = token;
    if (open) {
      logger.warn(
        { addr: config.addr, loopbackOnly: true },
        isLoopback(host) || host === 'localhost'
          ? 'no auth configured: anonymous pull and push allowed for loopback clients only'
          : 'no auth configured: anonymous pull and push allowed for loopback clients only; every other client is denied until auth.htpasswd is set',
      );
    }
    // Online GC when enabled; otherwise still expire abandoned upload sessions so they cannot fill the disk.
    const gcTimer = setInterval(
      () => {
        runGc(config.gc.online ? {} : { uploadsOnly: true }).catch((error: unknown) => logger.error({ err: error }, 'garbage collection failed'));
      },
      (config.gc.online ? config.gc.interval : 3600) * 1000,
    );
    gcTimer.unref();
    await writeFileAtomic(pidFile(config), `${process.pid}\n`);
    logger.info({ url, dataDir: config.dataDir, storage: config.storage.driver, metadata: config.metadata.driver, tls: Boolean(tls), auth: open ? 'none' : token ? 'token' : 'basic', deletes: config.storage.delete.enabled }, 'registry listening');
    const httpServer = server;
    let closing: Promise<void> | undefined;
    return {
      url,
      port: actualPort,
      server: httpServer,
      registry,
      collectGarbage: runGc,
      close: () => {
        closing ??= (async () => {
          clearInterval(gcTimer);
          registry.drain();
          const closed = new Promise<void>((resolvePromise) => httpServer.close(() => resolvePromise()));
          // A keep-alive connection whose last response finishes after close() began is idle only
          // from then on: sweep idle connections until the server is closed, so shutdown waits for
          // running requests, not for clients that keep sockets open.
          httpServer.closeIdleConnections();
          const sweeper = setInterval(() => httpServer.closeIdleConnections(), 100);
          const timer = setTimeout(() => httpServer.closeAllConnections(), config.http.shutdownTimeout * 1000);
          await closed;
          clearInterval(sweeper);
          clearTimeout(timer);
          // Events still queued get a few seconds, then stay in the outbox for the next start.
          await webhooks?.close(Math.min(config.http.shutdownTimeout * 1000, 5000));
          await closeStores();
          await rm(pidFile(config), { force: true });
          logger.info({}, 'registry stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    server?.close();
    await webhooks?.close(0);
    await closeStores();
    throw error;
  }
}

/** An upstream registry reached through Kiln's registry client (token and basic auth, digests
 *  verified on every manifest and blob). */
function upstreamOf(url: string, credentials: { username: string; password: string } | undefined, stallTimeoutMs: number): Upstream {
  const parsed = new URL(url);
  const registry = parsed.host;
  const client = new RegistryClient({ allowInsecure: parsed.protocol === 'http:', stallTimeoutMs, ...(credentials ? { credentials: async () => credentials } : {}) });
  return {
    name: url,
    manifest: async (repository, reference) => {
      const pulled = await client.getManifestIfExists(reference.includes(':') ? { registry, repository, digest: reference as Digest } : { registry, repository, tag: reference });
      return pulled && { bytes: pulled.bytes, digest: pulled.digest, mediaType: pulled.mediaType };
    },
    blob: (repository, digest) => client.openBlob({ registry, repository }, digest),
  };
}

/** Event type → the config's action name. */
const ACTION_OF: Readonly<Record<RegistryEvent['type'], 'push' | 'delete' | 'pull'>> = { 'manifest.pushed': 'push', 'manifest.deleted': 'delete', 'tag.deleted': 'delete', 'manifest.pulled': 'pull' };

/** The configured webhooks as one sink, or undefined when there are none. */
function createWebhookSink(config: RegistryConfig, logger: Logger, source: () => string): WebhookSink | undefined {
  // Registry state, so in the data directory even when the dead-letter log is configured elsewhere.
  const outboxPath = join(config.dataDir, 'events-outbox.jsonl');
  // With no webhooks left, a sink is still made for an outbox on disk: it dead-letters what it holds.
  if (config.events.webhooks.length === 0 && !existsSync(outboxPath)) return undefined;
  return new WebhookSink({
    source,
    deadLetterPath: config.events.deadLetter,
    outboxPath,
    logger,
    endpoints: config.events.webhooks.map((hook) => {
      const patterns = hook.repositories.map(repositoryGlob);
      return {
        name: hook.name,
        url: hook.url,
        secret: hook.secret,
        accepts: (event: RegistryEvent) => hook.actions.includes(ACTION_OF[event.type]) && patterns.some((pattern) => pattern.test(event.repository)),
        timeoutMs: hook.timeout * 1000,
        maxAttempts: hook.maxAttempts,
        backoffMs: hook.backoff * 1000,
        maxBackoffMs: Math.max(hook.maxBackoff, hook.backoff) * 1000,
      };
    }),
  });
}

/** What `openStores` returns. */
interface OpenStores {
  blobs: BlobStore;
  metadata: MetadataStore;
  /** The digest lock pushes and GC share: in-process with SQLite, PostgreSQL advisory locks (across
   *  replicas) with PostgreSQL. */
  digestLocks: KeyedLock;
  /** Set when blob GETs answer 307 to a pre-signed URL. */
  blobRedirect?: (digest: Digest) => Promise<string>;
  closeStores(): Promise<void>;
}

/** The configured blob and metadata stores, prepared for use: the filesystem store cleaned of what a
 *  crash left, the S3 bucket checked, the PostgreSQL schema migrated. */
async function openStores(config: RegistryConfig, logger: Logger): Promise<OpenStores> {
  let blobs: BlobStore;
  let closeBlobs = (): void => undefined;
  let blobRedirect: ((digest: Digest) => Promise<string>) | undefined;
  if (config.storage.driver === 's3') {
    const s3 = config.storage.s3!;
    const S3BlobStore = await loadS3BlobStore();
    const store = new S3BlobStore({
      bucket: s3.bucket,
      prefix: s3.prefix,
      region: s3.region,
      partSize: s3.partSize,
      conditionalWrites: s3.conditionalWrites,
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
      ...(s3.accessKeyId && s3.secretAccessKey ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } : {}),
      ...(s3.publicEndpoint ? { publicEndpoint: s3.publicEndpoint } : {}),
    });
    blobs = store;
    closeBlobs = () => store.close();
    const lifetime = config.storage.redirect.expiresIn;
    if (config.storage.redirect.mode === 'redirect') blobRedirect = (digest) => store.presignedUrl(digest, lifetime);
  } else {
    blobs = new FsBlobStore(config.storage.filesystem.root!);
  }
  // Now, not at first use: what a crash left in the store (a half-written temporary blob) goes at
  // start, and a wrong bucket or unreachable service fails the start, not the first push.
  try {
    await blobs.init();
  } catch (error) {
    closeBlobs();
    throw error;
  }
  let metadata: MetadataStore;
  let digestLocks: KeyedLock & { close?(): Promise<void> };
  try {
    if (config.metadata.driver === 'postgres') {
      const { PostgresMetadataStore, PostgresKeyedLock } = await loadPostgresDriver();
      const { url, maxConnections } = config.metadata.postgres!;
      const onIdleError = (error: Error) => logger.warn({ err: error, database: redactUrl(url) }, 'metadata database connection lost');
      metadata = await PostgresMetadataStore.open(url, { maxConnections, onIdleError });
      digestLocks = new PostgresKeyedLock(url, { maxConnections, onIdleError });
    } else {
      metadata = new SqliteMetadataStore(config.metadata.sqlite.path!, { synchronous: config.metadata.sqlite.synchronous });
      digestLocks = new KeyedMutex();
    }
  } catch (error) {
    closeBlobs();
    throw error;
  }
  return {
    blobs,
    metadata,
    digestLocks,
    ...(blobRedirect ? { blobRedirect } : {}),
    closeStores: async () => {
      await metadata.close();
      await digestLocks.close?.();
      closeBlobs();
    },
  };
}

/** Offline garbage collection (`kiln registry gc`) over a data directory. */
export async function runOfflineGc(config: RegistryConfig, logger: Logger, options: Partial<GcOptions>): Promise<GcReport> {
  // With SQLite the digest lock that keeps a sweep away from concurrent pushes is in-process: refuse
  // to sweep a data directory a live server is using (a dry run only reads and is allowed).
  const pid = Number((await readFile(pidFile(config), 'utf8').catch(() => '')).trim());
  if (!options.dryRun && config.metadata.driver === 'sqlite' && Number.isInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid)) {
    throw new RegistryError('CONFIG_INVALID', `${config.dataDir}: a registry server (pid ${pid}) is using this data directory; stop it first or enable gc.online`, {
      detail: { dataDir: config.dataDir, pid },
    });
  }
  // A mistyped --data-dir must not quietly become a new, empty registry that "has nothing to collect".
  const databaseFile = config.metadata.sqlite.path!;
  if (config.metadata.driver === 'sqlite' && !(await access(databaseFile).then(() => true, () => false))) {
    throw new RegistryError('DATA_NOT_FOUND', `no registry data at ${config.dataDir} (no ${databaseFile}); pass the data directory of a registry with --data-dir or --config`, {
      detail: { dataDir: config.dataDir, database: databaseFile },
    });
  }
  // With PostgreSQL the digest lock is the database's, shared with every serving replica: the sweep
  // may run while they serve.
  const { blobs, metadata, digestLocks, closeStores } = await openStores(config, logger);
  try {
    return await collectGarbage(
      { blobs, metadata, logger, digestLocks },
      { ...gcOptionsOf(config), ...options },
      Date.now(),
    );
  } finally {
    await closeStores();
  }
}

/** The configured garbage-collection policy: grace, expiry, untagged deletes, retention, immutable tags. */
function gcOptionsOf(config: RegistryConfig): GcOptions {
  return {
    deleteUntagged: config.gc.deleteUntagged,
    gracePeriodMs: config.gc.gracePeriod * 1000,
    uploadExpiryMs: config.gc.uploadExpiry * 1000,
    dryRun: false,
    retention: config.gc.retention.map((rule) => ({
      repository: rule.repository,
      ...(rule.keepLast !== undefined ? { keepLast: rule.keepLast } : {}),
      ...(rule.keepTags !== undefined ? { keepTags: rule.keepTags } : {}),
      ...(rule.untaggedAfter !== undefined ? { untaggedAfterMs: rule.untaggedAfter * 1000 } : {}),
    })),
    immutableTags: config.tags.immutable,
  };
}

/** Reads a file the config names; a missing or unreadable one is the operator's to fix (exit 1). */
async function readConfigured(path: string, key: string, config: RegistryConfig): Promise<Buffer> {
  try {
    return await readInputFile(path, { what: key });
  } catch (error) {
    throw new RegistryError('CONFIG_INVALID', `${config.configFile ?? 'config'}: ${(error as Error).message}`, { cause: error, detail: { path, key } });
  }
}

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use (another registry or service is listening there)',
  EADDRNOTAVAIL: 'that address is not one of this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

function listenError(error: NodeJS.ErrnoException, addr: string): RegistryError {
  const reason = (error.code && LISTEN_REASONS[error.code]) ?? error.message;
  return new RegistryError('LISTEN_FAILED', `cannot listen on ${addr}: ${reason}`, { cause: error, detail: { addr, errno: error.code } });
}

/** Who may read /metrics: anyone when `metrics.anonymous` is set; without auth configured, loopback
 *  clients; with auth, the users `metrics.users` names (`*` = any authenticated user). */
function mayReadMetrics(settings: RegistryConfig['metrics'], open: boolean, principal: Principal): boolean {
  if (settings.anonymous === true) return true;
  if (open) return isLoopback(principal.remoteAddress);
  const user = principal.user;
  return user !== undefined && principal.tokenAccess === undefined && (settings.users.includes('*') || settings.users.includes(user));
}

function pidFile(config: RegistryConfig): string {
  return join(config.dataDir, 'serve.pid');
}

