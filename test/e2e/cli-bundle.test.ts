// The bundled CLI (dist/kiln.js, what the `kiln` bin runs; scripts/bundle-cli.mjs) against the compiled
// modules it is made from (dist/cli/main.js): same answers, and the data files it needs found from
// its own location. Runs the built CLI (scripts/test.sh builds before the tests).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const bundle = join(root, 'dist/kiln.js');
const modules = join(root, 'dist/cli/main.js');
const fixtures = join(root, 'test/fixtures/apk/apko-cli-packages');

let dir: string;
beforeAll(async () => {
  for (const main of [bundle, modules]) if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  dir = await mkdtemp(join(tmpdir(), 'kiln-cli-bundle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(main: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [main, ...args], { cwd: dir, env: { ...process.env, HOME: dir, XDG_CACHE_HOME: join(dir, `cache-${main === bundle ? 'bundle' : 'modules'}`) } }).then(
    (done) => ({ code: 0, stdout: done.stdout, stderr: done.stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('the bundled CLI', () => {
  it('is what the kiln bin runs, and prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string; bin: { kiln: string } };
    expect(pkg.bin.kiln).toBe('dist/kiln.js');
    expect(await run(bundle, ['--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('resolves the same plan as the compiled modules, three times (storing the prepared universe, then from it)', async () => {
    const args = ['apk', 'resolve', '-X', fixtures, '-k', join(fixtures, 'melange.rsa.pub'), '--arch', 'aarch64', '--json', 'replayout', 'custom-ca-certs-2'];
    const expected = await run(modules, args);
    expect(expected.code).toBe(0);
    expect(JSON.parse(expected.stdout).install.map((entry: { name: string }) => entry.name).sort()).toEqual(['custom-ca-certs-2', 'pretend-baselayout', 'replayout']);
    for (let round = 0; round < 3; round++) expect(await run(bundle, args)).toEqual(expected);
  });

  it('finds the built-in pipelines beside the compiled package builder', async () => {
    const recipes = join(dir, 'recipes');
    await mkdir(recipes, { recursive: true });
    const recipe = (uses: string): string =>
      `package:\n  name: hello\n  version: 2.12.1\n  epoch: 0\n  description: hello\n  copyright:\n    - license: GPL-3.0-or-later\npipeline:\n  - uses: autoconf/configure\n  - uses: ${uses}\n`;
    await writeFile(join(recipes, 'hello.yaml'), recipe('autoconf/make'));
    const good = await run(bundle, ['pkg', 'check', recipes]);
    expect(good.code).toBe(0);
    await writeFile(join(recipes, 'hello.yaml'), recipe('no-such/pipeline'));
    const bad = await run(bundle, ['pkg', 'check', recipes]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain(`pipeline "no-such/pipeline" not found (searched ${join(root, 'dist/package-builder/pipelines')})`);
  });
});
