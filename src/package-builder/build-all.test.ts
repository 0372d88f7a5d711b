import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, loadSigningKey, readApkFile } from '../apk/index.ts';
import type { SigningKey } from '../apk/index.ts';
import { createApkPublisher } from './apk-publisher.ts';
import { buildAll } from './build-all.ts';
import { buildRecipe } from './build-service.ts';
import type { BuildEnvironmentProvider } from './environment/provider.ts';
import { createFakeRunner } from './sandbox/fake.ts';

const environment: BuildEnvironmentProvider = {
  name: 'test',
  prepare: () => Promise.resolve({ rootfs: '/', kind: 'bootstrap-host', description: 'test', packages: [], release: () => Promise.resolve() }),
};

function recipe(name: string, runtime: string[] = [], script = 'true'): string {
  return `package:\n  name: ${name}\n  version: 1.0.0\n  dependencies:\n    runtime: [${runtime.join(', ')}]\npipeline:\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share/${name}\n      echo ${name} > \${{targets.destdir}}/usr/share/${name}/file\n      ${script}\n`;
}

describe('build output the steps leave as links', () => {
  it('refuses to package or write through a package directory, or a directory of its SBOM path, that is a symbolic link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-links-'));
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'id_rsa'), 'secret');
    const cases = [
      ['whole', `rm -rf \${{targets.destdir}}; ln -s ${victim} \${{targets.destdir}}`, /package whole: .*whole is a symbolic link left by the build/],
      ['sbomdir', `mkdir -p \${{targets.destdir}}/var; ln -s ${victim} \${{targets.destdir}}/var/lib`, /package sbomdir: .*var\/lib is a symbolic link left by the build/],
    ] as const;
    for (const [name, script, message] of cases) {
      writeFileSync(join(dir, `${name}.yaml`), `package:\n  name: ${name}\n  version: 1.0.0\npipeline:\n  - runs: |\n      ${script}\n`);
      const build = buildRecipe({ recipeFile: join(dir, `${name}.yaml`), outDir: join(dir, 'out'), sourceDir: null, arch: 'x86_64' }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
      await expect(build, name).rejects.toMatchObject({ code: 'PACKAGE_WRITE_FAILED', message: expect.stringMatching(message) as unknown });
    }
    // Nothing of the host's was packaged or written: the victim directory holds only what it held.
    expect(readdirSync(victim)).toEqual(['id_rsa']);
    expect(existsSync(join(dir, 'out', 'x86_64', 'whole-1.0.0-r0.apk'))).toBe(false);
  });
});

describe('buildAll with the fake runner', () => {
  const ports = () => ({ runner: createFakeRunner(), environment, publisher: createApkPublisher() });

  it('builds in order, then skips everything unchanged, then rebuilds what changed and its dependents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-all-'));
    const out = join(dir, 'out');
    writeFileSync(join(dir, 'app.yaml'), recipe('app', ['lib']));
    writeFileSync(join(dir, 'lib.yaml'), recipe('lib'));
    writeFileSync(join(dir, 'other.yaml'), recipe('other'));
    const first = await buildAll({ dir, outDir: out, arch: 'x86_64', jobs: 2 }, ports());
    expect(first.outcomes.map((o) => [o.name, o.status])).toEqual([['lib', 'built'], ['app', 'built'], ['other', 'built']]);
    expect(readdirSync(join(out, 'x86_64')).filter((name) => name.endsWith('.apk')).sort()).toEqual(['app-1.0.0-r0.apk', 'lib-1.0.0-r0.apk', 'other-1.0.0-r0.apk']);

    const second = await buildAll({ dir, outDir: out, arch: 'x86_64' }, ports());
    expect(second.outcomes.every((o) => o.status === 'up-to-date')).toBe(true);

    writeFileSync(join(dir, 'lib.yaml'), recipe('lib', [], 'echo changed'));
    const third = await buildAll({ dir, outDir: out, arch: 'x86_64' }, ports());
    expect(Object.fromEntries(third.outcomes.map((o) => [o.name, o.status]))).toEqual({ lib: 'built', app: 'built', other: 'up-to-date' });
  });

  it('blocks dependents of a failed recipe and keeps building the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-all-'));
    writeFileSync(join(dir, 'app.yaml'), recipe('app', ['lib']));
    writeFileSync(join(dir, 'lib.yaml'), recipe('lib', [], 'exit 3'));
    writeFileSync(join(dir, 'other.yaml'), recipe('other'));
    const result = await buildAll({ dir, outDir: join(dir, 'out'), arch: 'x86_64' }, ports());
    const byName = Object.fromEntries(result.outcomes.map((o) => [o.name, o]));
    expect(byName.lib!.status).toBe('failed');
    expect(byName.lib!.error).toMatch(/exit code 3/);
    expect(byName.app).toMatchObject({ status: 'blocked', blockedBy: ['lib'] });
    expect(byName.other!.status).toBe('built');
    expect(readdirSync(join(dir, 'out', 'x86_64')).filter((name) => name.endsWith('.apk'))).toEqual(['other-1.0.0-r0.apk']);
  });
});

describe('package.timeout', () => {
  it('stops a build that runs past its deadline and names the timeout', async () => {
    const { buildRecipe, cpeString, parseDuration } = await import('./build-service.ts');
    expect(cpeString({ vendor: 'gnu', product: 'hello' }, '2.10')).toBe('cpe:2.3:a:gnu:hello:2.10:*:*:*:*:*:*:*');
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('120')).toBe(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-timeout-'));
    writeFileSync(join(dir, 'slow.yaml'), 'package:\n  name: slow\n  version: 1\n  timeout: 300ms\npipeline:\n  - runs: sleep 20\n');
    await expect(
      buildRecipe({ recipeFile: join(dir, 'slow.yaml'), outDir: join(dir, 'out'), sourceDir: null, arch: 'x86_64' }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() }),
    ).rejects.toThrow(/slow\.yaml:4:12: the build exceeded package\.timeout 300ms/);
  });
});

describe('an unsigned build next to a signed index', () => {
  async function signedOutput() {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-downgrade-'));
    const key = await loadSigningKey((await generateSigningKey(join(dir, 'builder'), 2048)).privateKeyPath);
    writeFileSync(join(dir, 'lib.yaml'), recipe('lib'));
    const out = join(dir, 'out');
    await buildRecipe({ recipeFile: join(dir, 'lib.yaml'), outDir: out, sourceDir: null, arch: 'x86_64' }, { runner: createFakeRunner(), environment, publisher: createApkPublisher({ signingKey: key }) });
    return { dir, out, key, index: join(out, 'x86_64', 'APKINDEX.tar.gz') };
  }

  it('pkg build: is refused before any step runs, leaving the output directory as it was', async () => {
    const { dir, out, index } = await signedOutput();
    const before = readdirSync(join(out, 'x86_64')).map((name) => [name, readFileSync(join(out, 'x86_64', name)).toString('base64')]);
    const marker = join(dir, 'step-ran');
    writeFileSync(join(dir, 'app.yaml'), recipe('app', [], `touch ${marker}`));
    const build = buildRecipe({ recipeFile: join(dir, 'app.yaml'), outDir: out, sourceDir: null, arch: 'x86_64' }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    await expect(build).rejects.toMatchObject({ code: 'INDEX_SIGNATURE_DOWNGRADE', message: expect.stringContaining(`${index} is signed (by builder.rsa.pub) and this run has no signing key`) as unknown });
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(join(out, 'x86_64')).map((name) => [name, readFileSync(join(out, 'x86_64', name)).toString('base64')])).toEqual(before);
    // without an index update there is nothing to downgrade
    await buildRecipe({ recipeFile: join(dir, 'app.yaml'), outDir: out, sourceDir: null, arch: 'x86_64', generateIndex: false }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    expect(existsSync(marker)).toBe(true);
  });

  it('build-all: is refused before anything is built when a recipe is out of date, passes when all are up to date', async () => {
    const { dir, out, index, key } = await signedOutput();
    const recipes = mkdtempSync(join(tmpdir(), 'kiln-downgrade-all-'));
    writeFileSync(join(recipes, 'other.yaml'), recipe('other'));
    const ports = (signingKey?: SigningKey) => ({ runner: createFakeRunner(), environment, publisher: createApkPublisher(signingKey ? { signingKey } : {}) });
    expect((await buildAll({ dir: recipes, outDir: out, arch: 'x86_64' }, ports(key))).outcomes.map((o) => o.status)).toEqual(['built']);
    expect((await buildAll({ dir: recipes, outDir: out, arch: 'x86_64' }, ports())).outcomes.map((o) => o.status)).toEqual(['up-to-date']);

    const indexBefore = readFileSync(index);
    writeFileSync(join(recipes, 'other.yaml'), recipe('other', [], `touch ${join(dir, 'other-ran')}`));
    await expect(buildAll({ dir: recipes, outDir: out, arch: 'x86_64' }, ports())).rejects.toMatchObject({ code: 'INDEX_SIGNATURE_DOWNGRADE', detail: { index } });
    expect(existsSync(join(dir, 'other-ran'))).toBe(false);
    expect(readFileSync(index).equals(indexBefore)).toBe(true);
    // a dry run only plans
    expect((await buildAll({ dir: recipes, outDir: out, arch: 'x86_64', dryRun: true }, ports())).outcomes.map((o) => [o.name, o.status])).toEqual([['other', 'planned']]);
  });
});

describe('preloaded environment (--env-file)', () => {
  it('reaches every step, with the recipe environment winning, and changes build-all input hashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-env-file-'));
    writeFileSync(
      join(dir, 'env.yaml'),
      'package:\n  name: env\n  version: 1.0.0\nenvironment:\n  environment:\n    WHO: recipe\npipeline:\n  - runs: |\n      mkdir -p ${{targets.destdir}}/usr/share/env\n      echo "$GREETING $WHO" > ${{targets.destdir}}/usr/share/env/out\n',
    );
    const out = join(dir, 'out');
    await buildRecipe({ recipeFile: join(dir, 'env.yaml'), outDir: out, sourceDir: null, arch: 'x86_64', environment: { GREETING: 'hello', WHO: 'file' } }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    let content = '';
    for await (const item of readApkFile(join(out, 'x86_64', 'env-1.0.0-r0.apk'), { allowUntrusted: true })) {
      if (item.kind === 'entry' && item.entry.path === 'usr/share/env/out') for await (const chunk of item.content ?? []) content += Buffer.from(chunk).toString();
      else if (item.kind === 'entry') for await (const _chunk of item.content ?? []) void _chunk;
    }
    expect(content).toBe('hello recipe\n');
    // build-all: the same tree with another preloaded environment is out of date.
    const first = await buildAll({ dir, outDir: join(dir, 'all'), arch: 'x86_64', environment: { GREETING: 'a' } }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    const same = await buildAll({ dir, outDir: join(dir, 'all'), arch: 'x86_64', environment: { GREETING: 'a' } }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    const changed = await buildAll({ dir, outDir: join(dir, 'all'), arch: 'x86_64', environment: { GREETING: 'b' } }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    expect([first, same, changed].map((result) => result.outcomes.map((outcome) => outcome.status))).toEqual([['built'], ['up-to-date'], ['built']]);
  });
});

describe('build-all input hashes and pipelines', () => {
  it('cover the pipelines a recipe uses, not every file of the pipeline directories', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-all-'));
    const pipelines = join(dir, 'pipelines-extra');
    mkdirSync(join(pipelines, 'local'), { recursive: true });
    writeFileSync(join(pipelines, 'local', 'outer.yaml'), 'pipeline:\n  - uses: local/inner\n');
    writeFileSync(join(pipelines, 'local', 'inner.yaml'), 'pipeline:\n  - runs: echo one\n');
    writeFileSync(join(dir, 'uses.yaml'), 'package:\n  name: uses\n  version: 1.0.0\npipeline:\n  - uses: local/outer\n');
    writeFileSync(join(dir, 'plain.yaml'), recipe('plain'));
    const plan = async () => Object.fromEntries((await buildAll({ dir, outDir: join(dir, 'out'), arch: 'x86_64', dryRun: true, pipelineDirs: [pipelines] }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() })).outcomes.map((o) => [o.name, o.inputHash]));
    const first = await plan();
    writeFileSync(join(pipelines, 'local', 'unused.yaml'), 'pipeline:\n  - runs: echo unused\n');
    expect(await plan()).toEqual(first);
    // a change to a definition used only through another one changes that recipe's hash alone
    writeFileSync(join(pipelines, 'local', 'inner.yaml'), 'pipeline:\n  - runs: echo two\n');
    const third = await plan();
    expect(third.plain).toBe(first.plain);
    expect(third.uses).not.toBe(first.uses);
  });

  it('skips YAML that is no recipe and reports a recipe that does not load, planning the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-all-'));
    writeFileSync(join(dir, '.yam.yaml'), 'indent: 2\n');
    writeFileSync(join(dir, 'bad.yaml'), 'package:\n  name: bad\n');
    writeFileSync(join(dir, 'good.yaml'), recipe('good'));
    const result = await buildAll({ dir, outDir: join(dir, 'out'), arch: 'x86_64', dryRun: true }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
    expect(result.outcomes.map((o) => [o.name, o.status])).toEqual([['good', 'planned'], ['.yam.yaml', 'skipped'], ['bad', 'invalid']]);
    expect(result.outcomes[2]!.error).toMatch(/bad\.yaml:2:3: missing required key package\.version/);
  });
});

describe('the recipe commit a package names', () => {
  it('is the last commit that changed the recipe, so a commit elsewhere in the checkout leaves the package bytes unchanged', async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-commit-'));
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } }).trim();
    git('init', '-q');
    writeFileSync(join(dir, 'lib.yaml'), recipe('lib'));
    git('add', 'lib.yaml');
    git('commit', '-qm', 'lib');
    const recipeCommit = git('rev-parse', 'HEAD');
    const build = async (out: string) => {
      await buildRecipe({ recipeFile: join(dir, 'lib.yaml'), outDir: out, arch: 'x86_64', sourceDateEpoch: 1_700_000_000 }, { runner: createFakeRunner(), environment, publisher: createApkPublisher() });
      return readFileSync(join(out, 'x86_64', 'lib-1.0.0-r0.apk'));
    };
    const first = await build(join(dir, 'out-1'));
    writeFileSync(join(dir, 'README'), 'unrelated\n');
    git('add', 'README');
    git('commit', '-qm', 'unrelated');
    expect(git('rev-parse', 'HEAD')).not.toBe(recipeCommit);
    const second = await build(join(dir, 'out-2'));
    expect(second.equals(first)).toBe(true);
    let commit: string | undefined;
    for await (const item of readApkFile(join(dir, 'out-2', 'x86_64', 'lib-1.0.0-r0.apk'), { allowUntrusted: true })) {
      if (item.kind === 'control') commit = item.control.pkginfo.commit;
      else if (item.kind === 'entry') for await (const _chunk of item.content ?? []) void _chunk;
    }
    expect(commit).toBe(recipeCommit);
  });
});
