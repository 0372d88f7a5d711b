export { startRegistry, runOfflineGc, createRegistryLogger } from './registry-app.ts';
export type { RegistryExtension, RunningRegistry } from './registry-app.ts';
export { loadRegistryConfig, defaultDataDir, parseAddr, registryConfigSchema } from './registry-config.ts';
export type { RegistryConfig } from './registry-config.ts';
export { catalogExtension } from './catalog-app.ts';
export type { CatalogAppOptions } from './catalog-app.ts';
