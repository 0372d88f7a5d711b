import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conjoinLicenses, spdxLicenseExpression, spdxLicenseTable } from './license-expression.ts';
import { SPDX_EXCEPTION_IDS, SPDX_LICENSE_IDS, SPDX_LICENSE_LIST_VERSION } from './spdx-license-list.ts';

const listSchema = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'schemas', 'cyclonedx', 'spdx.schema.json');

describe('spdxLicenseExpression', () => {
  it.each([
    ['MIT', 'MIT'],
    ['mit', 'MIT'],
    ['GPL-2.0-or-later', 'GPL-2.0-or-later'],
    ['GPL-2.0+', 'GPL-2.0+'],
    ['(MIT OR Apache-2.0) AND BSD-3-Clause', '(MIT OR Apache-2.0) AND BSD-3-Clause'],
    ['MIT OR Apache-2.0 AND BSD-3-Clause', 'MIT OR Apache-2.0 AND BSD-3-Clause'],
    ['((MIT))', 'MIT'],
    ['(MIT AND Zlib) OR 0BSD', 'MIT AND Zlib OR 0BSD'],
    ['Apache-2.0 WITH llvm-exception', 'Apache-2.0 WITH LLVM-exception'],
    ['GPL-2.0-only  WITH Classpath-exception-2.0 OR MIT', 'GPL-2.0-only WITH Classpath-exception-2.0 OR MIT'],
    ['LicenseRef-Proprietary', 'LicenseRef-Proprietary'],
    ['DocumentRef-other:LicenseRef-x.1', 'DocumentRef-other:LicenseRef-x.1'],
  ])('accepts %j as %j', (text, canonical) => {
    expect(spdxLicenseExpression(text)).toBe(canonical);
  });

  // The invalid kinds found in Alpine's `L:` values, and the grammar's edges.
  it.each(['custom', 'custom:multiple', 'GPL', 'GPL-2.0 or Artistic', 'GPL-2.0-or-later LGPL-2.1-or-later', 'MIT AND', 'AND MIT', '(MIT', 'MIT)', '()', '', 'MIT WITH MIT', 'Classpath-exception-2.0', 'LicenseRef-a+', 'LicenseRef-a_b', 'MIT and Zlib'])(
    'rejects %j',
    (text) => {
      expect(spdxLicenseExpression(text)).toBeUndefined();
    },
  );
});

describe('conjoinLicenses', () => {
  it('parenthesises every compound expression and every other text with a space', () => {
    expect(conjoinLicenses(['MIT OR Apache-2.0', 'BSD-3-Clause'])).toBe('(MIT OR Apache-2.0) AND BSD-3-Clause');
    expect(conjoinLicenses(['MIT AND Zlib', 'GPL-2.0-only WITH Classpath-exception-2.0'])).toBe('(MIT AND Zlib) AND GPL-2.0-only WITH Classpath-exception-2.0');
    expect(conjoinLicenses(['Foo Bar', 'custom'])).toBe('(Foo Bar) AND custom');
  });
  it('leaves a single text as it is and drops empty ones', () => {
    expect(conjoinLicenses(['MIT OR Apache-2.0'])).toBe('MIT OR Apache-2.0');
    expect(conjoinLicenses([' ', 'GPL-2.0 or Artistic'])).toBe('GPL-2.0 or Artistic');
    expect(conjoinLicenses([])).toBe('');
  });
});

describe('spdxLicenseTable', () => {
  it('keeps valid expressions and gives every other text a LicenseRef carrying it', () => {
    const table = spdxLicenseTable(['mit', 'custom', 'GPL-2.0 or Artistic']);
    expect(table.expressionOf('mit')).toBe('MIT');
    expect(table.expressionOf('custom')).toBe('LicenseRef-custom');
    expect(table.expressionOf('GPL-2.0 or Artistic')).toBe('LicenseRef-GPL-2.0-or-Artistic');
    expect(table.extracted.map((info) => [info.licenseId, info.name, info.extractedText])).toEqual([
      ['LicenseRef-GPL-2.0-or-Artistic', 'GPL-2.0 or Artistic', 'GPL-2.0 or Artistic'],
      ['LicenseRef-custom', 'custom', 'custom'],
    ]);
  });
  it('never gives two texts one id, also not case-insensitively, whatever their order', () => {
    const texts = ['Foo Bar', 'Foo_Bar', 'foo-bar', 'custom', 'LicenseRef-custom', 'Custom'];
    const table = spdxLicenseTable(texts);
    const ids = texts.map((text) => table.expressionOf(text));
    expect(new Set(ids.map((id) => id.toLowerCase())).size).toBe(texts.length);
    expect(ids[4]).toBe('LicenseRef-custom');
    expect(ids[0]).toMatch(/^LicenseRef-Foo-Bar-[0-9a-f]{8}$/);
    // every LicenseRef used has exactly one entry, the one a package named itself included
    expect(table.extracted.map((info) => info.licenseId).sort()).toEqual([...ids].sort());
    const reversed = spdxLicenseTable([...texts].reverse());
    expect(texts.map((text) => reversed.expressionOf(text))).toEqual(ids);
  });
});

describe('the SPDX License List', () => {
  it('is the one the CycloneDX schema beside the SBOM schemas enumerates', () => {
    const schema = JSON.parse(readFileSync(listSchema, 'utf8')) as { $comment: string; enum: string[] };
    expect([...SPDX_LICENSE_IDS, ...SPDX_EXCEPTION_IDS]).toEqual(schema.enum);
    expect(schema.$comment.endsWith(`-${SPDX_LICENSE_LIST_VERSION}.0`)).toBe(true);
    expect(SPDX_EXCEPTION_IDS[0]).toBe('389-exception');
  });
});
