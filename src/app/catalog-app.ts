import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CatalogService, createCatalogHandler, createImageAnalyzer, isCatalogPath, registryTrustVerifier } from '../catalog/index.ts';
import { openImageHistory, openImageSource } from '../factory/index.ts';
import type { ImageBlobSource, ImageHistoryReader } from '../factory/index.ts';
import type { Logger } from '../lib/index.ts';
import { clientAddress, isLoopback } from '../registry/index.ts';
import { RegistryClient } from '../registry-client/index.ts';
import type { CredentialLookup } from '../registry-client/index.ts';
import { SqliteVulnIndex } from '../vuln/index.ts';
import type { RegistryExtension } from './registry-app.ts';

/** What the catalog is composed of beside the registry's own stores. */
export interface CatalogAppOptions {
  /** Public keys whose signatures the catalog shows as verified. */
  keys: readonly KeyObject[];
  /** Path of the (first) key, for the verify commands the pages print. */
  keyPath?: string;
  /** The local vulnerability index (`kiln vuln db`), opened read-only; without it nothing is scanned. */
  vulnDbPath?: string;
  /** The factory's history database (`kiln factory run`), opened read-only; a missing file reads as
   *  no history, and image pages then show the digests the registry holds. */
  historyPath?: string;
  /** A history reader given directly (embedding); `historyPath` wins. */
  history?: ImageHistoryReader;
  /** Images the comparison page may show, by name: a registry reference or an OCI layout path. */
  comparisons: ReadonlyArray<{ name: string; image: string }>;
  /** Credentials for the catalog's own reads through the registry API (signatures, referrers,
   *  comparison images), e.g. `dockerConfigCredentials(env)`; default anonymous. */
  credentials?: CredentialLookup;
  cwd: string;
  logger: Logger;
}

/** The web catalog served on the registry's own listener (`kiln registry serve --catalog`,
 *  `kiln catalog serve`): every path outside /v2/, /healthz and /metrics. It reads the registry's
 *  stores directly and verifies signatures through the registry's API, with `options.credentials`
 *  when the registry has auth configured. The catalog does not authenticate viewers, so it is served
 *  only to loopback clients, whatever the registry's auth. */
export function catalogExtension(options: CatalogAppOptions): RegistryExtension {
  return {
    attach: async ({ blobs, metadata, url, trustProxy }) => {
      const registryHost = new URL(url).host;
      const client = new RegistryClient({ logger: options.logger, userAgent: 'kiln-catalog', ...(options.credentials ? { credentials: options.credentials } : {}) });
      const vulnIndex = options.vulnDbPath ? new SqliteVulnIndex(options.vulnDbPath, { readonly: true }) : undefined;
      const history = options.historyPath ? openImageHistory(options.historyPath, { readonly: true }) : options.history;
      const comparisons = new Map<string, ImageBlobSource>();
      for (const comparison of options.comparisons) {
        comparisons.set(comparison.name, await openImageSource(comparison.image, { cwd: options.cwd, registry: () => client }));
      }
      const service = new CatalogService({
        metadata,
        blobs,
        registryHost,
        trust: registryTrustVerifier({ client, registryHost, keys: options.keys, logger: options.logger }),
        analyzer: createImageAnalyzer({ blobs, client, registryHost, ...(vulnIndex ? { vulnIndex } : {}), ...(options.keys.length ? { trust: { keys: options.keys } } : {}), logger: options.logger }),
        ...(history ? { history } : {}),
        comparisons,
        ...(options.keyPath ? { keyPath: options.keyPath } : {}),
        logger: options.logger,
      });
      const handler = createCatalogHandler({ service, logger: options.logger });
      return (req: IncomingMessage, res: ServerResponse): boolean => {
        const path = (req.url ?? '/').split('?')[0]!;
        if (!isCatalogPath(path)) return false;
        // The address the registry judges by: behind a trusted proxy on this host every socket is loopback.
        if (!isLoopback(clientAddress(req, req.socket.remoteAddress ?? '', trustProxy))) {
          res.statusCode = 403;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end('the catalog is served to loopback clients only\n');
          return true;
        }
        handler(req, res);
        return true;
      };
    },
  };
}
