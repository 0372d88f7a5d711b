// Public API of vulnerability data: feed readers (OSV records and zip dumps, apk secdb, Debian
// security tracker, NVD CVE JSON 2.0, CISA KEV, EPSS) into one local index, and the scanner.
//   Feeds: loadFeedConfig(path) → FeedConfig[]; updateFeeds({ feeds, index, fetcher, cacheDir, now,
//   logger }) → per feed updated | unchanged | offline, with warnings for skipped records;
//   feedStatus(index, now). Readers (pure): parseSecdb, parseOsvRecords, parseDebianCveList,
//   parseDebianAdvisoryList, parseNvd, parseKev, parseEpss, parseFeedParts.
//   Index: VulnIndex port; SqliteVulnIndex adapter (openVulnIndex).
//   Scan: readScanTarget(path, { platform?, ecosystem? }) → TargetContents; scanContents(contents,
//   index, { ignoreUnfixed?, now?, staleAfterHours? }) → ScanReport (warns about stale feeds);
//   formatScanTable / formatScanSarif; findingsAtOrAbove.
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { VulnError, vulnErrorCodes } from './errors.ts';
export type { VulnErrorCode } from './errors.ts';
export type { AffectedRecord, CpeRange, CvssScore, EpssEntry, FeedWarning, KevEntry, ParsedFeed, VersionRange, VulnerabilityInfo } from './format/model.ts';
export { cvss2BaseScore, cvss3BaseScore, parseSeverity, severityOfCvss, severityOfScore, severityRank, SEVERITIES } from './format/cvss.ts';
export { cvss4Score } from './format/cvss4.ts';
export type { Severity } from './format/cvss.ts';
export { debianRelease, ecosystemFromOsRelease, ecosystemFromOsv, versionSchemeOf } from './format/ecosystem.ts';
export { parseSecdb } from './format/secdb.ts';
export { parseOsvRecords, osvRecordsOfText } from './format/osv.ts';
export { readZipEntries } from './format/zip.ts';
export { parseDebianAdvisoryList, parseDebianCveList } from './format/debian-tracker.ts';
export { parseEpss, parseKev, parseNvd } from './format/nvd.ts';
export { parseFeedParts } from './format/parse-feed.ts';
export type { FeedPart } from './format/parse-feed.ts';
export { formatScanSarif, formatScanTable } from './format/report.ts';
export { FEED_TYPES, loadFeedConfig, parseFeedConfig } from './feed-config.ts';
export type { FeedConfig, FeedType } from './feed-config.ts';
export { feedStatus, updateFeeds } from './feed-update.ts';
export type { FeedStatus, FeedUpdateResult, UpdateFeedsOptions } from './feed-update.ts';
export { matchPackages } from './matcher.ts';
export type { Match, MatchInput, PackageToMatch } from './matcher.ts';
export type { FeedState, RegistryImageReader, VulnIndex } from './port.ts';
export { isVulnIndexFile, SqliteVulnIndex } from './sqlite/sqlite-vuln-index.ts';
export { exportIndexBundle, importIndexBundle } from './bundle.ts';
export type { BundleSigner } from './bundle.ts';
export { contentsOfFiles, isScannedPath, readScanTarget } from './scan-target.ts';
export { readRegistryTargets } from './scan-registry.ts';
export type { ReadTargetOptions, TargetContents, TargetKind } from './scan-target.ts';
export { FEED_STALE_AFTER_HOURS, findingsAtOrAbove, scanContents, severityInIndex } from './scan.ts';
export type { Finding, ScanOptions, ScanReport } from './scan.ts';
export { advisoryFileSchema, advisoryRecords, currentEvent, parseAdvisoryFile, VEX_JUSTIFICATIONS } from './format/advisory.ts';
export type { Advisory, AdvisoryEvent, AdvisoryFile, VexJustification } from './format/advisory.ts';
export { loadAdvisoryDirectory, summarizeAdvisories } from './advisories.ts';
export type { AdvisoryDirectory, AdvisorySummary } from './advisories.ts';
export { findingPurl, formatOpenVex, vexStatuses } from './format/openvex.ts';
export { formatCsafVex } from './format/csaf-vex.ts';
export type { CsafOptions } from './format/csaf-vex.ts';
export { formatCycloneDxVex } from './format/cyclonedx-vex.ts';
export type { CycloneDxVexOptions } from './format/cyclonedx-vex.ts';
export type { OpenVexOptions } from './format/openvex.ts';
export { advisoriesToSecdb } from './format/advisory-secdb.ts';
export type { SecdbHeader } from './format/advisory-secdb.ts';
export { DEFAULT_SLA, slaCsv, slaMarkdown, slaReport } from './format/sla.ts';
export type { SlaEntry, SlaPolicy } from './format/sla.ts';
export { addAdvisoryEvent, applyChangelogFixes, changelogFixes, stringifyAdvisoryFile } from './format/advisory-edit.ts';
export type { AddEventOptions, ChangelogEntryLike, ChangelogFix } from './format/advisory-edit.ts';
export { deriveChangelogAdvisories, readAdvisoryFile, recordAdvisoryEvent, writeAdvisoryFile } from './advisory-store.ts';
export type { ChangelogDerivation, ChangelogSource } from './advisory-store.ts';
export { checkVulnerabilityBounds, COSIGN_VULN_PREDICATE_TYPE, cosignVulnPredicate } from './format/cosign-vuln.ts';
export type { BoundsResult, CosignVulnOptions, VulnerabilityBounds } from './format/cosign-vuln.ts';
export { changelogOfDiffGz } from './format/debian-diff-changelog.ts';
export { advisoriesToOsv, KILN_OSV_ECOSYSTEM, KILN_OSV_ID_PREFIX } from './format/advisory-osv.ts';
export type { OsvExport } from './format/advisory-osv.ts';
export { writeZip } from './format/zip.ts';
export { publishAdvisories } from './advisory-publish.ts';
export type { PublishOptions, PublishResult } from './advisory-publish.ts';
export { applyTrackerStatements, justificationOfTrackerNote, trackerStatements } from './format/debian-tracker-derive.ts';
export type { ApplyTrackerOptions, TrackerDerivation, TrackerSource, TrackerStatement } from './format/debian-tracker-derive.ts';
export { deriveTrackerAdvisories } from './advisory-store.ts';
export type { TrackerPackageDerivation } from './advisory-store.ts';
