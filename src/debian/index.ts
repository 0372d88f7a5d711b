// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { AptSourceFetcher, DEFAULT_DEBIAN_MIRRORS } from './source-fetcher.ts';
export type { AptSourceOptions, DebianSourceRequest, FetchedDebianSource, FetchedFile } from './source-fetcher.ts';
export { parseChangelog } from './format/changelog.ts';
export type { ChangelogEntry } from './format/changelog.ts';
export { compareDebianVersions, field, fileCreatedByDiff, parseControl, parseDebianVersion, sourceFileRole, sourceFiles, stripClearSignature } from './format/control.ts';
export type { ControlParagraph, DebianVersion, SourceFile, SourceFileRole } from './format/control.ts';
export { parseSeries } from './format/series.ts';
export type { SeriesPatch } from './format/series.ts';
export { DebianError, debianErrorCodes } from './errors.ts';
export type { DebianErrorCode } from './errors.ts';
