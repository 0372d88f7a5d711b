import { SbomError } from './errors.ts';

// Pure: the apk packages an SPDX 2.x or CycloneDX 1.x JSON SBOM lists, as Kiln, apko, Syft and
// Trivy write them. A package is known by its `pkg:apk/...` purl; its origin (source package) comes
// from whichever field the writing tool uses: Syft's `upstream` purl qualifier, Kiln's
// `kiln:apk:origin` property or SPDX `sourceInfo`, Trivy's `aquasecurity:trivy:SrcName` property.

/** An apk package listed in an SBOM. */
export interface SbomApkPackage {
  name: string;
  version: string;
  origin?: string;
  arch?: string;
  /** The purl namespace (`alpine`, `wolfi`, `kiln` …). */
  namespace: string;
  /** The purl `distro` qualifier (`alpine-3.20.3`, `3.20.3`), when present. */
  distro?: string;
  purl: string;
}

/** What an SBOM says about the apk packages of the thing it describes. */
export interface SbomContents {
  format: 'spdx' | 'cyclonedx';
  packages: SbomApkPackage[];
}

/** Parses an apk purl (`pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&distro=alpine-3.19.1`), or undefined. */
export function parseApkPurl(purl: string): (SbomApkPackage & { qualifiers: Record<string, string> }) | undefined {
  const match = /^pkg:apk\/([^/@?#]+)\/([^@?#]+)@([^?#]+)(?:\?([^#]*))?/.exec(purl);
  if (!match) return undefined;
  const qualifiers: Record<string, string> = {};
  for (const pair of (match[4] ?? '').split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    if (at > 0) qualifiers[decodeURIComponent(pair.slice(0, at))] = decodeURIComponent(pair.slice(at + 1));
  }
  return {
    namespace: decodeURIComponent(match[1]!).toLowerCase(),
    name: decodeURIComponent(match[2]!),
    version: decodeURIComponent(match[3]!),
    ...(qualifiers.arch ? { arch: qualifiers.arch } : {}),
    ...(qualifiers.distro ? { distro: qualifiers.distro } : {}),
    ...(qualifiers.upstream ? { origin: qualifiers.upstream.replace(/@.*$/, '') } : {}),
    purl,
    qualifiers,
  };
}

const SOURCE_INFO = /^built (?:package )?from(?: origin)?:?\s+([^\s;]+)/i;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The apk packages of a parsed SPDX or CycloneDX JSON document (deduplicated by purl).
 *  SBOM_UNREADABLE when the document is neither. */
export function readSbomPackages(document: unknown, source: string): SbomContents {
  if (!isObject(document)) throw new SbomError('SBOM_UNREADABLE', `${source}: not an SPDX or CycloneDX JSON document`, { detail: { source } });
  const packages = new Map<string, SbomApkPackage>();
  const add = (purl: unknown, origin: string | undefined) => {
    if (typeof purl !== 'string') return;
    const parsed = parseApkPurl(purl);
    if (!parsed) return;
    const { qualifiers: _qualifiers, ...pkg } = parsed;
    if (!pkg.origin && origin) pkg.origin = origin;
    packages.set(purl, pkg);
  };
  if (typeof document.spdxVersion === 'string') {
    for (const pkg of Array.isArray(document.packages) ? document.packages : []) {
      if (!isObject(pkg) || !Array.isArray(pkg.externalRefs)) continue;
      const origin = typeof pkg.sourceInfo === 'string' ? SOURCE_INFO.exec(pkg.sourceInfo)?.[1] : undefined;
      for (const ref of pkg.externalRefs) if (isObject(ref) && ref.referenceType === 'purl') add(ref.referenceLocator, origin);
    }
    return { format: 'spdx', packages: [...packages.values()] };
  }
  if (document.bomFormat === 'CycloneDX') {
    const visit = (components: unknown) => {
      for (const component of Array.isArray(components) ? components : []) {
        if (!isObject(component)) continue;
        const properties = Array.isArray(component.properties) ? component.properties.filter(isObject) : [];
        const origin = properties.find((property) => property.name === 'kiln:apk:origin' || property.name === 'aquasecurity:trivy:SrcName' || property.name === 'syft:metadata:originPackage')?.value;
        add(component.purl, typeof origin === 'string' ? origin : undefined);
        visit(component.components);
      }
    };
    visit(document.components);
    return { format: 'cyclonedx', packages: [...packages.values()] };
  }
  throw new SbomError('SBOM_UNREADABLE', `${source}: not an SPDX (spdxVersion) or CycloneDX (bomFormat) document`, { detail: { source } });
}
