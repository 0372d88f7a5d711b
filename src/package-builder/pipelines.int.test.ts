import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readApkFile } from '../apk/index.ts';
import { createApkPublisher } from './apk-publisher.ts';
import { buildRecipe } from './build-service.ts';
import { createHostEnvironmentProvider } from './environment/host.ts';
import { createBwrapRunner } from './sandbox/bwrap.ts';

// The built-in pipelines run for real in bubblewrap over the host root: fetch of every archive
// format with checksums and strip-components, patch, git-checkout of a local repository, and the
// split pipelines.

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function packageFiles(file: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const item of readApkFile(file, { allowUntrusted: true })) if (item.kind === 'entry' && item.entry.type !== 'directory') paths.push(item.entry.path);
  return paths.sort();
}

/** git in `repo` with a fixed author, its output trimmed. */
const gitIn = (repo: string) => (...args: string[]): string =>
  execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();

async function packageContent(file: string, path: string): Promise<string> {
  for await (const item of readApkFile(file, { allowUntrusted: true })) {
    if (item.kind !== 'entry' || item.entry.path !== path) continue;
    const chunks: Buffer[] = [];
    for await (const chunk of item.content ?? []) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }
  throw new Error(`${path} is not in ${file}`);
}

describe('built-in pipelines in bubblewrap', () => {
  let dir: string;
  const archives: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-pipelines-'));
    const src = join(dir, 'src', 'demo-1.0');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'greeting.txt'), 'hello\n');
    writeFileSync(join(src, 'sub', 'nested.txt'), 'nested\n');
    const tar = (name: string, flag: string) => {
      execFileSync('tar', [flag, '-cf', join(dir, name), '-C', join(dir, 'src'), 'demo-1.0']);
      archives[name] = join(dir, name);
    };
    tar('demo.tar.gz', '-z');
    tar('demo.tar.bz2', '-j');
    tar('demo.tar.xz', '-J');
    tar('demo.tar.zst', '--zstd');
    execFileSync('zip', ['-qr', join(dir, 'demo.zip'), 'demo-1.0'], { cwd: join(dir, 'src') });
    archives['demo.zip'] = join(dir, 'demo.zip');
  });

  const build = (name: string, recipe: string, extra: { sourceDir?: string } = {}) => {
    writeFileSync(join(dir, `${name}.yaml`), recipe);
    return buildRecipe(
      { recipeFile: join(dir, `${name}.yaml`), outDir: join(dir, 'out'), sourceDir: extra.sourceDir ?? null, arch: 'x86_64' },
      { runner: createBwrapRunner(), environment: createHostEnvironmentProvider(), publisher: createApkPublisher() },
    );
  };

  it('fetch extracts tar.gz, tar.bz2, tar.xz, tar.zst and zip with strip-components, verifying sha256 and sha512', async () => {
    const steps = Object.entries(archives)
      .map(([name, path], index) => {
        const checksum = index % 2 === 0 ? `expected-sha256: ${sha256(path)}` : `expected-sha512: ${createHash('sha512').update(readFileSync(path)).digest('hex')}`;
        return `  - uses: fetch\n    with:\n      uri: file://${path}\n      ${checksum}\n      directory: x-${name}\n      delete: "true"\n`;
      })
      .join('');
    const install = `  - runs: |\n      for d in ${Object.keys(archives).join(' ')}; do\n        mkdir -p \${{targets.destdir}}/usr/share/demo/$d\n        cp -r x-$d/. \${{targets.destdir}}/usr/share/demo/$d/\n      done\n`;
    const result = await build('fetch', `package:\n  name: fetch-demo\n  version: 1.0\npipeline:\n${steps}${install}`);
    const files = await packageFiles(result.packages[0]!.file);
    for (const name of Object.keys(archives)) {
      expect(files).toContain(`usr/share/demo/${name}/greeting.txt`);
      expect(files).toContain(`usr/share/demo/${name}/sub/nested.txt`);
    }
    expect(files.filter((path) => path.includes('demo-1.0/'))).toEqual([]);
  });

  it('patch applies a series of patches from the workspace', async () => {
    const work = join(dir, 'patch-src');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'fix.patch'), '--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-hello\n+hello, patched\n');
    const recipe = `package:\n  name: patch-demo\n  version: 1.0\npipeline:\n  - uses: fetch\n    with:\n      uri: file://${archives['demo.tar.gz']}\n      expected-sha256: ${sha256(archives['demo.tar.gz']!)}\n  - uses: patch\n    with:\n      patches: fix.patch\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/demo\n      cp greeting.txt \${{targets.destdir}}/usr/share/demo/\n`;
    const result = await build('patch', recipe, { sourceDir: work });
    for await (const item of readApkFile(result.packages[0]!.file, { allowUntrusted: true })) {
      if (item.kind === 'entry' && item.entry.path === 'usr/share/demo/greeting.txt') {
        const chunks: Buffer[] = [];
        for await (const chunk of item.content!) chunks.push(chunk);
        expect(Buffer.concat(chunks).toString()).toBe('hello, patched\n');
      }
    }
  });

  it('git-checkout clones a local repository at the expected commit', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    const git = gitIn(repo);
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'file.txt'), 'v1\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    git('tag', 'v1');
    const commit = git('rev-parse', 'HEAD');
    writeFileSync(join(repo, 'file.txt'), 'v2\n');
    git('commit', '-qam', 'two');
    const recipe = `package:\n  name: git-demo\n  version: 1.0\npipeline:\n  - uses: git-checkout\n    with:\n      repository: ${repo}\n      tag: v1\n      expected-commit: ${commit}\n      destination: checkout\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/demo\n      cp checkout/file.txt \${{targets.destdir}}/usr/share/demo/\n`;
    const result = await build('git', recipe);
    expect(await packageFiles(result.packages[0]!.file)).toContain('usr/share/demo/file.txt');
    const wrong = recipe.replace(commit, 'f'.repeat(40));
    await expect(build('git-wrong', wrong.replace('git-demo', 'git-wrong'))).rejects.toThrow(/expected commit f{40} but HEAD is/);
  });

  it('git-checkout with sparse-paths checks out only the directories asked for (cone mode)', async () => {
    const repo = join(dir, 'monorepo');
    mkdirSync(join(repo, 'packages', 'wanted'), { recursive: true });
    mkdirSync(join(repo, 'packages', 'other'), { recursive: true });
    mkdirSync(join(repo, 'shared', 'lib'), { recursive: true });
    const git = gitIn(repo);
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README'), 'root\n');
    writeFileSync(join(repo, 'packages', 'wanted', 'a.txt'), 'a\n');
    writeFileSync(join(repo, 'packages', 'other', 'b.txt'), 'b\n');
    writeFileSync(join(repo, 'shared', 'lib', 'c.txt'), 'c\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    git('tag', 'v1');
    const commit = git('rev-parse', 'HEAD');
    // melange's documented form: a block of paths, one per line
    const recipe = `package:\n  name: sparse-demo\n  version: 1.0\npipeline:\n  - uses: git-checkout\n    with:\n      repository: ${repo}\n      tag: v1\n      expected-commit: ${commit}\n      destination: checkout\n      sparse-paths: |\n        packages/wanted\n        shared/lib\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/demo\n      cd checkout && find . -path ./.git -prune -o -type f -print | sort > \${{targets.destdir}}/usr/share/demo/files\n`;
    const result = await build('sparse', recipe);
    const listed = await packageContent(result.packages[0]!.file, 'usr/share/demo/files');
    // cone mode keeps the files at the root and the two directories, nothing else
    expect(listed.trim().split('\n')).toEqual(['./README', './packages/wanted/a.txt', './shared/lib/c.txt']);
  });

  it('split pipelines move dev, static, man, info, locale and debug files into subpackages', async () => {
    const recipe = `package:
  name: split-demo
  version: 1.0
pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/include $d/usr/lib/pkgconfig $d/usr/share/man/man1 $d/usr/share/info $d/usr/share/locale/de/LC_MESSAGES $d/usr/bin
      echo 'int x;' > $d/usr/include/demo.h
      printf 'Name: demo\\nVersion: 1\\nDescription: d\\n' > $d/usr/lib/pkgconfig/demo.pc
      echo archive > $d/usr/lib/libdemo.a
      echo page > $d/usr/share/man/man1/demo.1
      echo info > $d/usr/share/info/demo.info
      echo dir > $d/usr/share/info/dir
      echo mo > $d/usr/share/locale/de/LC_MESSAGES/demo.mo
      printf 'int main(void){return 0;}' > main.c
      gcc -g -o $d/usr/bin/demo main.c
subpackages:
  - name: split-demo-static
    pipeline:
      - uses: split/static
  - name: split-demo-dev
    pipeline:
      - uses: split/dev
  - name: split-demo-doc
    pipeline:
      - uses: split/manpages
      - uses: split/infodir
  - name: split-demo-lang
    pipeline:
      - uses: split/locales
  - name: split-demo-dbg
    pipeline:
      - uses: split/debug
`;
    const result = await build('split', recipe);
    const files = Object.fromEntries(await Promise.all(result.packages.map(async (pkg) => [pkg.name, (await packageFiles(pkg.file)).filter((path) => !path.startsWith('var/lib/db/sbom/'))] as const)));
    expect(files['split-demo']).toEqual(['usr/bin/demo']);
    expect(files['split-demo-static']).toEqual(['usr/lib/libdemo.a']);
    expect(files['split-demo-dev']).toEqual(['usr/include/demo.h', 'usr/lib/pkgconfig/demo.pc']);
    expect(files['split-demo-doc']).toEqual(['usr/share/info/demo.info', 'usr/share/man/man1/demo.1']);
    expect(files['split-demo-lang']).toEqual(['usr/share/locale/de/LC_MESSAGES/demo.mo']);
    expect(files['split-demo-dbg']).toEqual(['usr/lib/debug/usr/bin/demo.debug']);
    expect(result.packages.find((pkg) => pkg.name === 'split-demo-dev')!.provides).toEqual(['pc:demo=1.0-r0']);
  });

  it('cmake/configure, cmake/build and cmake/install build and install a CMake project', async () => {
    const project = join(dir, 'cmake-src');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.10)\nproject(greet C)\nadd_executable(greet greet.c)\ninstall(TARGETS greet DESTINATION bin)\n');
    writeFileSync(join(project, 'greet.c'), '#include <stdio.h>\nint main(void) { puts("greetings"); return 0; }\n');
    const recipe = `package:\n  name: greet\n  version: 1.0\npipeline:\n  - uses: cmake/configure\n  - uses: cmake/build\n  - uses: cmake/install\n`;
    const result = await build('cmake', recipe, { sourceDir: project });
    expect(await packageFiles(result.packages[0]!.file)).toContain('usr/bin/greet');
    expect(result.packages[0]!.provides).toContain('cmd:greet=1.0-r0');
    expect(result.packages[0]!.depends).toContain('so:libc.so.6');
  });
});

describe('environment.accounts.run-as in bubblewrap', () => {
  it('runs every step as the named user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-run-as-'));
    writeFileSync(
      join(dir, 'who.yaml'),
      [
        'package:\n  name: who\n  version: 1.0.0',
        'environment:\n  accounts:\n    users:\n      - username: nonroot\n        uid: 65532\n        gid: 65532\n    run-as: nonroot',
        'pipeline:\n  - runs: |\n      mkdir -p ${{targets.destdir}}/usr/share/who\n      id -u > ${{targets.destdir}}/usr/share/who/uid\n',
      ].join('\n'),
    );
    await buildRecipe(
      { recipeFile: join(dir, 'who.yaml'), outDir: join(dir, 'out'), sourceDir: null, arch: 'x86_64' },
      { runner: createBwrapRunner(), environment: createHostEnvironmentProvider(), publisher: createApkPublisher() },
    );
    let uid = '';
    for await (const item of readApkFile(join(dir, 'out', 'x86_64', 'who-1.0.0-r0.apk'), { allowUntrusted: true })) {
      if (item.kind === 'entry' && item.entry.path === 'usr/share/who/uid') for await (const chunk of item.content ?? []) uid += Buffer.from(chunk).toString();
      else if (item.kind === 'entry') for await (const _chunk of item.content ?? []) void _chunk;
    }
    expect(uid).toBe('65532\n');
  });
});
