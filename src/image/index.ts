// Public API of the image assembler (apko-compatible).
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { ImageError, imageErrorCodes } from './errors.ts';
export type { ImageErrorCode } from './errors.ts';
export { normalizeArchs } from './config/archs.ts';
export { imageConfigSchema, imageConfigJsonSchema } from './config/schema.ts';
export { parseImageConfigText, parseGoInteger } from './config/parse.ts';
export type { ConfigIssue } from './config/parse.ts';
export { loadImageConfig, loadImageConfigText, resolveLocalPath } from './config/load.ts';
export type { LoadedImageConfig, LoadImageConfigOptions } from './config/load.ts';
export type { ImageConfig, ImageUser, ImageGroup, PathMutation, NamedContent } from './config/types.ts';
export { buildImage, planImageBuild, applyImagePlan, effectiveArchs, parseBuildDate, parseSourceDateEpoch, portRepository, KILN_SBOM_TOOL } from './build-image.ts';
export type { BuildImageOptions, BuildImageResult, ArchOutput, PackageRepositoryPort, PortRepository } from './build-image.ts';
export { buildArchImage, runtimeConfig, rfc3339, canonicalRsaPublicKey } from './build-arch.ts';
export type { BuildArchInput, BuildArchResult, ArchPackage, ImageFileInfo } from './build-arch.ts';
export { parseLockFile, formatLockFile, lockFileSchema } from './lock.ts';
export type { LockFile, LockPackage } from './lock.ts';
export { splitShellWords } from './format/shell-words.ts';
export { planLayerGroups } from './layers-plan.ts';
export type { LayeringPackage } from './layers-plan.ts';
export { publishIndex } from './publish.ts';
export type { PublishTarget, RegistryPort } from './publish.ts';
export { planImage } from './image-plan.ts';
export type { ImagePlan, PlannedArch, PlannedPackage, PlannedRepository, PlanImageInput } from './image-plan.ts';
export { publishProvenanceInput, publishSbomTargets, KILN_IMAGE_BUILD_TYPE, KILN_IMAGE_BUILDER_ID } from './publish-attest.ts';
export type { PublishProvenanceInput, PublishProvenanceFacts, ProvenanceResource, ReproducibleFacts, ReproducibleBuildFlags } from './publish-attest.ts';
export { planReproduce } from './reproduce-plan.ts';
export { customizeConfig, formatDerivedConfig, BASE_ANNOTATION, BASE_CHECKSUM_ANNOTATION } from './customize.ts';
export type { CustomizeBase, CustomizeChanges, CustomizeResult } from './customize.ts';
export type { ReproducePlan } from './reproduce-plan.ts';
export { parseOsRelease } from './generate/accounts.ts';
