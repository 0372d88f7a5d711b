import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of attestations and policies (docs/errors/attest.md). */
export const attestErrorCodes = {
  PREDICATE_INVALID: 'a predicate file is not JSON or lacks the fields its type requires',
  PREDICATE_TYPE_UNKNOWN: 'the --type is neither a cosign predicate name nor a URI',
  ATTESTATION_NOT_FOUND: 'the image has no attestations (of the requested type)',
  ATTESTATION_INVALID: 'no attestation of the image verified; each rejected one is listed',
  ATTESTATION_MALFORMED: 'an attached attestation is not a JSON DSSE envelope (or a Sigstore bundle holding one)',
  POLICY_INVALID: 'a policy file is malformed (YAML/JSON, unknown field, missing key file)',
  POLICY_FAILED: 'the image does not satisfy the policy; each failed requirement is listed',
} as const satisfies ErrorCodeTable<string>;

export type AttestErrorCode = keyof typeof attestErrorCodes;

/** An attestation or policy failure; `detail` names the image, predicate type or policy rule. */
export class AttestError extends KilnError<AttestErrorCode> {}
