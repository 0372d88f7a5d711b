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
import type { ProxySettings } from './proxy.ts';

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
  keyring: Keyring;
  /** Keys fetched from URLs, by the URL as given (their content goes into images' /etc/apk/keys). */
  remoteKeys: ReadonlyMap<string, RemoteKey>;
  /** Trusts more keys (files, directories or URLs), as a build recipe's own keyring asks; keys
   *  already trusted under a name stay. */
  trustKeyring: (entries: readonly string[]) => Promise<void>;
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
    const load = async (entries: readonly string[], trust: (name: string, key: KeyObject) => void): Promise<void> => {
      for (const entry of entries) {
        if (isKeyUrl(entry)) {
          const remote = remoteKeys.get(entry) ?? (await fetchRemoteKey({ url: entry, fetcher, cache, logger: settings.logger ?? silentLogger }));
          remoteKeys.set(entry, remote);
          trust(remote.name, remote.key);
        } else {
          for (const [name, key] of await loadRepositoryKeyring([entry])) trust(name, key);
        }
      }
    };
    const keepFirst = (name: string, key: KeyObject): void => {
      if (!keyring.has(name)) keyring.set(name, key);
    };
    await load(settings.keyringPaths, keepFirst);
    const client = new RepositoryClient({
      fetcher,
      cache,
      keyring,
      ...(settings.allowUntrusted !== undefined ? { allowUntrusted: settings.allowUntrusted } : {}),
      ...(settings.indexMaxAgeMs !== undefined ? { indexMaxAgeMs: settings.indexMaxAgeMs } : {}),
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      ...(settings.logger ? { logger: settings.logger } : {}),
    });
    const trustKeyring = (entries: readonly string[]): Promise<void> =>
      load(entries, (name, key) => {
        keepFirst(name, key);
        client.trustKey(name, key);
      });
    return { client, keyring, remoteKeys, trustKeyring, close: () => fetcher.close() };
  } catch (error) {
    fetcher.close();
    throw error;
  }
}
