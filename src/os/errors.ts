import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of Kiln OS (docs/errors/os.md). */
export const osErrorCodes = {
  OS_TREE_INVALID: 'the Kiln OS directory lacks packages/ or images/, or an image configuration has a name Kiln cannot use (the path is named)',
  OS_PACKAGES_FAILED: 'building the Kiln OS packages failed (the recipes that failed are named; the build log is kept)',
  OS_IMAGE_FAILED: 'building a catalog image failed (the image and the reason are named; the previous image is kept)',
} as const satisfies ErrorCodeTable<string>;

export type OsErrorCode = keyof typeof osErrorCodes;

/** A Kiln OS build failure; `detail` names the recipe or image at fault. */
export class OsError extends KilnError<OsErrorCode> {}
