import { archInfo, ARCHS } from '../../apk/index.ts';
import { isKilnError } from '../../lib/index.ts';
import { ImageError } from '../errors.ts';

// The architecture table is apk's (ARCHS, archInfo); this is only the image configuration's rule
// for lists of names and how an unknown name is reported (IMAGE_ARCH_UNKNOWN, naming `where`).

/** Normalises a list of architecture names to OCI names, deduplicated and sorted (apko's rule). */
export function normalizeArchs(names: readonly string[], where = 'architecture', hostArch = 'amd64'): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (name === 'all') for (const arch of ARCHS) out.add(arch.oci);
    else out.add(ociArch(name === 'host' ? hostArch : name, where));
  }
  return [...out].sort(compareStrings);
}

function ociArch(name: string, where: string): string {
  try {
    return archInfo(name).oci;
  } catch (error) {
    if (!isKilnError(error) || error.code !== 'APK_ARCH_UNKNOWN') throw error;
    throw new ImageError('IMAGE_ARCH_UNKNOWN', `${where}: ${error.message}`, { cause: error, detail: { arch: name } });
  }
}

/** Plain code-unit order, the order apko sorts archs and most lists in. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
