import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of SBOM generation (docs/errors/sbom.md). */
export const sbomErrorCodes = {
  SBOM_FORMAT_UNKNOWN: 'an SBOM format other than spdx or cyclonedx was requested',
  SBOM_UNREADABLE: 'a document given as an SBOM is neither SPDX JSON nor CycloneDX JSON',
} as const satisfies ErrorCodeTable<string>;

export type SbomErrorCode = keyof typeof sbomErrorCodes;

/** An SBOM failure. */
export class SbomError extends KilnError<SbomErrorCode> {}
