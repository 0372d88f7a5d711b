// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { startRegistry, runOfflineGc, createRegistryLogger } from './registry-app.ts';
export type { RegistryExtension, RunningRegistry } from './registry-app.ts';
export { loadRegistryConfig, defaultDataDir, parseAddr, registryConfigSchema } from './registry-config.ts';
export type { RegistryConfig } from './registry-config.ts';
export { catalogExtension } from './catalog-app.ts';
export type { CatalogAppOptions } from './catalog-app.ts';
