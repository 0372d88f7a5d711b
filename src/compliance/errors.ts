import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of compliance evidence (docs/errors/compliance.md). */
export const complianceErrorCodes = {
  COMPLY_IMAGE_UNREADABLE: 'the image to check is not an OCI image layout, a docker-archive tarball, or is malformed',
  COMPLY_PLATFORM_UNKNOWN: 'no image of the requested platform is in the source',
  COMPLY_SBOM_MISMATCH: 'an SBOM given for the package check matches none of the images (no apk package of its architecture)',
  COMPLY_ATTEST_UNSUPPORTED: 'check results can only be attested to an image read from a registry',
  COMPLY_CHECKS_FAILED: 'a hardening check of severity high or critical failed (kiln comply check exits 1)',
  COMPLY_POLICY_INVALID: 'a compliance policy file (--policy) is not valid: unknown field, check or control id, or it requires nothing',
  COMPLY_POLICY_FAILED: 'the checks did not meet the compliance policy given with --policy (kiln comply check exits 1)',
} as const satisfies ErrorCodeTable<string>;

export type ComplianceErrorCode = keyof typeof complianceErrorCodes;

/** A compliance failure. */
export class ComplianceError extends KilnError<ComplianceErrorCode> {}
