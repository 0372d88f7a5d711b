import { createHash } from 'node:crypto';
import { spdxLicenseTable } from './license-expression.ts';
import type { SpdxExtractedLicense } from './license-expression.ts';
import { apkPurl, ociPurl } from './model.ts';
import type { SbomImage, SbomIndex, SbomTool } from './model.ts';
import { SPDX_LICENSE_LIST_VERSION } from './spdx-license-list.ts';
import { MediaTypes } from '../oci/index.ts';

// Pure: SPDX 2.3 JSON documents (image-config.md §12) for one image and for the index. Unlike apko,
// every installed package appears (from the installed database), not only those that embed an SBOM.

/** SPDX element id from arbitrary text: `:` → `-`, other characters outside [A-Za-z0-9.-] → `C<code>`. */
export function spdxId(text: string): string {
  return text.replace(/:/g, '-').replace(/[^A-Za-z0-9.-]/g, (ch) => [...Buffer.from(ch, 'utf8')].map((byte) => `C${byte}`).join(''));
}

const MANIFEST = MediaTypes.ociManifest;
const INDEX = MediaTypes.ociIndex;

function supplier(os: Record<string, string>): string {
  return os.NAME ? `Organization: ${os.NAME}` : 'NOASSERTION';
}

/** SPDX `sourceInfo` of a package built from `origin`: `built package from: <origin> <version>`.
 *  Trivy reads the source package from exactly this (older releases reject anything but the two
 *  words after the prefix), so nothing else goes into the field. */
export function apkSourceInfo(origin: string, version: string): string {
  return `built package from: ${origin} ${version}`;
}

/** SPDX originator of an apk maintainer: `Name <email>` → `Person: Name (email)`. */
export function maintainerOriginator(maintainer: string): string {
  const match = /^(.*?)\s*<([^<>]*)>\s*$/.exec(maintainer.trim());
  if (!match) return `Person: ${maintainer.trim()}`;
  const name = match[1]!.trim();
  const email = match[2]!.trim();
  if (!name) return `Person: ${email}`;
  return email ? `Person: ${name} (${email})` : `Person: ${name}`;
}

/** An OCI artifact (index, image or layer) as an SPDX package, identified by its digest and purl. */
function ociArtifactPackage(tool: SbomTool, artifact: { id: string; digest: string; versionInfo: string; description: string; sourceInfo?: string; purl: string }): Record<string, unknown> {
  return {
    SPDXID: artifact.id,
    name: artifact.digest,
    versionInfo: artifact.versionInfo,
    supplier: `Organization: ${tool.organization}`,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    description: artifact.description,
    ...(artifact.sourceInfo ? { sourceInfo: artifact.sourceInfo } : {}),
    primaryPackagePurpose: 'CONTAINER',
    checksums: [{ algorithm: 'SHA256', checksumValue: artifact.digest.replace(/^sha256:/, '') }],
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: artifact.purl }],
  };
}

/** The SPDX 2.3 document around the packages, describing the artifact with `digest`. */
function spdxDocument(tool: SbomTool, digest: string, created: string, describes: string, packages: Array<Record<string, unknown>>, relationships: Array<Record<string, string>>, extracted: readonly SpdxExtractedLicense[] = []): Record<string, unknown> {
  return {
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `sbom-${digest}`,
    spdxVersion: 'SPDX-2.3',
    creationInfo: { created, creators: [`Tool: ${tool.name} (${tool.version})`, `Organization: ${tool.organization}`], licenseListVersion: SPDX_LICENSE_LIST_VERSION },
    dataLicense: 'CC0-1.0',
    documentNamespace: `https://spdx.org/spdxdocs/${tool.name}/${digest.replace(/^sha256:/, '')}`,
    documentDescribes: [describes],
    ...(extracted.length ? { hasExtractedLicensingInfos: extracted } : {}),
    packages,
    relationships,
  };
}

/** The SPDX document of one image. */
export function spdxImageDocument(image: SbomImage, tool: SbomTool): Record<string, unknown> {
  const imageId = `SPDXRef-Package-Image-${spdxId(image.digest)}`;
  const osId = `SPDXRef-OperatingSystem-${spdxId(image.os.ID || 'unknown')}`;
  const packages: Array<Record<string, unknown>> = [
    ociArtifactPackage(tool, {
      id: imageId,
      digest: image.digest,
      versionInfo: image.digest,
      description: `${tool.name} container image`,
      purl: ociPurl(image.repository, image.digest, { arch: image.ociArch, mediaType: MANIFEST, os: 'linux' }),
    }),
  ];
  const relationships: Array<Record<string, string>> = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  for (const layer of image.layers) {
    const id = `SPDXRef-Package-ImageLayer-${spdxId(layer.digest)}`;
    if (packages.some((pkg) => pkg.SPDXID === id)) continue;
    packages.push(
      ociArtifactPackage(tool, {
        id,
        digest: layer.digest,
        versionInfo: image.os.VERSION_ID || 'NOASSERTION',
        description: `${tool.name} operating system layer`,
        purl: ociPurl(image.repository, layer.digest, { arch: image.ociArch, mediaType: layer.mediaType, os: 'linux' }),
      }),
    );
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  packages.push({
    SPDXID: osId,
    name: image.os.ID || 'unknown',
    versionInfo: image.os.VERSION_ID || 'NOASSERTION',
    supplier: supplier(image.os),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    description: 'Operating System',
    primaryPackagePurpose: 'OPERATING_SYSTEM',
  });
  relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: osId });
  const idOf = (name: string, version: string) => `SPDXRef-Package-${spdxId(`${name}-${version}`)}`;
  const byName = new Map(image.packages.map((pkg) => [pkg.name, pkg]));
  const licenses = spdxLicenseTable(image.packages.flatMap((pkg) => (pkg.license ? [pkg.license] : [])));
  const sourceIds = new Set<string>();
  for (const pkg of image.packages) {
    const id = idOf(pkg.name, pkg.version);
    const checksums = [{ algorithm: 'SHA1', checksumValue: pkg.controlSha1 }];
    if (pkg.dataSha256) checksums.push({ algorithm: 'SHA256', checksumValue: pkg.dataSha256 });
    packages.push({
      SPDXID: id,
      name: pkg.name,
      versionInfo: pkg.version,
      supplier: supplier(image.os),
      ...(pkg.maintainer ? { originator: maintainerOriginator(pkg.maintainer) } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: pkg.license ? licenses.expressionOf(pkg.license) : 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      ...(pkg.url ? { homepage: pkg.url } : {}),
      ...(pkg.origin ? { sourceInfo: apkSourceInfo(pkg.origin, pkg.version) } : {}),
      ...(pkg.description ? { summary: pkg.description } : {}),
      primaryPackagePurpose: 'LIBRARY',
      checksums,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: apkPurl(pkg, image.os) }],
    });
    // The operating system contains its packages (scanners such as Trivy take OS packages from
    // this edge); the image containing them as well stays true.
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    relationships.push({ spdxElementId: osId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    for (const source of pkg.sources ?? []) {
      // Name and version alone repeat when a recipe fetches twice; the purl carries the download
      // URL and checksum, so its hash keeps ids apart. A source listed twice is one element.
      const sourceId = `SPDXRef-Package-Source-${spdxId(`${pkg.name}-${source.name}-${source.version}`)}-${createHash('sha256').update(source.purl).digest('hex').slice(0, 12)}`;
      if (sourceIds.has(sourceId)) continue;
      sourceIds.add(sourceId);
      packages.push({
        SPDXID: sourceId,
        name: source.name,
        versionInfo: source.version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        primaryPackagePurpose: 'SOURCE',
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: source.purl }],
      });
      relationships.push({ spdxElementId: id, relationshipType: 'GENERATED_FROM', relatedSpdxElement: sourceId });
    }
  }
  for (const pkg of image.packages) {
    for (const dependency of pkg.dependsOn) {
      const target = byName.get(dependency);
      if (target) relationships.push({ spdxElementId: idOf(pkg.name, pkg.version), relationshipType: 'DEPENDS_ON', relatedSpdxElement: idOf(target.name, target.version) });
    }
  }
  return spdxDocument(tool, image.digest, image.created, imageId, packages, relationships, licenses.extracted);
}

/** The SPDX document of the index: the index and one package per arch image (VARIANT_OF). */
export function spdxIndexDocument(index: SbomIndex, tool: SbomTool): Record<string, unknown> {
  const indexId = `SPDXRef-Package-${spdxId(index.digest)}`;
  const packages: Array<Record<string, unknown>> = [
    ociArtifactPackage(tool, {
      id: indexId,
      digest: index.digest,
      versionInfo: index.digest,
      description: 'Multi-arch image index',
      sourceInfo: `Generated at image build time by ${tool.name}`,
      purl: ociPurl(index.repository, index.digest, { mediaType: INDEX }),
    }),
  ];
  const relationships: Array<Record<string, string>> = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: indexId }];
  for (const image of index.images) {
    const id = `SPDXRef-Package-${spdxId(image.digest)}`;
    packages.push(
      ociArtifactPackage(tool, {
        id,
        digest: image.digest,
        versionInfo: image.digest,
        description: `${tool.name} container image for ${image.ociArch}`,
        purl: ociPurl(index.repository, image.digest, { arch: image.ociArch, mediaType: MANIFEST, os: 'linux' }),
      }),
    );
    relationships.push({ spdxElementId: id, relationshipType: 'VARIANT_OF', relatedSpdxElement: indexId });
  }
  return spdxDocument(tool, index.digest, index.created, indexId, packages, relationships);
}
