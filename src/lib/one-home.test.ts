import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// One concept, one home (CONVENTIONS.md): concepts that were once defined twice, and disagreed,
// each have a single definition. This fails when a second one appears, naming the file, so the copy
// is replaced by an import instead of drifting. (dependency-cruiser's compression-is-format rule
// keeps zlib, and so gzip member splitting, inside */format/.)
const root = join(import.meta.dirname, '..', '..');

/** Source files (not tests) under src/, plus test/e2e's support modules, with their text. */
async function sources(): Promise<Array<{ path: string; text: string }>> {
  const found: Array<{ path: string; text: string }> = [];
  for (const base of ['src', join('test', 'e2e')]) {
    for (const entry of await readdir(join(root, base), { recursive: true })) {
      const path = join(root, base, entry);
      if (!path.endsWith('.ts') || path.endsWith('.test.ts')) continue;
      found.push({ path: relative(root, path), text: await readFile(path, 'utf8') });
    }
  }
  return found;
}

/** The files whose text matches `pattern`. */
async function filesMatching(pattern: RegExp): Promise<string[]> {
  return (await sources()).filter(({ text }) => pattern.test(text)).map(({ path }) => path).sort();
}

describe('one home per concept', () => {
  it('digest grammar: only src/lib/digest.ts spells out digest patterns', async () => {
    // a `const X_DIGEST… = /…/` regexp, or a regexp literal spelling `sha256:`/`sha512:` followed by a character class
    expect(await filesMatching(/const\s+\w*DIGEST\w*\s*=\s*\/|\/\^?\(?(?:\?:)?sha(?:256|512):\[/)).toEqual(['src/lib/digest.ts']);
  });

  it('image references: one parser, in src/oci/format/reference.ts', async () => {
    expect(await filesMatching(/function\s+parse\w*Reference\s*\(/)).toEqual(['src/oci/format/reference.ts']);
  });

  it('architectures: one table and one archInfo, in src/apk/format/arch.ts', async () => {
    expect(await filesMatching(/function\s+archInfo\s*\(/)).toEqual(['src/apk/format/arch.ts']);
    // the table's rows: an apk name next to its OCI name or a Node.js arch name mapped to an apk name
    expect(await filesMatching(/apk:\s*'aarch64'|\bx64:\s*'x86_64'|gnuTriplet:\s*'/)).toEqual(['src/apk/format/arch.ts']);
  });

  it('gzip members: one splitter, in src/apk/format/gzip-members.ts', async () => {
    // finding a member's end means inflating its raw deflate body and counting what was consumed
    expect(await filesMatching(/\binflateRawSync\b|\bcreateInflateRaw\b/)).toEqual(['src/apk/format/gzip-members.ts']);
  });

  it('OCI vocabulary: media types spelled, and descriptor/manifest/index shapes declared, only in src/oci/format', async () => {
    expect(await filesMatching(/['`]application\/vnd\.(?:oci|docker)\./)).toEqual(['src/oci/format/media-types.ts']);
    expect(await filesMatching(/\b(?:interface|type)\s+(?:Descriptor|Platform|ImageManifest|ImageIndex)\b/)).toEqual(['src/oci/format/image.ts']);
    // manifests from outside are validated by one parser
    expect(await filesMatching(/function\s+parseManifest\s*\(/)).toEqual(['src/oci/format/manifest.ts']);
  });

  it('apk signature members: built only by src/apk/format (name, algorithm choice, tar entry)', async () => {
    expect(await filesMatching(/`\.SIGN\.(?:\$\{|RSA)/)).toEqual(['src/apk/format/signature.ts']);
    expect(await filesMatching(/'RSA(?:256|512)?'/)).toEqual(['src/apk/format/signature.ts']);
  });
});
