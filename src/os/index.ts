// Kiln OS: its package recipes and catalog images built into a signed repository and OCI layouts.
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { catalogImageName, planCatalog } from './format/catalog-plan.ts';
export type { CatalogImageInput, CatalogPlanEntry } from './format/catalog-plan.ts';
export { OsError, osErrorCodes } from './errors.ts';
export type { OsErrorCode } from './errors.ts';
export { buildOs, OS_IMAGE_REGISTRY } from './os-build.ts';
export type { OsBuildPorts, OsBuildRequest, OsBuildResult } from './os-build.ts';
