import { compareVersions } from '../../apk/index.ts';
import { currentEvent } from './advisory.ts';
import type { AdvisoryFile } from './advisory.ts';

// Pure: Kiln's advisories as an apk secdb (`security.json`) served beside the package repository,
// so Trivy, Grype and other apk-aware scanners use Kiln's fix data. A secdb can say only "fixed in
// version V" and "never affected" (version "0"): fixed events give the first, not-affected and
// false-positive events the second; advisories still open are left out, as Alpine's secdb does.

/** The header fields of the secdb. */
export interface SecdbHeader {
  reponame: string;
  urlprefix: string;
  archs: string[];
  /** Optional release label (`distroversion`). */
  distroversion?: string;
}

/** The secdb document of a set of advisories files (packages and versions in a stable order). */
export function advisoriesToSecdb(files: ReadonlyArray<{ file: AdvisoryFile }>, header: SecdbHeader): Record<string, unknown> {
  const packages = [...files]
    .map(({ file }) => file)
    .sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0))
    .flatMap((file) => {
      const secfixes = new Map<string, string[]>();
      for (const advisory of file.advisories) {
        const event = currentEvent(advisory);
        const version = event.type === 'fixed' ? event.data.version : event.type === 'not-affected' || event.type === 'false-positive' ? '0' : undefined;
        if (version === undefined) continue;
        secfixes.set(version, [...(secfixes.get(version) ?? []), advisory.id]);
      }
      if (secfixes.size === 0) return [];
      const versions = [...secfixes.keys()].sort((a, b) => (a === '0' ? -1 : b === '0' ? 1 : compareVersions(a, b)));
      return [{ pkg: { name: file.package, secfixes: Object.fromEntries(versions.map((version) => [version, [...secfixes.get(version)!].sort()])) } }];
    });
  return {
    apkurl: '{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
    archs: [...header.archs].sort(),
    reponame: header.reponame,
    urlprefix: header.urlprefix,
    ...(header.distroversion ? { distroversion: header.distroversion } : {}),
    packages,
  };
}
