// Pure: where a catalog image is published and under which tags.

/** The repository and tags of one publication of a catalog image. */
export interface ImageTags {
  /** Repository path under the registry host (`kiln/curl`; `-dev` variants share their image's). */
  repository: string;
  /** Tags that follow the newest digest: `latest`, `VERSION`, `VERSION-rN` (with `-dev` for variants). */
  moving: string[];
  /** `VERSION-YYYYMMDD`: set once, never moved. */
  dated: string;
}

/** `-dev` images publish into their base image's repository with `-dev` tags, as Chainguard's do. */
export function isDevImage(name: string): boolean {
  return name.endsWith('-dev') && name.length > 4;
}

/** The registry repository of a catalog image under `namespace` (`-dev` images share their base's). */
export function imageRepository(name: string, namespace: string): string {
  const base = isDevImage(name) ? name.slice(0, -4) : name;
  return namespace ? `${namespace}/${base}` : base;
}

/** Tags of an image whose main package has the apk version `fullVersion` (`1.2.13-r1`), published on
 *  `date` (`YYYYMMDD`, UTC). */
export function imageTags(options: { name: string; namespace: string; fullVersion: string; date: string }): ImageTags {
  const suffix = isDevImage(options.name) ? '-dev' : '';
  const match = /^(.*)-r(\d+)$/.exec(options.fullVersion);
  const version = match ? match[1]! : options.fullVersion;
  const release = match ? `${version}-r${match[2]!}` : `${version}-r0`;
  // Tags allow [A-Za-z0-9_.-]; apk versions may carry other characters (`_p1` is fine, `~` is not).
  const clean = (tag: string) => tag.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
  return {
    repository: imageRepository(options.name, options.namespace),
    moving: [`latest${suffix}`, clean(`${version}${suffix}`), clean(`${release}${suffix}`)],
    dated: clean(`${version}-${options.date}${suffix}`),
  };
}

/** The package whose version names an image: the configured one, else the package named like the
 *  image (without `-dev`), else the first package the configuration lists. */
export function mainPackageOf(options: { name: string; configured?: string; listed: readonly string[]; installed: readonly { name: string; version: string }[] }): { name: string; version: string } | undefined {
  const installed = new Map(options.installed.map((pkg) => [pkg.name, pkg.version]));
  const base = isDevImage(options.name) ? options.name.slice(0, -4) : options.name;
  const candidates = [...(options.configured ? [options.configured] : []), base, ...options.listed.map((entry) => entry.split(/[<>=~]/)[0]!)];
  for (const candidate of candidates) {
    const version = installed.get(candidate);
    if (version) return { name: candidate, version };
  }
  return undefined;
}
