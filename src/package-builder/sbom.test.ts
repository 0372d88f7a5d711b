import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { formatApkPurl } from '../sbom/index.ts';
import { buildSbom, fnv1a128, sbomPath, spdxId } from './sbom.ts';

const schemaFile = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'schemas', 'spdx-2.3.schema.json');

const addFormats = addFormatsModule as unknown as (ajv: object) => void;

function validator() {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
}

const input = {
  packageName: 'hello',
  fullVersion: '2.10-r0',
  arch: 'x86_64',
  namespace: 'wolfi',
  licenses: ['GPL-3.0-or-later', 'Custom License'],
  attestations: [],
  sourceDateEpoch: 1700000000,
  recipePath: 'hello.yaml',
  recipeCommit: 'abc123',
  recipeLicense: 'Apache-2.0',
  gitRepoUrl: 'https://github.com/Example/Recipes',
  sources: [{ kind: 'fetch' as const, package: 'hello', uri: 'https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz', sha256: 'a'.repeat(64), purlName: 'hello', purlVersion: '2.10', stepIndex: 0 }],
  toolVersion: '0.1.0',
};

describe('SPDX SBOM', () => {
  it('validates against the official SPDX 2.3 schema', () => {
    const validate = validator();
    const document = JSON.parse(buildSbom(input)) as unknown;
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  it('describes the package, its recipe and its upstream source like melange', () => {
    const document = JSON.parse(buildSbom(input)) as {
      name: string;
      creationInfo: { created: string };
      packages: { SPDXID: string; licenseDeclared: string; externalRefs?: { referenceLocator: string }[] }[];
      relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
      hasExtractedLicensingInfos: { licenseId: string }[];
    };
    expect(document.name).toBe('apk-hello-2.10-r0');
    expect(document.creationInfo.created).toBe('2023-11-14T22:13:20Z');
    const apk = document.packages.find((pkg) => pkg.SPDXID === 'SPDXRef-Package-apk-hello-2.10-r0')!;
    expect(apk.licenseDeclared).toBe('GPL-3.0-or-later AND LicenseRef-Custom-License');
    expect(apk.externalRefs![0]!.referenceLocator).toBe('pkg:apk/wolfi/hello@2.10-r0?arch=x86_64&distro=wolfi');
    expect(document.hasExtractedLicensingInfos.map((info) => info.licenseId)).toEqual(['LicenseRef-Custom-License']);
    const recipe = document.packages.find((pkg) => pkg.SPDXID.startsWith('SPDXRef-Package-Melange-'))!;
    expect(recipe.externalRefs![0]!.referenceLocator).toBe('pkg:github/example/recipes@abc123#hello.yaml');
    const source = document.packages.find((pkg) => pkg.SPDXID.startsWith('SPDXRef-Package-Source-'))!;
    expect(source.externalRefs![0]!.referenceLocator).toBe(`pkg:generic/hello@2.10?checksum=sha256:${'a'.repeat(64)}&download_url=https%3A%2F%2Fftp.gnu.org%2Fgnu%2Fhello%2Fhello-2.10.tar.gz`);
    expect(document.relationships).toContainEqual({ spdxElementId: apk.SPDXID, relationshipType: 'GENERATED_FROM', relatedSpdxElement: source.SPDXID });
  });

  it('joins several licences into one expression, compound ones in parentheses, every other text a LicenseRef of its own', () => {
    const document = JSON.parse(buildSbom({ ...input, licenses: ['MIT OR Apache-2.0', 'BSD-3-Clause', 'custom', 'Foo Bar', 'Foo_Bar'] })) as {
      packages: { SPDXID: string; licenseDeclared: string }[];
      hasExtractedLicensingInfos: { licenseId: string; extractedText: string }[];
    };
    expect(validator()(document)).toBe(true);
    const apk = document.packages.find((pkg) => pkg.SPDXID === 'SPDXRef-Package-apk-hello-2.10-r0')!;
    expect(apk.licenseDeclared).toMatch(/^\(MIT OR Apache-2\.0\) AND BSD-3-Clause AND LicenseRef-custom AND LicenseRef-Foo-Bar-[0-9a-f]{8} AND LicenseRef-Foo-Bar-[0-9a-f]{8}$/);
    const ids = document.hasExtractedLicensingInfos.map((info) => info.licenseId);
    expect(new Set(ids).size).toBe(3);
    expect(apk.licenseDeclared.split(' AND ').filter((part) => part.startsWith('LicenseRef-')).sort()).toEqual([...ids].sort());
    expect(document.hasExtractedLicensingInfos.map((info) => info.extractedText).sort()).toEqual(['Foo Bar', 'Foo_Bar', 'custom']);
  });

  it('gives each architecture its own document namespace and names the package by the shared, percent-encoded purl', () => {
    const x86 = JSON.parse(buildSbom({ ...input, packageName: 'libstdc++', origin: 'gcc' })) as { documentNamespace: string; packages: { name: string; sourceInfo?: string; externalRefs?: { referenceLocator: string }[] }[] };
    const arm = JSON.parse(buildSbom({ ...input, packageName: 'libstdc++', origin: 'gcc', arch: 'aarch64' })) as typeof x86;
    expect(x86.documentNamespace).not.toBe(arm.documentNamespace);
    const apk = x86.packages.find((pkg) => pkg.name === 'libstdc++')!;
    expect(apk.externalRefs![0]!.referenceLocator).toBe('pkg:apk/wolfi/libstdc%2B%2B@2.10-r0?arch=x86_64&distro=wolfi&upstream=gcc');
    expect(apk.sourceInfo).toBe('built package from: gcc 2.10-r0');
    expect(apk.externalRefs![0]!.referenceLocator).toBe(formatApkPurl({ namespace: 'wolfi', name: 'libstdc++', version: '2.10-r0', arch: 'x86_64', distro: 'wolfi', origin: 'gcc' }));
  });

  it('has stable helpers', () => {
    expect(sbomPath('hello', '2.10-r0')).toBe('var/lib/db/sbom/hello-2.10-r0.spdx.json');
    expect(spdxId('a:b/c_d+e')).toBe('a-b-cC95dC43e');
    // FNV-1a 128 of the empty string is the offset basis
    expect(fnv1a128('')).toBe('6c62272e07bb014262b821756295c58d');
    expect(fnv1a128('a')).not.toBe(fnv1a128('b'));
    expect(buildSbom(input)).toBe(buildSbom(input));
  });
});
