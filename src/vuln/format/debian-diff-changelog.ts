import { gunzipSync } from 'node:zlib';
import { fileCreatedByDiff } from '../../debian/index.ts';

// Pure: the debian/changelog a Debian format 1.0 source's `.diff.gz` creates (format 3.0 sources
// carry it in `.debian.tar.*`, which the caller unpacks).

/** The changelog the gzip-compressed unified diff creates; undefined when the bytes are not a
 *  gzip diff or the diff does not create debian/changelog. */
export function changelogOfDiffGz(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return undefined;
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch {
    return undefined;
  }
  if (!/^(---|\+\+\+|diff )/m.test(text.slice(0, 4096))) return undefined;
  return fileCreatedByDiff(text, 'debian/changelog');
}
