import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { cyclonedxImageDocument } from './cyclonedx.ts';
import { SbomError } from './errors.ts';
import { parseSbomFormats } from './formats.ts';
import { apkPurl } from './model.ts';
import type { SbomImage, SbomPackage } from './model.ts';
import { maintainerOriginator, spdxId, spdxImageDocument, spdxIndexDocument } from './spdx.ts';

const schemas = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'schemas');
const addFormats = addFormatsModule as unknown as (ajv: object) => void;
const tool = { name: 'kiln', version: '0.1.0', organization: 'Kiln' };

/** Validators for SPDX 2.3 and CycloneDX 1.6, used here and by the e2e tests. */
function sbomValidators(): { spdx: (doc: unknown) => string | undefined; cyclonedx: (doc: unknown) => string | undefined } {
  const spdxAjv = new Ajv2019({ strict: false, allErrors: true });
  addFormats(spdxAjv);
  const spdx = spdxAjv.compile(JSON.parse(readFileSync(join(schemas, 'spdx-2.3.schema.json'), 'utf8')) as object);
  const cdxAjv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(cdxAjv);
  for (const name of ['spdx.schema.json', 'jsf-0.82.schema.json']) cdxAjv.addSchema(JSON.parse(readFileSync(join(schemas, 'cyclonedx', name), 'utf8')) as object, name);
  const cdx = cdxAjv.compile(JSON.parse(readFileSync(join(schemas, 'cyclonedx', 'bom-1.6.schema.json'), 'utf8')) as object);
  return {
    spdx: (doc) => (spdx(doc) ? undefined : JSON.stringify(spdx.errors?.slice(0, 5))),
    cyclonedx: (doc) => (cdx(doc) ? undefined : JSON.stringify(cdx.errors?.slice(0, 5))),
  };
}

const image: SbomImage = {
  digest: `sha256:${'a'.repeat(64)}`,
  ociArch: 'amd64',
  apkArch: 'x86_64',
  layers: [{ digest: `sha256:${'b'.repeat(64)}`, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
  os: { ID: 'wolfi', NAME: 'Wolfi', VERSION_ID: '20230201' },
  created: '2024-01-01T00:00:00Z',
  repository: 'app',
  packages: [
    { name: 'glibc', version: '2.38-r1', arch: 'x86_64', license: 'LGPL-2.1-or-later', controlSha1: 'c'.repeat(40), dataSha256: 'd'.repeat(64), dependsOn: ['wolfi-baselayout'], maintainer: 'Wolfi <w@example.com>' },
    { name: 'wolfi-baselayout', version: '20230201-r0', arch: 'x86_64', license: 'MIT', controlSha1: 'e'.repeat(40), dependsOn: [] },
  ],
};

describe('SBOMs', () => {
  const validators = sbomValidators();
  it('SPDX image document is valid SPDX 2.3 and lists every package with checksums and purl', () => {
    const doc = spdxImageDocument(image, tool) as { packages: Array<Record<string, unknown>>; relationships: Array<Record<string, string>> };
    expect(validators.spdx(doc)).toBeUndefined();
    const glibc = doc.packages.find((pkg) => pkg.name === 'glibc')!;
    expect(glibc).toMatchObject({ versionInfo: '2.38-r1', licenseDeclared: 'LGPL-2.1-or-later', supplier: 'Organization: Wolfi' });
    expect(glibc.externalRefs).toEqual([{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:apk/wolfi/glibc@2.38-r1?arch=x86_64&distro=wolfi-20230201' }]);
    expect(doc.relationships).toContainEqual({ spdxElementId: 'SPDXRef-Package-glibc-2.38-r1', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-Package-wolfi-baselayout-20230201-r0' });
    // the layer, the OS, and each package twice: in the image and in the OS
    expect(doc.relationships.filter((rel) => rel.relationshipType === 'CONTAINS')).toHaveLength(1 + 1 + 2 + 2);
  });
  it('SPDX index document is valid', () => {
    const doc = spdxIndexDocument({ digest: `sha256:${'f'.repeat(64)}`, created: image.created, repository: 'app', images: [image] }, tool);
    expect(validators.spdx(doc)).toBeUndefined();
  });
  it('CycloneDX document is valid CycloneDX 1.6', () => {
    const doc = cyclonedxImageDocument(image, tool) as { components: Array<Record<string, unknown>> };
    expect(validators.cyclonedx(doc)).toBeUndefined();
    expect(doc.components.map((component) => component.name)).toEqual(['wolfi', 'glibc', 'wolfi-baselayout']);
  });
  it('rejects a broken document (the validators can fail)', () => {
    const problems = (report: string | undefined) =>
      (JSON.parse(report ?? '[]') as Array<{ instancePath: string; keyword: string; params: { missingProperty?: string } }>).map(
        (error) => `${error.instancePath || '/'} ${error.keyword}${error.params.missingProperty ? ` ${error.params.missingProperty}` : ''}`,
      );
    expect(problems(validators.spdx({ spdxVersion: 'SPDX-2.3' }))).toEqual(['/ required SPDXID', '/ required creationInfo', '/ required dataLicense', '/ required name', '/ required documentNamespace']);
    expect(problems(validators.cyclonedx({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'nonsense' }] }))).toEqual(['/components/0 required name', '/components/0/type enum']);
  });
  it('names the origin of a package as scanners read it: purl upstream, SPDX sourceInfo, CycloneDX Trivy properties', () => {
    const libcrypto: SbomPackage = { name: 'libcrypto3', version: '3.1.4-r5', arch: 'x86_64', origin: 'openssl', controlSha1: 'c'.repeat(40), dependsOn: [] };
    const libstdcxx: SbomPackage = { name: 'libstdc++', version: '13.2.0-r4', arch: 'x86_64', origin: 'gcc', controlSha1: 'e'.repeat(40), dependsOn: [] };
    const named = { ...image, packages: [...image.packages, libcrypto, libstdcxx] };
    expect(apkPurl(libcrypto, image.os)).toBe('pkg:apk/wolfi/libcrypto3@3.1.4-r5?arch=x86_64&distro=wolfi-20230201&upstream=openssl');
    expect(apkPurl(libstdcxx, image.os)).toBe('pkg:apk/wolfi/libstdc%2B%2B@13.2.0-r4?arch=x86_64&distro=wolfi-20230201&upstream=gcc');
    // the same origin as the name is no upstream
    expect(apkPurl({ ...libcrypto, origin: 'libcrypto3' }, image.os)).toBe('pkg:apk/wolfi/libcrypto3@3.1.4-r5?arch=x86_64&distro=wolfi-20230201');
    const spdx = spdxImageDocument(named, tool) as { packages: Array<Record<string, unknown>> };
    expect(validators.spdx(spdx)).toBeUndefined();
    const spdxLibcrypto = spdx.packages.find((pkg) => pkg.name === 'libcrypto3')!;
    expect(spdxLibcrypto.sourceInfo).toBe('built package from: openssl 3.1.4-r5');
    expect(spdxLibcrypto.externalRefs).toEqual([{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: apkPurl(libcrypto, image.os) }]);
    const cdx = cyclonedxImageDocument(named, tool) as { components: Array<{ name: string; purl?: string; properties?: Array<{ name: string; value: string }> }> };
    expect(validators.cyclonedx(cdx)).toBeUndefined();
    const cdxLibcrypto = cdx.components.find((component) => component.name === 'libcrypto3')!;
    expect(cdxLibcrypto.purl).toBe(apkPurl(libcrypto, image.os));
    expect(cdxLibcrypto.properties).toEqual([
      { name: 'kiln:apk:arch', value: 'x86_64' },
      { name: 'kiln:apk:origin', value: 'openssl' },
      { name: 'aquasecurity:trivy:SrcName', value: 'openssl' },
      { name: 'aquasecurity:trivy:SrcVersion', value: '3.1.4-r5' },
    ]);
  });
  it('gives each source package its own SPDX id, also two with the same name and version', () => {
    const fetched = (uri: string) => ({ name: 'ca-certificates', version: '20240226', purl: `pkg:generic/ca-certificates@20240226?download_url=${encodeURIComponent(uri)}` });
    const sources = [fetched('https://example.com/a.tar.gz'), fetched('https://example.com/patches.tar.gz'), fetched('https://example.com/a.tar.gz')];
    const doc = spdxImageDocument({ ...image, packages: [{ ...image.packages[1]!, sources }] }, tool) as { packages: Array<Record<string, unknown>>; relationships: Array<Record<string, string>> };
    expect(validators.spdx(doc)).toBeUndefined();
    const ids = doc.packages.map((pkg) => pkg.SPDXID as string);
    expect(new Set(ids).size).toBe(ids.length);
    const sourceIds = doc.packages.filter((pkg) => pkg.primaryPackagePurpose === 'SOURCE').map((pkg) => pkg.SPDXID as string);
    expect(sourceIds).toHaveLength(2);
    expect(doc.relationships.filter((rel) => rel.relationshipType === 'GENERATED_FROM').map((rel) => rel.relatedSpdxElement)).toEqual(sourceIds);
    // the ids are a function of the sources, not of the run
    expect((spdxImageDocument({ ...image, packages: [{ ...image.packages[1]!, sources }] }, tool) as typeof doc).packages.map((pkg) => pkg.SPDXID)).toEqual(ids);
  });
  it('writes licence texts that are not SPDX expressions as LicenseRefs with their text (SPDX) and as licence names (CycloneDX)', () => {
    const licensed = (name: string, license: string): SbomPackage => ({ name, version: '1-r0', arch: 'x86_64', license, controlSha1: 'f'.repeat(40), dependsOn: [] });
    const packages = [
      licensed('a', 'custom'),
      licensed('b', 'GPL-2.0 or Artistic'),
      licensed('c', 'GPL-2.0-or-later LGPL-2.1-or-later'),
      licensed('d', 'MIT AND'),
      licensed('e', 'Foo Bar'),
      licensed('f', 'Foo_Bar'),
      licensed('g', '(mit OR Apache-2.0) AND BSD-3-Clause'),
    ];
    const spdx = spdxImageDocument({ ...image, packages }, tool) as { packages: Array<Record<string, unknown>>; hasExtractedLicensingInfos: Array<{ licenseId: string; extractedText: string }> };
    expect(validators.spdx(spdx)).toBeUndefined();
    const declared = Object.fromEntries(spdx.packages.filter((pkg) => packages.some((p) => p.name === pkg.name)).map((pkg) => [pkg.name, pkg.licenseDeclared as string]));
    expect(declared.a).toBe('LicenseRef-custom');
    expect(declared.b).toBe('LicenseRef-GPL-2.0-or-Artistic');
    expect(declared.c).toBe('LicenseRef-GPL-2.0-or-later-LGPL-2.1-or-later');
    expect(declared.d).toBe('LicenseRef-MIT-AND');
    expect(declared.e).toMatch(/^LicenseRef-Foo-Bar-[0-9a-f]{8}$/);
    expect(declared.f).toMatch(/^LicenseRef-Foo-Bar-[0-9a-f]{8}$/);
    expect(declared.e).not.toBe(declared.f);
    expect(declared.g).toBe('(MIT OR Apache-2.0) AND BSD-3-Clause');
    const extracted = new Map(spdx.hasExtractedLicensingInfos.map((info) => [info.licenseId, info.extractedText]));
    expect(extracted.size).toBe(6);
    for (const pkg of packages.slice(0, 6)) expect(extracted.get(declared[pkg.name]!)).toBe(pkg.license);
    const cdx = cyclonedxImageDocument({ ...image, packages }, tool) as { components: Array<{ name: string; licenses?: unknown[] }> };
    expect(validators.cyclonedx(cdx)).toBeUndefined();
    const licenses = Object.fromEntries(cdx.components.map((component) => [component.name, component.licenses]));
    expect(licenses.a).toEqual([{ license: { name: 'custom' } }]);
    expect(licenses.b).toEqual([{ license: { name: 'GPL-2.0 or Artistic' } }]);
    expect(licenses.g).toEqual([{ expression: '(MIT OR Apache-2.0) AND BSD-3-Clause' }]);
  });
  it('hangs the packages under the operating system: SPDX CONTAINS, CycloneDX dependencies, an entry for every component', () => {
    const spdx = spdxImageDocument(image, tool) as { packages: Array<Record<string, unknown>>; relationships: Array<Record<string, string>> };
    const osId = spdx.packages.find((pkg) => pkg.primaryPackagePurpose === 'OPERATING_SYSTEM')!.SPDXID;
    expect(spdx.relationships.filter((rel) => rel.spdxElementId === osId && rel.relationshipType === 'CONTAINS').map((rel) => rel.relatedSpdxElement)).toEqual([
      'SPDXRef-Package-glibc-2.38-r1',
      'SPDXRef-Package-wolfi-baselayout-20230201-r0',
    ]);
    const cdx = cyclonedxImageDocument(image, tool) as { components: Array<Record<string, unknown>>; dependencies: Array<{ ref: string; dependsOn: string[] }> };
    expect(validators.cyclonedx(cdx)).toBeUndefined();
    const dependsOn = new Map(cdx.dependencies.map((entry) => [entry.ref, entry.dependsOn]));
    const [os, glibc, baselayout] = cdx.components.map((component) => component['bom-ref'] as string);
    expect(dependsOn.get(os!)).toEqual([glibc, baselayout]);
    expect(dependsOn.get(glibc!)).toEqual([baselayout]);
    expect(dependsOn.get(baselayout!)).toEqual([]);
    for (const component of cdx.components) expect(dependsOn.has(component['bom-ref'] as string), String(component['bom-ref'])).toBe(true);
  });
  it('writes a maintainer as an SPDX person with the e-mail in parentheses', () => {
    const doc = spdxImageDocument(image, tool) as { packages: Array<Record<string, unknown>> };
    expect(doc.packages.find((pkg) => pkg.name === 'glibc')!.originator).toBe('Person: Wolfi (w@example.com)');
    expect(maintainerOriginator('Natanael Copa <ncopa@alpinelinux.org>')).toBe('Person: Natanael Copa (ncopa@alpinelinux.org)');
    expect(maintainerOriginator('Jane Doe')).toBe('Person: Jane Doe');
    expect(maintainerOriginator('<bot@example.com>')).toBe('Person: bot@example.com');
  });
  it('makes SPDX ids like apko', () => {
    expect(spdxId('sha256:ab')).toBe('sha256-ab');
    expect(spdxId('a b/c')).toBe('aC32bC47c');
  });
});

describe('parseSbomFormats', () => {
  it('reads a comma-separated list in order, ignoring blanks and repeats', () => {
    expect(parseSbomFormats('spdx', '--sbom-formats')).toEqual(['spdx']);
    expect(parseSbomFormats(' cyclonedx , spdx,,spdx ', '--sbom-formats')).toEqual(['cyclonedx', 'spdx']);
    expect(parseSbomFormats('', '--sbom-formats')).toEqual([]);
  });
  it('refuses an unknown format with SBOM_FORMAT_UNKNOWN, naming where it came from', () => {
    let error: unknown;
    try {
      parseSbomFormats('spdx,swid', '--sbom-formats');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SbomError);
    expect(error).toMatchObject({ code: 'SBOM_FORMAT_UNKNOWN', message: '--sbom-formats: unknown format "swid" (spdx, cyclonedx)', detail: { where: '--sbom-formats', format: 'swid' } });
    // Case matters, as it does for every other format name Kiln reads.
    expect(() => parseSbomFormats('SPDX', '--sbom-formats')).toThrow(SbomError);
  });
});
