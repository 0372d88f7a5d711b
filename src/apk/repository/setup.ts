import type { KeyObject } from 'node:crypto';
import { silentLogger } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import { ApkCache } from './cache.ts';
import { RepositoryClient } from './client.ts';
import { loadRepositoryKeyring } from './keyring.ts';
import type { Keyring } from './keyring.ts';
import { fetchRemoteKey, isKeyUrl } from './remote-key.ts';
import type { RemoteKey } from './remote-key.ts';
import { SchemeFetcher } from './transports.ts';
import type { ProxySettings } from './proxy-settings.ts';

/** Everything needed to build a repository client from command-line style settings. */
export interface RepositoryClientSettings {
  /** Cache root (e.g. from defaultCacheDir); packages and indexes live under `<cacheDir>/apk`. */
  cacheDir: string;
  /** Key directories, key files and key URLs (`https://`, `file://`, loopback `http://`), in
   *  order: the first entry providing a key name wins. */
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
  /** The client's on-disk cache (indexes, packages, prepared universes). */
  cache: ApkCache;
  keyring: Keyring;
  /** Keys fetched from URLs, by the URL as given (their content goes into images' /etc/apk/keys). */
  remoteKeys: ReadonlyMap<string, RemoteKey>;
  /** Closes pooled connections. */
  close: () => void;
}

/** Builds the default client: https/http/file fetcher, on-disk cache, keyring from paths and URLs. */
export async function openRepositoryClient(settings: RepositoryClientSettings): Promise<RepositoryClientHandle> {
  const fetcher = new SchemeFetcher({ ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}), ...(settings.proxy ? { proxy: settings.proxy } : {}) });
  try {
    const cache = new ApkCache(settings.cacheDir);
    const keyring = new Map<string, KeyObject>();
    const remoteKeys = new Map<string, RemoteKey>();
    // In order: the first entry providing a key name wins.
    for (const entry of settings.keyringPaths) {
      if (isKeyUrl(entry)) {
        const remote = remoteKeys.get(entry) ?? (await fetchRemoteKey({ url: entry, fetcher, cache, logger: settings.logger ?? silentLogger }));
        remoteKeys.set(entry, remote);
        if (!keyring.has(remote.name)) keyring.set(remote.name, remote.key);
      } else {
        for (const [name, key] of await loadRepositoryKeyring([entry])) if (!keyring.has(name)) keyring.set(name, key);
      }
    }
    const client = new RepositoryClient({
      fetcher,
      cache,
      keyring,
      ...(settings.allowUntrusted !== undefined ? { allowUntrusted: settings.allowUntrusted } : {}),
      ...(settings.indexMaxAgeMs !== undefined ? { indexMaxAgeMs: settings.indexMaxAgeMs } : {}),
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      ...(settings.logger ? { logger: settings.logger } : {}),
    });
    return { client, cache, keyring, remoteKeys, close: () => fetcher.close() };
  } catch (error) {
    fetcher.close();
    throw error;
  }
}
