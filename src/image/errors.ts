import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the image assembler (docs/errors/image.md). */
export const imageErrorCodes = {
  IMAGE_CONFIG_INVALID: 'an image configuration is not valid YAML/JSON, has an unknown or ill-typed field, or fails validation',
  IMAGE_CONFIG_INCLUDE: 'an included image configuration cannot be found or includes itself',
  IMAGE_ARCH_UNKNOWN: 'an architecture name is not one of the nine apko architectures or their aliases',
  IMAGE_BUILD_DATE_INVALID: 'SOURCE_DATE_EPOCH or --build-date is not a valid time',
  IMAGE_PATH_ESCAPES: 'a path in a package or a path mutation leaves the image root',
  IMAGE_PATH_CONFLICT: 'two packages (or a package and a path mutation) own the same path with different content',
  IMAGE_PATH_MISSING: 'a path mutation or link refers to a path that does not exist in the image',
  IMAGE_KEY_INVALID: 'a keyring or runtime key is missing or not one PEM RSA public key, or a configured CA certificate is not one PEM certificate',
  IMAGE_LOCK_INVALID: 'a lock file is malformed or lacks a checksum',
  IMAGE_LOCK_MISMATCH: 'a lock file was made from another configuration or does not match the fetched packages',
  IMAGE_RESOLVE_FAILED: 'the packages of an image cannot be resolved to a consistent set',
  IMAGE_ANNOTATION_INVALID: 'an --annotations value is not key:value with a valid key',
  IMAGE_SOURCE_INVALID: 'an image to compare or reproduce cannot be read: not an OCI layout, docker archive or reference, malformed, or without the platform asked for',
  IMAGE_PROVENANCE_MISSING: 'an image has no SLSA provenance attestation that verifies with the given key or identity',
  IMAGE_PROVENANCE_INCOMPLETE: 'an image\'s provenance does not record enough to rebuild it (config content, lock, keys), or its records disagree with each other',
  IMAGE_REPRODUCE_INPUT_CHANGED: 'an input the provenance records (a package by checksum) is no longer what it was when the image was built',
  IMAGE_NOT_REPRODUCED: 'rebuilding an image from its provenance gave a different digest; the message names the layers and files that differ',
  IMAGE_CUSTOMIZE_INVALID: 'kiln image customize was asked for something the base configuration cannot give (removing a package it does not list, a bad --env, an unknown user)',
} as const satisfies ErrorCodeTable<string>;

export type ImageErrorCode = keyof typeof imageErrorCodes;

/** An image-assembly failure; `detail` names the file, line, package or path at fault. */
export class ImageError extends KilnError<ImageErrorCode> {}
