export { startRegistry, runOfflineGc, createRegistryLogger } from './registry-app.ts';
export type { RunningRegistry } from './registry-app.ts';
export { loadRegistryConfig, defaultDataDir, parseAddr, registryConfigSchema } from './registry-config.ts';
export type { RegistryConfig } from './registry-config.ts';
