import type { CompareSide, SeverityTally } from './model.ts';

// Pure: one side of the comparison page from what was read out of an image (its layers, file
// tree and packages), whatever the image's distribution.

/** Paths whose presence means the image has a shell. */
export const SHELL_PATHS = ['bin/sh', 'bin/bash', 'bin/ash', 'bin/dash', 'bin/zsh', 'usr/bin/sh', 'usr/bin/bash', 'usr/bin/dash', 'bin/busybox'];

/** Paths whose presence means the image has a package manager. */
export const PACKAGE_MANAGER_PATHS = ['sbin/apk', 'usr/sbin/apk', 'usr/bin/apk', 'usr/bin/apt', 'usr/bin/apt-get', 'usr/bin/dpkg', 'bin/rpm', 'usr/bin/rpm', 'usr/bin/dnf', 'usr/bin/yum', 'usr/bin/microdnf', 'usr/bin/pip', 'usr/bin/pip3'];

/** What the comparison needs of one single-platform image. */
export interface CompareInput {
  label: string;
  reference: string;
  platform?: string;
  layers: ReadonlyArray<{ compressedSize: number; uncompressedSize: number }>;
  /** Paths in the image (with or without a leading `/`). */
  files: Iterable<string>;
  /** Packages the image's package database lists (apk, or dpkg status entries). */
  packages: number;
  cves?: SeverityTally;
  cvesNote?: string;
}

/** A comparison side: sizes summed over layers, packages, CVEs, and shell / package manager found
 *  by path. */
export function compareSide(input: CompareInput): CompareSide {
  const paths = new Set<string>();
  for (const file of input.files) paths.add(file.replace(/^\.?\/+/, ''));
  const shellPaths = SHELL_PATHS.filter((path) => paths.has(path));
  const packageManagerPaths = PACKAGE_MANAGER_PATHS.filter((path) => paths.has(path));
  return {
    label: input.label,
    reference: input.reference,
    ...(input.platform ? { platform: input.platform } : {}),
    compressedSize: input.layers.reduce((sum, layer) => sum + layer.compressedSize, 0),
    uncompressedSize: input.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0),
    packages: input.packages,
    ...(input.cves ? { cves: input.cves } : {}),
    ...(input.cvesNote ? { cvesNote: input.cvesNote } : {}),
    shell: shellPaths.length > 0,
    packageManager: packageManagerPaths.length > 0,
    shellPaths,
    packageManagerPaths,
  };
}

/** Packages dpkg knows of, counted from the file tree (Debian-based images, whose packages the apk
 *  database does not list): one `var/lib/dpkg/info/<package>.list` per installed package, or one
 *  `var/lib/dpkg/status.d/<package>` per package in distroless images. */
export function countDpkgPackages(files: Iterable<string>): number {
  let lists = 0;
  let statusD = 0;
  for (const file of files) {
    const path = file.replace(/^\.?\/+/, '');
    if (/^var\/lib\/dpkg\/info\/[^/]+\.list$/.test(path)) lists++;
    else if (/^var\/lib\/dpkg\/status\.d\/[^/.]+$/.test(path)) statusD++;
  }
  return lists || statusD;
}
