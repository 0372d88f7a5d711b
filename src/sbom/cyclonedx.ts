import { createHash } from 'node:crypto';
import { spdxLicenseExpression } from './license-expression.ts';
import { apkPurl, ociPurl } from './model.ts';
import type { SbomImage, SbomTool } from './model.ts';
import { MediaTypes } from '../oci/index.ts';

// Pure: a CycloneDX 1.6 JSON BOM of one image. The serial number is derived from the manifest
// digest so the same image always gets the same document.

/** A declared licence as CycloneDX has it: an SPDX expression as `expression`, any other text as
 *  a licence `name` (an `expression` must be valid SPDX). */
function cyclonedxLicense(text: string): Record<string, unknown> {
  const expression = spdxLicenseExpression(text);
  return expression ? { expression } : { license: { name: text } };
}

function uuidFrom(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  // RFC 4122 version 5-style layout (name-based), from SHA-256 instead of SHA-1
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** The CycloneDX document of one image. */
export function cyclonedxImageDocument(image: SbomImage, tool: SbomTool): Record<string, unknown> {
  const imageRef = ociPurl(image.repository, image.digest, { arch: image.ociArch, mediaType: MediaTypes.ociManifest, os: 'linux' });
  const osRef = `os:${image.os.ID || 'unknown'}@${image.os.VERSION_ID || 'unknown'}`;
  const refOf = new Map(image.packages.map((pkg) => [pkg.name, apkPurl(pkg, image.os)]));
  const components: Array<Record<string, unknown>> = [
    {
      type: 'operating-system',
      'bom-ref': osRef,
      name: image.os.ID || 'unknown',
      ...(image.os.VERSION_ID ? { version: image.os.VERSION_ID } : {}),
      ...(image.os.NAME ? { description: image.os.NAME } : {}),
    },
  ];
  for (const pkg of image.packages) {
    const hashes = [{ alg: 'SHA-1', content: pkg.controlSha1 }];
    if (pkg.dataSha256) hashes.push({ alg: 'SHA-256', content: pkg.dataSha256 });
    components.push({
      type: 'library',
      'bom-ref': refOf.get(pkg.name),
      ...(image.os.NAME ? { supplier: { name: image.os.NAME } } : {}),
      name: pkg.name,
      version: pkg.version,
      ...(pkg.description ? { description: pkg.description } : {}),
      hashes,
      ...(pkg.license ? { licenses: [cyclonedxLicense(pkg.license)] } : {}),
      purl: refOf.get(pkg.name),
      ...(pkg.url ? { externalReferences: [{ type: 'website', url: pkg.url }] } : {}),
      properties: [
        { name: 'kiln:apk:arch', value: pkg.arch },
        // Trivy matches advisories by source package, which it reads from these two properties.
        ...(pkg.origin
          ? [
              { name: 'kiln:apk:origin', value: pkg.origin },
              { name: 'aquasecurity:trivy:SrcName', value: pkg.origin },
              { name: 'aquasecurity:trivy:SrcVersion', value: pkg.version },
            ]
          : []),
      ],
    });
  }
  // Every component has an entry, an empty one when it depends on nothing (CycloneDX 1.6: a
  // component without an entry has unknown dependencies), and the operating system depends on its
  // packages, which is where scanners look for OS packages.
  const dependencies = [
    { ref: imageRef, dependsOn: [osRef, ...image.packages.map((pkg) => refOf.get(pkg.name)!)] },
    { ref: osRef, dependsOn: [...new Set(image.packages.map((pkg) => refOf.get(pkg.name)!))] },
    ...image.packages.map((pkg) => ({ ref: refOf.get(pkg.name)!, dependsOn: [...new Set(pkg.dependsOn.map((name) => refOf.get(name)).filter((ref): ref is string => ref !== undefined && ref !== refOf.get(pkg.name)))] })),
  ];
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${uuidFrom(image.digest)}`,
    version: 1,
    metadata: {
      timestamp: image.created,
      tools: { components: [{ type: 'application', name: tool.name, version: tool.version }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: image.repository,
        version: image.digest,
        hashes: [{ alg: 'SHA-256', content: image.digest.replace(/^sha256:/, '') }],
        purl: imageRef,
      },
    },
    components,
    dependencies,
  };
}
