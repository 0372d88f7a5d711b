// Public API of SBOM generation: SPDX 2.3 and CycloneDX 1.6 JSON documents.
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { SbomError, sbomErrorCodes } from './errors.ts';
export type { SbomErrorCode } from './errors.ts';
export { apkPurl, formatApkPurl, ociPurl } from './model.ts';
export type { ApkPurlParts, SbomPackage, SbomImage, SbomIndex, SbomTool } from './model.ts';
export { apkSourceInfo, spdxImageDocument, spdxIndexDocument, spdxId } from './spdx.ts';
export { conjoinLicenses, spdxLicenseTable } from './license-expression.ts';
export type { SpdxExtractedLicense, SpdxLicenseTable } from './license-expression.ts';
export { SPDX_LICENSE_LIST_VERSION } from './spdx-license-list.ts';
export { cyclonedxImageDocument } from './cyclonedx.ts';
export { parseSbomFormats, SBOM_FORMATS } from './formats.ts';
export type { SbomFormat } from './formats.ts';
export { readSbomPackages, parseApkPurl } from './sbom-reader.ts';
export type { SbomApkPackage, SbomContents } from './sbom-reader.ts';
