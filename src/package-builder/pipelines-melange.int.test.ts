import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApkFile } from '../apk/index.ts';
import { createApkPublisher } from './apk-publisher.ts';
import { buildRecipe } from './build-service.ts';
import { createHostEnvironmentProvider } from './environment/host.ts';
import { createBwrapRunner } from './sandbox/bwrap.ts';

// The shell-only pipelines added under melange's names run for real in bubblewrap over the host root:
// split/lib, split/bin and split/alldocs move files between packages, perl/cleanup removes Perl's
// install bookkeeping, copy places a file at the same path in the package.

async function packageFiles(file: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const item of readApkFile(file, { allowUntrusted: true })) if (item.kind === 'entry' && item.entry.type !== 'directory') paths.push(item.entry.path);
  return paths.sort();
}

describe("melange's split and cleanup pipelines in bubblewrap", () => {
  it('split/lib, split/bin, split/alldocs, perl/cleanup and copy produce the packages melange would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-melange-pipelines-'));
    const recipe = `package:
  name: tool
  version: 1.0.0
pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/bin $d/usr/lib/perl5/vendor_perl/auto/Tool $d/usr/share/man/man1 $d/usr/share/info $d/usr/share/doc/tool
      printf '#!/bin/sh\\necho tool\\n' > $d/usr/bin/tool && chmod 755 $d/usr/bin/tool
      echo lib > $d/usr/lib/libtool.so.1.0.0
      ln -s libtool.so.1.0.0 $d/usr/lib/libtool.so.1
      echo other > $d/usr/lib/libother.so.2
      echo pod > $d/usr/lib/perl5/perllocal.pod
      echo pack > $d/usr/lib/perl5/vendor_perl/auto/Tool/.packlist
      echo page > $d/usr/share/man/man1/tool.1
      echo info > $d/usr/share/info/tool.info
      echo dir > $d/usr/share/info/dir
      echo readme > $d/usr/share/doc/tool/README
      echo licence > LICENSE
  - uses: perl/cleanup
  - uses: copy
    with:
      src: LICENSE
      dest: \${{targets.contextdir}}/usr/share/licenses/tool/LICENSE
subpackages:
  - name: libtool1
    pipeline:
      - uses: split/lib
        with:
          patterns: tool
  - name: tool-bin
    pipeline:
      - uses: split/bin
  - name: tool-doc
    pipeline:
      - uses: split/alldocs
`;
    writeFileSync(join(dir, 'tool.yaml'), recipe);
    const result = await buildRecipe(
      { recipeFile: join(dir, 'tool.yaml'), outDir: join(dir, 'out'), sourceDir: null, arch: 'x86_64' },
      { runner: createBwrapRunner(), environment: createHostEnvironmentProvider(), publisher: createApkPublisher() },
    );
    const files = Object.fromEntries(await Promise.all(result.packages.map(async (pkg) => [pkg.name, (await packageFiles(pkg.file)).filter((path) => !path.startsWith('var/lib/db/sbom/'))] as const)));
    expect(files).toEqual({
      tool: ['usr/lib/libother.so.2', 'usr/share/licenses/tool/LICENSE'],
      libtool1: ['usr/lib/libtool.so.1', 'usr/lib/libtool.so.1.0.0'],
      'tool-bin': ['usr/bin/tool'],
      'tool-doc': ['usr/share/doc/tool/README', 'usr/share/info/tool.info', 'usr/share/man/man1/tool.1'],
    });
  });
});
