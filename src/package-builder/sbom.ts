import { apkSourceInfo, conjoinLicenses, formatApkPurl, SPDX_LICENSE_LIST_VERSION, spdxLicenseTable } from '../sbom/index.ts';
import type { SpdxExtractedLicense } from '../sbom/index.ts';
import type { SourceReference } from './compile.ts';

// The SPDX 2.3 document embedded in each package at var/lib/db/sbom/<pkg>-<fullver>.spdx.json,
// shaped like melange's (operating system, the apk package, the recipe, upstream sources).

/** Inputs of one package's SBOM. */
interface SbomInput {
  packageName: string;
  fullVersion: string;
  arch: string;
  /** The package's origin (the recipe's main package); a subpackage names it as its upstream. */
  origin?: string;
  namespace: string;
  licenses: readonly string[];
  attestations: readonly string[];
  sourceDateEpoch: number;
  recipePath: string;
  recipeCommit: string;
  recipeLicense: string;
  gitRepoUrl: string;
  sources: readonly SourceReference[];
  toolVersion: string;
  cpe?: string;
}

/** Path of the SBOM inside a package. */
export function sbomPath(packageName: string, fullVersion: string): string {
  return `var/lib/db/sbom/${packageName}-${fullVersion}.spdx.json`;
}

/** SPDX identifiers: `:` and `/` → `-`, other characters outside [A-Za-z0-9.-] → `C<code point>`. */
export function spdxId(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch === ':' || ch === '/') out += '-';
    else if (/[A-Za-z0-9.-]/.test(ch)) out += ch;
    else out += `C${ch.codePointAt(0)}`;
  }
  return out;
}

/** FNV-1a, 128 bit, hex. */
export function fnv1a128(text: string): string {
  let hash = 0x6c62272e07bb014262b821756295c58dn;
  const prime = 0x0000000001000000000000000000013bn;
  const mask = (1n << 128n) - 1n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(32, '0');
}

/** The recipe's licences as one SPDX expression: each valid one as it is, each other text as a
 *  LicenseRef- of its own, all of them joined with AND. */
function licenseExpression(licenses: readonly string[]): { expression: string; extracted: SpdxExtractedLicense[] } {
  const table = spdxLicenseTable(licenses);
  const expression = conjoinLicenses(licenses.map((license) => table.expressionOf(license)));
  return { expression: expression || 'NOASSERTION', extracted: table.extracted };
}

function purlEncode(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, '/').replace(/%3A/gi, ':');
}

function titleCase(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Builds the SPDX JSON text (2-space indent, trailing newline). */
export function buildSbom(input: SbomInput): string {
  const apkId = `SPDXRef-Package-apk-${spdxId(`${input.packageName}-${input.fullVersion}`)}`;
  const recipeId = `SPDXRef-Package-Melange-${spdxId(`${input.recipePath}-${input.recipeCommit}`)}`;
  const supplier = `Organization: ${titleCase(input.namespace)}`;
  const { expression, extracted } = licenseExpression(input.licenses);
  const purl = formatApkPurl({
    namespace: input.namespace,
    name: input.packageName,
    version: input.fullVersion,
    arch: input.arch,
    ...(input.namespace === 'unknown' ? {} : { distro: input.namespace }),
    ...(input.origin ? { origin: input.origin } : {}),
  });
  const apkPackage: Record<string, unknown> = {
    SPDXID: apkId,
    name: input.packageName,
    versionInfo: input.fullVersion,
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: expression,
    downloadLocation: 'NOASSERTION',
    copyrightText: input.attestations.length ? input.attestations.join('\n') : 'NOASSERTION',
    supplier,
    originator: supplier,
    ...(input.origin ? { sourceInfo: apkSourceInfo(input.origin, input.fullVersion) } : {}),
    primaryPackagePurpose: 'APPLICATION',
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl },
      ...(input.cpe ? [{ referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: input.cpe }] : []),
    ],
  };
  const packages: Record<string, unknown>[] = [
    { SPDXID: 'SPDXRef-OperatingSystem', name: input.namespace, filesAnalyzed: false, licenseConcluded: 'NOASSERTION', licenseDeclared: 'NOASSERTION', downloadLocation: 'NOASSERTION', copyrightText: 'NOASSERTION', supplier, originator: supplier, description: 'Operating System', primaryPackagePurpose: 'OPERATING_SYSTEM' },
    apkPackage,
    {
      SPDXID: recipeId,
      name: input.recipePath,
      versionInfo: input.recipeCommit,
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: input.recipeLicense,
      downloadLocation: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      supplier,
      originator: supplier,
      primaryPackagePurpose: 'INSTALL',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `${githubPurl(input.gitRepoUrl, input.recipeCommit)}#${input.recipePath}` }],
    },
  ];
  const relationships: Record<string, string>[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: apkId },
    { spdxElementId: apkId, relationshipType: 'DESCRIBED_BY', relatedSpdxElement: recipeId },
  ];
  for (const source of input.sources) {
    if (source.kind === 'debian-source' && source.debian) {
      // The Debian source package the apk was built from: its .dsc pins every file and patch.
      const { package: name, version } = source.debian;
      const id = `SPDXRef-Package-Source-${spdxId(`${name}-${version}-${source.stepIndex}`)}`;
      packages.push({
        SPDXID: id,
        name,
        versionInfo: version,
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        downloadLocation: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        supplier: 'Organization: Debian',
        originator: 'Organization: Debian',
        checksums: [{ algorithm: 'SHA256', checksumValue: source.debian.dscSha256 }],
        primaryPackagePurpose: 'SOURCE',
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: source.uri }],
      });
      relationships.push({ spdxElementId: apkId, relationshipType: 'GENERATED_FROM', relatedSpdxElement: id });
      continue;
    }
    if (source.kind !== 'fetch') continue;
    const name = source.purlName ?? input.packageName;
    const version = source.purlVersion ?? input.fullVersion;
    const id = `SPDXRef-Package-Source-${spdxId(`${name}-${version}-${source.stepIndex}`)}`;
    const checksums = [
      ...(source.sha256 ? [{ algorithm: 'SHA256', checksumValue: source.sha256 }] : []),
      ...(source.sha512 ? [{ algorithm: 'SHA512', checksumValue: source.sha512 }] : []),
    ];
    const sourceQualifiers = [...(source.sha256 ? [`checksum=${purlEncode(`sha256:${source.sha256}`)}`] : []), `download_url=${encodeURIComponent(source.uri)}`].sort();
    packages.push({
      SPDXID: id,
      name,
      versionInfo: version,
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      downloadLocation: source.uri,
      copyrightText: 'NOASSERTION',
      supplier,
      originator: supplier,
      checksums,
      primaryPackagePurpose: 'SOURCE',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:generic/${encodeURIComponent(name)}@${purlEncode(version)}?${sourceQualifiers.join('&')}` }],
    });
    relationships.push({ spdxElementId: apkId, relationshipType: 'GENERATED_FROM', relatedSpdxElement: id });
  }
  const document = {
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `apk-${input.packageName}-${input.fullVersion}`,
    spdxVersion: 'SPDX-2.3',
    creationInfo: {
      created: new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: kiln (${input.toolVersion})`, 'Organization: Kiln'],
      licenseListVersion: SPDX_LICENSE_LIST_VERSION,
    },
    dataLicense: 'CC0-1.0',
    // The arch is part of it: the x86_64 and aarch64 builds of a package are different documents.
    documentNamespace: `https://spdx.org/spdxdocs/kiln/${fnv1a128(`apk-${input.namespace}-${input.packageName}-${input.fullVersion}-${input.arch}`)}`,
    documentDescribes: [apkId],
    ...(extracted.length ? { hasExtractedLicensingInfos: extracted } : {}),
    packages,
    relationships,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function githubPurl(repoUrl: string, commit: string): string {
  const match = /^https?:\/\/[^/]+\/([^/]+)\/([^/#?]+?)(?:\.git)?\/?$/.exec(repoUrl);
  return match ? `pkg:github/${match[1]!.toLowerCase()}/${match[2]!.toLowerCase()}@${commit}` : `pkg:generic/recipe@${commit}`;
}
