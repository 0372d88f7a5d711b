import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the OCI formats and output writers (docs/errors/oci.md). */
export const ociErrorCodes = {
  OCI_TAR_ENTRY_INVALID: 'a tar entry cannot be encoded (bad name, negative or oversized field)',
  OCI_LAYOUT_INVALID: 'an OCI image layout directory is malformed or a blob in it does not match its digest',
  OCI_ARCHIVE_INVALID: 'a docker-archive tarball or an image layer is malformed (not a tar, no manifest.json, a missing member, unsupported compression)',
  OCI_MANIFEST_INVALID: 'a manifest or index document is malformed: not JSON, an unsupported media type, the wrong shape for its kind, or a bad descriptor',
  OCI_REFERENCE_INVALID: 'an image reference (registry/repository:tag@digest) is malformed',
} as const satisfies ErrorCodeTable<string>;

export type OciErrorCode = keyof typeof ociErrorCodes;

/** An OCI-format failure; `detail` names the entry, blob or reference at fault. */
export class OciError extends KilnError<OciErrorCode> {}
