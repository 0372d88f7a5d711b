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

/** apk purl: `pkg:apk/<distro-id>/<name>@<version>?arch=<arch>&distro=<id>-<version_id>`. */
export function apkPurl(pkg: SbomPackage, os: Record<string, string>): string {
  const namespace = encodeURIComponent((os.ID || 'unknown').toLowerCase());
  const qualifiers = [`arch=${encodeURIComponent(pkg.arch)}`];
  if (os.ID) qualifiers.push(`distro=${encodeURIComponent(os.VERSION_ID ? `${os.ID}-${os.VERSION_ID}` : os.ID)}`);
  return `pkg:apk/${namespace}/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}?${qualifiers.join('&')}`;
}

/** OCI purl of an image manifest or index. */
export function ociPurl(repository: string, digest: string, qualifiers: Record<string, string>): string {
  const query = Object.keys(qualifiers)
    .sort()
    .map((key) => `${key}=${encodeURIComponent(qualifiers[key]!)}`)
    .join('&');
  return `pkg:oci/${encodeURIComponent(repository)}@${encodeURIComponent(digest).replace('%3A', ':')}${query ? `?${query}` : ''}`;
}
