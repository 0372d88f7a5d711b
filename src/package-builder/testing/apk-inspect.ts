import { readTarEntries } from '../../apk/index.ts';

// Test support: a v2 .apk's gzip members and tar entries as the e2e tests inspect them, read with
// apk's one member splitter and tar reader (src/apk/format) rather than copies of them. Signatures
// are still checked independently of Kiln: openssl verifies them over the exact member bytes these
// return (and GNU tar reads the members in test/e2e/apk-package-cli.test.ts).

/** Splits a file into its gzip members: each one's exact `bytes` and decompressed `content`. */
export { splitGzipMembers } from '../../apk/index.ts';

/** Tar entries (name → content) of an uncompressed tar stream, stopping at the end blocks. */
export function tarEntries(tar: Buffer): Map<string, Buffer> {
  return new Map(readTarEntries(tar, 'tar').map((entry) => [entry.header.name, entry.content]));
}
