import { buildScriptsTar, formatInstalledPackage, formatTriggers, installedPackageFromApk, installedScriptsFromApk } from '../../apk/index.ts';
import { compareBytes } from '../fs/tree.ts';
import type { InstalledPackage } from '../fs/install.ts';

// The apk database files of an image (apk-format.md §5), written with the apk library's
// installed-database writer. What is image-specific lives here: files a later package replaced are
// left out of the earlier package's record, and the scripts carry the build time.

/** One package's installed-database record (ending in a blank line). `keep(path)` says whether a
 *  non-directory is still this package's (false when a later package replaced it). */
export function installedRecord(pkg: InstalledPackage, keep: (path: string) => boolean = () => true, repositoryTag?: string): string {
  const entries = pkg.entries.filter((entry) => entry.type === 'directory' || keep(entry.path));
  return formatInstalledPackage(installedPackageFromApk(pkg.control, entries, { fileSize: pkg.end.fileSize, ...(repositoryTag ? { repositoryTag } : {}) }));
}

/** scripts.tar with every package's control scripts, mtime = build date (1024 zero bytes when none). */
export function scriptsTar(packages: readonly InstalledPackage[], mtime: number): Uint8Array {
  return buildScriptsTar(packages.flatMap((pkg) => installedScriptsFromApk(pkg.control).map((script) => ({ ...script, mtime }))));
}

/** triggers: `<identity> <glob> …`, one line per package that declares triggers. */
export function triggersFile(packages: readonly InstalledPackage[]): string {
  return formatTriggers(packages.filter((pkg) => pkg.control.pkginfo.triggers.length > 0).map((pkg) => ({ identity: pkg.control.identity, triggers: pkg.control.pkginfo.triggers })));
}

/** Sorted, de-duplicated lines with a trailing newline (world, repositories). */
export function sortedLines(lines: readonly string[]): string {
  const unique = [...new Set(lines)].sort(compareBytes);
  return unique.map((line) => `${line}\n`).join('');
}
