// The distribution spec's grammar of repository names and tags. Digests the registry serves are the
// ones the OCI image spec registers: src/oci's isRegisteredDigest.

/** Repository name grammar of the distribution spec, anchored. */
const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Tag grammar: 1..128 characters, not starting with `.` or `-`. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isValidName(name: string, maxLength: number): boolean {
  return name.length > 0 && name.length <= maxLength && NAME_PATTERN.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}
