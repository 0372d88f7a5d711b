// Pure: what an SBOM says about an image, independent of the output format.

/** One installed apk package. */
export interface SbomPackage {
  name: string;
  version: string;
  /** apk architecture. */
  arch: string;
  license?: string;
  description?: string;
  url?: string;
  origin?: string;
  maintainer?: string;
  /** Hex SHA-1 of the control member (the apk identity). */
  controlSha1: string;
  /** Hex SHA-256 of the data member (datahash). */
  dataSha256?: string;
  /** Names this package depends on that are installed (resolved through provides). */
  dependsOn: string[];
  /** Source packages it was built from, as its own embedded SBOM names them (a Debian source). */
  sources?: { name: string; version: string; purl: string }[];
}

/** One image of an architecture. */
export interface SbomImage {
  /** Manifest digest `sha256:…`. */
  digest: string;
  /** OCI arch name (`amd64`, `arm/v7`). */
  ociArch: string;
  /** apk arch name. */
  apkArch: string;
  layers: Array<{ digest: string; mediaType: string }>;
  /** os-release fields (ID, NAME, VERSION_ID …). */
  os: Record<string, string>;
  packages: SbomPackage[];
  /** Image time, RFC 3339. */
  created: string;
  /** Repository name for purls (basename of the tag's repository). */
  repository: string;
}

/** The index over per-arch images. */
export interface SbomIndex {
  digest: string;
  created: string;
  repository: string;
  images: SbomImage[];
}

/** Creator/tool identity written into documents. */
export interface SbomTool {
  name: string;
  version: string;
  organization: string;
}

/** The parts of an apk package URL (purl-spec `apk` type). */
export interface ApkPurlParts {
  /** The distribution (`alpine`, `wolfi`, `kiln`): the purl namespace, which the apk type requires. */
  namespace: string;
  name: string;
  version: string;
  arch?: string;
  /** `distro` qualifier: `<ID>-<VERSION_ID>` of os-release, or the ID alone. */
  distro?: string;
  /** The origin (source package) the package was built from. */
  origin?: string;
}

/** `pkg:apk/<namespace>/<name>@<version>?arch=…&distro=…&upstream=…`, every part percent-encoded
 *  (`libstdc++` → `libstdc%2B%2B`) and the qualifiers sorted by key. The origin is written as
 *  `upstream` only when it differs from the name, as Syft writes it, so scanners find the source
 *  package that security advisories name. */
export function formatApkPurl(parts: ApkPurlParts): string {
  const qualifiers: Record<string, string> = {};
  if (parts.arch) qualifiers.arch = parts.arch;
  if (parts.distro) qualifiers.distro = parts.distro;
  if (parts.origin && parts.origin !== parts.name) qualifiers.upstream = parts.origin;
  const query = Object.keys(qualifiers)
    .sort()
    .map((key) => `${key}=${encodeURIComponent(qualifiers[key]!)}`)
    .join('&');
  return `pkg:apk/${encodeURIComponent(parts.namespace.toLowerCase())}/${encodeURIComponent(parts.name)}@${encodeURIComponent(parts.version)}${query ? `?${query}` : ''}`;
}

/** The purl of an installed package in an image with the given os-release fields:
 *  `pkg:apk/<ID>/<name>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID>[&upstream=<origin>]`. */
export function apkPurl(pkg: Pick<SbomPackage, 'name' | 'version' | 'arch' | 'origin'>, os: Record<string, string>): string {
  return formatApkPurl({
    namespace: os.ID || 'unknown',
    name: pkg.name,
    version: pkg.version,
    arch: pkg.arch,
    ...(os.ID ? { distro: os.VERSION_ID ? `${os.ID}-${os.VERSION_ID}` : os.ID } : {}),
    ...(pkg.origin ? { origin: pkg.origin } : {}),
  });
}

/** OCI purl of an image manifest or index. */
export function ociPurl(repository: string, digest: string, qualifiers: Record<string, string>): string {
  const query = Object.keys(qualifiers)
    .sort()
    .map((key) => `${key}=${encodeURIComponent(qualifiers[key]!)}`)
    .join('&');
  return `pkg:oci/${encodeURIComponent(repository)}@${encodeURIComponent(digest).replace('%3A', ':')}${query ? `?${query}` : ''}`;
}
