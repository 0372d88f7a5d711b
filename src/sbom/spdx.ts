import { apkPurl, ociPurl } from './model.ts';
import type { SbomImage, SbomIndex, SbomTool } from './model.ts';

// Pure: SPDX 2.3 JSON documents (image-config.md §12) for one image and for the index. Unlike apko,
// every installed package appears (from the installed database), not only those that embed an SBOM.

/** SPDX element id from arbitrary text: `:` → `-`, other characters outside [A-Za-z0-9.-] → `C<code>`. */
export function spdxId(text: string): string {
  return text.replace(/:/g, '-').replace(/[^A-Za-z0-9.-]/g, (ch) => [...Buffer.from(ch, 'utf8')].map((byte) => `C${byte}`).join(''));
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

function supplier(os: Record<string, string>): string {
  return os.NAME ? `Organization: ${os.NAME}` : 'NOASSERTION';
}

/** The SPDX document of one image. */
export function spdxImageDocument(image: SbomImage, tool: SbomTool): Record<string, unknown> {
  const hex = image.digest.replace(/^sha256:/, '');
  const imageId = `SPDXRef-Package-Image-${spdxId(image.digest)}`;
  const osId = `SPDXRef-OperatingSystem-${spdxId(image.os.ID || 'unknown')}`;
  const packages: Array<Record<string, unknown>> = [
    {
      SPDXID: imageId,
      name: image.digest,
      versionInfo: image.digest,
      supplier: `Organization: ${tool.organization}`,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      description: `${tool.name} container image`,
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(image.repository, image.digest, { arch: image.ociArch, mediaType: MANIFEST, os: 'linux' }) }],
    },
  ];
  const relationships: Array<Record<string, string>> = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  for (const layer of image.layers) {
    const id = `SPDXRef-Package-ImageLayer-${spdxId(layer.digest)}`;
    if (packages.some((pkg) => pkg.SPDXID === id)) continue;
    packages.push({
      SPDXID: id,
      name: layer.digest,
      versionInfo: image.os.VERSION_ID || 'NOASSERTION',
      supplier: `Organization: ${tool.organization}`,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      description: `${tool.name} operating system layer`,
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: layer.digest.replace(/^sha256:/, '') }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(image.repository, layer.digest, { arch: image.ociArch, mediaType: layer.mediaType, os: 'linux' }) }],
    });
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
      ...(pkg.origin ? { sourceInfo: `built from origin ${pkg.origin}` } : {}),
      ...(pkg.description ? { summary: pkg.description } : {}),
      primaryPackagePurpose: 'LIBRARY',
      checksums,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: apkPurl(pkg, image.os) }],
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  for (const pkg of image.packages) {
    for (const dependency of pkg.dependsOn) {
      const target = byName.get(dependency);
      if (target) relationships.push({ spdxElementId: idOf(pkg.name, pkg.version), relationshipType: 'DEPENDS_ON', relatedSpdxElement: idOf(target.name, target.version) });
    }
  }
  return {
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `sbom-${image.digest}`,
    spdxVersion: 'SPDX-2.3',
    creationInfo: { created: image.created, creators: [`Tool: ${tool.name} (${tool.version})`, `Organization: ${tool.organization}`], licenseListVersion: '3.27' },
    dataLicense: 'CC0-1.0',
    documentNamespace: `https://spdx.org/spdxdocs/${tool.name}/${hex}`,
    documentDescribes: [imageId],
    packages,
    relationships,
  };
}

/** The SPDX document of the index: the index and one package per arch image (VARIANT_OF). */
export function spdxIndexDocument(index: SbomIndex, tool: SbomTool): Record<string, unknown> {
  const hex = index.digest.replace(/^sha256:/, '');
  const indexId = `SPDXRef-Package-${spdxId(index.digest)}`;
  const packages: Array<Record<string, unknown>> = [
    {
      SPDXID: indexId,
      name: index.digest,
      versionInfo: index.digest,
      supplier: `Organization: ${tool.organization}`,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      description: 'Multi-arch image index',
      sourceInfo: `Generated at image build time by ${tool.name}`,
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(index.repository, index.digest, { mediaType: INDEX }) }],
    },
  ];
  const relationships: Array<Record<string, string>> = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: indexId }];
  for (const image of index.images) {
    const id = `SPDXRef-Package-${spdxId(image.digest)}`;
    packages.push({
      SPDXID: id,
      name: image.digest,
      versionInfo: image.digest,
      supplier: `Organization: ${tool.organization}`,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      description: `${tool.name} container image for ${image.ociArch}`,
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: image.digest.replace(/^sha256:/, '') }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(index.repository, image.digest, { arch: image.ociArch, mediaType: MANIFEST, os: 'linux' }) }],
    });
    relationships.push({ spdxElementId: id, relationshipType: 'VARIANT_OF', relatedSpdxElement: indexId });
  }
  return {
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `sbom-${index.digest}`,
    spdxVersion: 'SPDX-2.3',
    creationInfo: { created: index.created, creators: [`Tool: ${tool.name} (${tool.version})`, `Organization: ${tool.organization}`], licenseListVersion: '3.27' },
    dataLicense: 'CC0-1.0',
    documentNamespace: `https://spdx.org/spdxdocs/${tool.name}/${hex}`,
    documentDescribes: [indexId],
    packages,
    relationships,
  };
}
