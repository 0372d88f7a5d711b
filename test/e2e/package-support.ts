// Shared by the image e2e tests that make their own signed repositories: the index record of a
// package built in memory.
import { pkgInfoToRecord, readApk } from '../../src/apk/index.ts';
import type { PackageRecord } from '../../src/apk/index.ts';

/** Reads a whole package (draining every entry) and returns its APKINDEX record. */
export async function recordOfPackage(bytes: Uint8Array): Promise<PackageRecord> {
  let control;
  let end;
  for await (const item of readApk((async function* () { yield bytes; })(), { allowUntrusted: true })) {
    if (item.kind === 'control') control = item.control;
    else if (item.kind === 'entry') for await (const _chunk of item.content ?? []) void _chunk;
    else end = item.end;
  }
  return pkgInfoToRecord(control!.pkginfo, control!.identity, end!.fileSize);
}
