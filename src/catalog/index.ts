// Public API of the web catalog: server-rendered pages and a JSON API over the registry's metadata
// and blobs, Kiln's signature and attestation verification, image analyses (packages, scan,
// hardening checks) and the factory history; comparison with other images.
//   const service = new CatalogService({ metadata, blobs, registryHost, trust, analyzer, history, logger });
//   http.createServer(createCatalogHandler({ service, logger }));
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { CatalogError, catalogErrorCodes } from './errors.ts';
export type { CatalogErrorCode } from './errors.ts';
export type * from './format/model.ts';
export { emptyTally, SEVERITY_ORDER, severityName, tallyTotal } from './format/model.ts';
export { attachmentFingerprint, currentTag, filterImages, formatBytes, groupRepositories, imageDigests, isAttachmentTag, parseImagesQuery } from './format/registry-view.ts';
export type { RepositoryGroup } from './format/registry-view.ts';
export { cveChart, historyViews, reasonText, sbomPackageViews, tallyFindings, vulnerabilityViews } from './format/image-view.ts';
export type { FindingInput } from './format/image-view.ts';
export { compareSide, countDpkgPackages, PACKAGE_MANAGER_PATHS, SHELL_PATHS } from './format/compare-view.ts';
export type { CompareInput } from './format/compare-view.ts';
export { CatalogService } from './catalog-service.ts';
export type { CatalogServiceOptions } from './catalog-service.ts';
export { attestationBadge, PREDICATE_LABELS, registryTrustVerifier } from './trust.ts';
export type { RegistryTrustOptions, TrustReport, TrustVerifier } from './trust.ts';
export { createImageAnalyzer } from './analyze.ts';
export type { AnalyzerOptions, ImageAnalysis, ImageAnalyzer, PlatformAnalysis } from './analyze.ts';
export { createCatalogHandler, isCatalogPath } from './http/catalog-handler.ts';
export type { CatalogHandler, CatalogHandlerOptions } from './http/catalog-handler.ts';
export { chartSvg, errorPage, renderPage } from './web/pages.ts';
