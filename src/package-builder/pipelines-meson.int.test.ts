import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readApkFile } from '../apk/index.ts';
import { createApkPublisher } from './apk-publisher.ts';
import { buildRecipe } from './build-service.ts';
import { createHostEnvironmentProvider } from './environment/host.ts';
import { createBwrapRunner } from './sandbox/bwrap.ts';

// The built-in meson/configure, meson/compile and meson/install pipelines run for real in bubblewrap
// over the host root (the --bootstrap-host environment), on a copy of test/fixtures/recipes/meson-hello:
// a shared library libgreet (soname libgreet.so.1) and an executable hello-meson linked against it.

const fixture = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'recipes', 'meson-hello');

/** Writes every entry of a package below `root` and returns the non-directory paths, sorted. */
async function extractPackage(file: string, root: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const item of readApkFile(file, { allowUntrusted: true })) {
    if (item.kind !== 'entry') continue;
    const target = join(root, item.entry.path);
    if (item.entry.type === 'directory') {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    if (item.entry.type === 'symlink') {
      symlinkSync(item.entry.linkTarget!, target);
    } else {
      const chunks: Buffer[] = [];
      for await (const chunk of item.content!) chunks.push(chunk);
      writeFileSync(target, Buffer.concat(chunks));
      chmodSync(target, item.entry.mode & 0o7777);
    }
    paths.push(item.entry.path);
  }
  return paths.sort();
}

describe('meson pipelines in bubblewrap', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pipelines-meson-'));
  });

  const build = (name: string, recipe: string, sourceDir: string) => {
    writeFileSync(join(dir, `${name}.yaml`), recipe);
    return buildRecipe(
      { recipeFile: join(dir, `${name}.yaml`), outDir: join(dir, 'out'), sourceDir, arch: 'x86_64' },
      { runner: createBwrapRunner(), environment: createHostEnvironmentProvider(), publisher: createApkPublisher() },
    );
  };

  it('meson/configure, meson/compile and meson/install build and install an executable and a shared library', async () => {
    const project = join(dir, 'meson-src');
    cpSync(fixture, project, { recursive: true });
    const recipe = `package:\n  name: meson-hello\n  version: 1.0.0\npipeline:\n  - uses: meson/configure\n  - uses: meson/compile\n  - uses: meson/install\n`;
    const result = await build('meson', recipe, project);
    expect(result.packages.map((pkg) => pkg.name)).toEqual(['meson-hello']);
    const pkg = result.packages[0]!;

    const root = join(dir, 'root');
    const files = (await extractPackage(pkg.file, root)).filter((path) => !path.startsWith('var/lib/db/sbom/'));
    expect(files).toEqual(['usr/bin/hello-meson', 'usr/lib/libgreet.so', 'usr/lib/libgreet.so.1', 'usr/lib/libgreet.so.1.0.0']);

    // The library is found through usr/lib of the package only: meson strips the build-tree rpath on install.
    const output = execFileSync(join(root, 'usr', 'bin', 'hello-meson'), { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: join(root, 'usr', 'lib') } });
    expect(output).toBe('hello from meson, kiln\n');

    expect(pkg.provides).toContain('cmd:hello-meson=1.0.0-r0');
    expect(pkg.provides).toContain('so:libgreet.so.1=1');
    expect(pkg.depends).toContain('so:libc.so.6');
    expect(pkg.depends).not.toContain('so:libgreet.so.1');
  });

  it('meson/* honour output-dir and pass opts to meson setup', async () => {
    const project = join(dir, 'meson-opts-src');
    cpSync(fixture, project, { recursive: true });
    const recipe = `package:\n  name: meson-opts\n  version: 1.0.0\npipeline:\n  - uses: meson/configure\n    with:\n      output-dir: builddir\n      opts: --bindir=libexec -Dbuildtype=release\n  - uses: meson/compile\n    with:\n      output-dir: builddir\n  - uses: meson/install\n    with:\n      output-dir: builddir\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/meson-opts\n      test -f builddir/build.ninja && test ! -e output\n      meson introspect --buildoptions builddir > \${{targets.destdir}}/usr/share/meson-opts/options.json\n`;
    const result = await build('meson-opts', recipe, project);
    const root = join(dir, 'root-opts');
    const files = await extractPackage(result.packages[0]!.file, root);
    expect(files).toContain('usr/libexec/hello-meson');
    expect(files).not.toContain('usr/bin/hello-meson');
    expect(files).toContain('usr/lib/libgreet.so.1.0.0');
    const options = JSON.parse(readFileSync(join(root, 'usr', 'share', 'meson-opts', 'options.json'), 'utf8')) as { name: string; value: unknown }[];
    const value = (name: string) => options.find((option) => option.name === name)?.value;
    expect(value('buildtype')).toBe('release');
    expect(value('prefix')).toBe('/usr');
    expect(value('libdir')).toBe('lib');
    expect(value('wrap_mode')).toBe('nodownload');
  });
});
