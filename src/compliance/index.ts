// Public API of compliance evidence: hardening checks of images, their NIST SP 800-53 rev 5
// mapping, and OSCAL documents (component-definition, assessment-results, POA&M).
// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export { ComplianceError, complianceErrorCodes } from './errors.ts';
export type { ComplianceErrorCode } from './errors.ts';
export { SEVERITIES } from './format/check-model.ts';
export type { CheckDefinition, CheckedImage, CheckResult, CheckStatus, Evidence, ImageCheckReport, ImageVariant, Severity } from './format/check-model.ts';
export { CHECKS, FIPS_ANNOTATION, VARIANT_ANNOTATION, imageVariant, runChecks } from './format/checks.ts';
export type { ImageUnderCheck } from './format/checks.ts';
export { CONTROL_TITLES, controlLabel } from './format/controls.ts';
export type { ControlId } from './format/controls.ts';
export { cleanEntryPath, mergeLayers, readLayerEntries, resolveImagePath } from './format/image-fs.ts';
export type { ImageFile, LayerEntries, LayerReadOptions } from './format/image-fs.ts';
export { KILN_OSCAL_NS, NIST_800_53_REV5_CATALOG, OSCAL_VERSION, assessmentResults, componentDefinition, planOfActionAndMilestones, uuidV5 } from './format/oscal.ts';
export type { OscalInput } from './format/oscal.ts';
export { checkLines, markdownSummary } from './format/summary.ts';
export { BASELINES, FEDRAMP_HIGH, FEDRAMP_MODERATE } from './format/baselines.ts';
export type { Baseline } from './format/baselines.ts';
export { baselineCoverage, coverageMarkdown } from './format/coverage.ts';
export type { BaselineCoverage, ControlCoverage, CoverageState } from './format/coverage.ts';
export { packagesSignedOutcome, reproducibleOutcome, vulnerabilitiesOutcome } from './format/supply-checks.ts';
export type { ImageVulnerability, Outcome, RebuiltImage, Reproduction, VerifiedPackageIndex, VulnerabilityScan } from './format/supply-checks.ts';
export { compliancePolicySchema, evaluatePolicy } from './format/policy.ts';
export type { CompliancePolicy, PolicyViolation } from './format/policy.ts';
export { loadCompliancePolicy } from './load-policy.ts';
export { checkImage } from './check-image.ts';
export type { CheckImageOptions, ImageReproducer } from './check-image.ts';
export { readDockerArchiveImages, readImageSource, readLayoutImages } from './image-source.ts';
export type { SourceImage } from './image-source.ts';
export { REPORT_FILES, SUMMARY_FORMATS, writeComplianceReport } from './write-report.ts';
export type { SummaryFormat, WrittenReport } from './write-report.ts';
export { escapeHtml, htmlSummary } from './format/html.ts';
export { responsibilityCsv, responsibilityMarkdown, responsibilityMatrix } from './format/responsibility.ts';
export type { Responsibility, ResponsibilityRow } from './format/responsibility.ts';
export { attestCheckResults, HARDENING_CHECKS_PREDICATE, OSCAL_ASSESSMENT_RESULTS_PREDICATE } from './attest-results.ts';
export type { AttestResultsOptions } from './attest-results.ts';
