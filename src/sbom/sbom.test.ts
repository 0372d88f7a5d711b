import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { cyclonedxImageDocument } from './cyclonedx.ts';
import { SbomError } from './errors.ts';
import { parseSbomFormats } from './formats.ts';
import type { SbomImage } from './model.ts';
import { spdxId, spdxImageDocument, spdxIndexDocument } from './spdx.ts';

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
    expect(doc.relationships.filter((rel) => rel.relationshipType === 'CONTAINS')).toHaveLength(1 + 1 + 2);
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
