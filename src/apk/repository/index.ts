// Public API of the apk repository client. Other domains should reach it through src/apk/index.ts
// once that re-exports this file; the CLI imports it directly.
export type { Fetcher, FetchOptions, FetchResult, FetchBody, FetchNotModified, FetchValidators } from './fetcher.ts';
export { createHttpTransport } from './transports.ts';
export type { HttpTransport, HttpTransportOptions } from './http-transport.ts';
export { FileTransport } from './file-transport.ts';
export { SchemeFetcher } from './transports.ts';
export { ApkCache, defaultCacheDir } from './cache.ts';
export type { IndexCacheEntry } from './cache.ts';
export { loadRepositoryKeyring } from './keyring.ts';
export type { Keyring } from './keyring.ts';
export { parseRepositories, parseRepository, formatRepositories, normalizeRepositoryUrl, indexUrl, packageUrl, describeRepository } from './repositories.ts';
export type { Repository } from './repositories.ts';
export { verifyPackageFile } from './package-verify.ts';
export type { ExpectedPackage, VerifiedPackageFile } from './package-verify.ts';
export { identityBytes, identityKey } from './identity.ts';
export { RepositoryClient } from './client.ts';
export type { RepositoryIndex, VerifiedRepositoryIndex, PackageSource, FetchedPackage, DownloadProgress, RepositoryClientOptions } from './client.ts';
export { openRepositoryClient } from './setup.ts';
export type { RepositoryClientSettings, RepositoryClientHandle } from './setup.ts';
export { isKeyUrl } from './remote-key.ts';
export type { RemoteKey } from './remote-key.ts';
export { planInstall, planInstallWith } from './plan.ts';
export { openPreparedResolver, withPreparedResolver } from './prepared-universe.ts';
export type { PreparedResolver, PreparedResolverOptions } from './prepared-universe.ts';
export type { InstallPlan } from './plan.ts';
export { proxyFromEnvironment, proxyFor } from './proxy-settings.ts';
export type { ProxySettings } from './proxy-settings.ts';
