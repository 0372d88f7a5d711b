import type { ControlId } from './controls.ts';

// Pure: what a hardening check and its result are.

/** How bad a failure of the check is; `kiln comply check` exits 1 when a high or critical check fails. */
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** Severities in decreasing order. */
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

/**
 * What a check concluded: `pass` and `fail` only when it ran on the data it needs; `allowed` when it
 * found what it looks for in an image whose purpose needs it (a `-dev` variant's shell); `not-run`
 * when data it needs is missing (never counted as passed); `not-applicable` when the image is not of
 * the kind the check is for (a FIPS check on a non-FIPS image).
 */
export type CheckStatus = 'pass' | 'fail' | 'allowed' | 'not-run' | 'not-applicable';

/** A fact that supports a result: a path in the image, a blob or file digest, what was seen. */
export interface Evidence {
  /** Path inside the image (no leading slash), or a file outside it (the SBOM). */
  path?: string;
  /** `sha256:…` of the file, blob or document. */
  digest?: string;
  detail: string;
  /** The open vulnerability this evidence is about (`vulnerabilities-within-sla`), for the POA&M. */
  vulnerability?: OpenVulnerability;
}

/** A critical or high vulnerability still open in the image, with its SLA clock. */
export interface OpenVulnerability {
  id: string;
  package: string;
  version: string;
  severity: 'critical' | 'high';
  /** When the SLA clock started (as the source gave it) and what says so. */
  detectedAt: string;
  detectedFrom: string;
  daysOpen: number;
  slaDays: number;
  /** `detectedAt` plus `slaDays` days (RFC 3339): the remediation deadline (absent when the
   *  start is not a date JavaScript can read). */
  dueAt?: string;
  isBreached: boolean;
  fixedVersion?: string;
}

/** The fixed description of a check. */
export interface CheckDefinition {
  id: string;
  title: string;
  severity: Severity;
  rationale: string;
  controls: readonly ControlId[];
  /** CIS Docker Benchmark (v1.6) image items (`CIS-Docker-4.1`) and DISA SRG requirements
   *  (`SRG-OS-000095-GPOS-00049` General Purpose OS, `SRG-APP-…-CTR-…` Container Platform) this
   *  check gives evidence for. */
  references: readonly string[];
  /** Controls a pass of this check gives evidence for but cannot establish on its own, each with
   *  why (a FIPS-configured OpenSSL is not FIPS-validated): such a control is never reported
   *  satisfied on this check's pass. */
  cannotEstablish?: Readonly<Partial<Record<ControlId, string>>>;
}

/** One check's result on one image. */
export interface CheckResult extends CheckDefinition {
  status: CheckStatus;
  /** One sentence: what was found, or why it did not run. */
  summary: string;
  evidence: Evidence[];
}

/** Which variant an image is, and what said so. */
export interface ImageVariant {
  kind: 'runtime' | 'dev';
  /** Why it is taken for a dev image (the name or the annotation), when it is one. */
  reason?: string;
}

/** The image a report is about. */
export interface CheckedImage {
  /** What the user named (a path, a tag in the archive or layout). */
  name: string;
  /** Tag or ref name recorded in the source, when there is one. */
  ref?: string;
  /** Where the image was read from. */
  source: 'oci-layout' | 'docker-archive' | 'registry';
  /** `registry/repository`, for images read from a registry. */
  repository?: string;
  /** `os/architecture[/variant]`. */
  platform: string;
  /** Manifest digest (OCI layouts); docker archives record only the config. */
  manifestDigest?: string;
  configDigest: string;
  variant: ImageVariant;
  sbom?: { path: string; digest: string; format: 'spdx' | 'cyclonedx' };
}

/** All check results for one image. */
export interface ImageCheckReport {
  image: CheckedImage;
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
  /** True when a check of severity high or critical failed. */
  isBlocking: boolean;
}
