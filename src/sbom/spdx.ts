import { apkPurl, ociPurl } from './model.ts';
import type { SbomImage, SbomIndex, SbomTool } from './model.ts';
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
function spdxDocument(tool: SbomTool, digest: string, created: string, describes: string, packages: Array<Record<string, unknown>>, relationships: Array<Record<string, string>>): Record<string, unknown> {
  return {
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `sbom-${digest}`,
    spdxVersion: 'SPDX-2.3',
    creationInfo: { created, creators: [`Tool: ${tool.name} (${tool.version})`, `Organization: ${tool.organization}`], licenseListVersion: '3.27' },
    dataLicense: 'CC0-1.0',
    documentNamespace: `https://spdx.org/spdxdocs/${tool.name}/${digest.replace(/^sha256:/, '')}`,
    documentDescribes: [describes],
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
  for (const pkg of image.packages) {
    const id = idOf(pkg.name, pkg.version);
    const checksums = [{ algorithm: 'SHA1', checksumValue: pkg.controlSha1 }];
    if (pkg.dataSha256) checksums.push({ algorithm: 'SHA256', checksumValue: pkg.dataSha256 });
    packages.push({
      SPDXID: id,
      name: pkg.name,
      versionInfo: pkg.version,
      supplier: supplier(image.os),
      ...(pkg.maintainer ? { originator: `Person: ${pkg.maintainer.replace(/[<>]/g, '').trim()}` } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: pkg.license || 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      ...(pkg.url ? { homepage: pkg.url } : {}),
      ...(pkg.origin ? { sourceInfo: `built from origin ${pkg.origin}${(pkg.sources ?? []).map((source) => `; source ${source.name} ${source.version}`).join('')}` } : {}),
      ...(pkg.description ? { summary: pkg.description } : {}),
      primaryPackagePurpose: 'LIBRARY',
      checksums,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: apkPurl(pkg, image.os) }],
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    for (const source of pkg.sources ?? []) {
      const sourceId = `SPDXRef-Package-Source-${spdxId(`${pkg.name}-${source.name}-${source.version}`)}`;
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
  return spdxDocument(tool, image.digest, image.created, imageId, packages, relationships);
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
