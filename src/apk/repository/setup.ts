import type { Logger } from '../../lib/index.ts';
import { ApkCache } from './cache.ts';
import { RepositoryClient } from './client.ts';
import { loadRepositoryKeyring } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { SchemeFetcher } from './transports.ts';
import type { ProxySettings } from './proxy.ts';

/** Everything needed to build a repository client from command-line style settings. */
export interface RepositoryClientSettings {
  /** Cache root (e.g. from defaultCacheDir); packages and indexes live under `<cacheDir>/apk`. */
  cacheDir: string;
  /** Key directories and key files. */
  keyringPaths: readonly string[];
  allowUntrusted?: boolean;
  indexMaxAgeMs?: number;
  concurrency?: number;
  timeoutMs?: number;
  /** Proxies for http(s) (see proxyFromEnvironment). */
  proxy?: ProxySettings;
  logger?: Logger;
}

/** A client plus the resources to release when done. */
export interface RepositoryClientHandle {
  client: RepositoryClient;
  keyring: Keyring;
  /** Closes pooled connections. */
  close: () => void;
}

/** Builds the default client: https/http/file fetcher, on-disk cache, keyring from paths. */
export async function openRepositoryClient(settings: RepositoryClientSettings): Promise<RepositoryClientHandle> {
  const keyring = await loadRepositoryKeyring(settings.keyringPaths);
  const fetcher = new SchemeFetcher({ ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}), ...(settings.proxy ? { proxy: settings.proxy } : {}) });
  try {
    const client = new RepositoryClient({
      fetcher,
      cache: new ApkCache(settings.cacheDir),
      keyring,
      ...(settings.allowUntrusted !== undefined ? { allowUntrusted: settings.allowUntrusted } : {}),
      ...(settings.indexMaxAgeMs !== undefined ? { indexMaxAgeMs: settings.indexMaxAgeMs } : {}),
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      ...(settings.logger ? { logger: settings.logger } : {}),
    });
    return { client, keyring, close: () => fetcher.close() };
  } catch (error) {
    fetcher.close();
    throw error;
  }
}
