import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/apk/index.ts';
import { startRepoServer } from '../../src/apk/repository/test-server.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// A build environment assembled from packages by the image assembler (not the host root): a repo of
// two packages Kiln built itself (the host's glibc and dash), a recipe whose environment.contents asks
// for the shell, and steps that can see only what those packages installed.

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, cwd: process.cwd() });

const recipes = join(import.meta.dirname, '..', 'fixtures', 'recipes');

describe('kiln pkg build in an environment assembled from packages', () => {
  let work: string;
  let publicKey: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-env-'));
    const keys = await generateSigningKey(join(work, 'repo-key'), 2048);
    publicKey = keys.publicKeyPath;
    for (const recipe of ['host-glibc.yaml', 'host-dash.yaml']) {
      copyFileSync(join(recipes, recipe), join(work, recipe));
      const result = await kiln(['pkg', 'build', join(work, recipe), '--bootstrap-host', '--signing-key', keys.privateKeyPath, '--out-dir', join(work, 'repo'), '--empty-workspace']);
      expect(result.code, result.stderr).toBe(0);
    }
  });

  const build = (name: string, script: string) => {
    writeFileSync(join(work, `${name}.yaml`), `package:\n  name: ${name}\n  version: 1.0\nenvironment:\n  contents:\n    packages:\n      - host-dash\npipeline:\n  - name: ${name} step\n    runs: |\n${script.replace(/^/gm, '      ')}\n`);
    return kiln(['pkg', 'build', join(work, `${name}.yaml`), '-r', join(work, 'repo'), '-k', publicKey, '--apk-cache-dir', join(work, 'cache'), '--out-dir', join(work, 'out'), '--empty-workspace', '--json']);
  };

  it('runs steps in the assembled root and records its locked package list in provenance', async () => {
    const result = await build('inside', 'echo "shell: $(command -v sh)" > ${{targets.destdir}}/proof');
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { environment: { kind: string }; provenance: string };
    expect(summary.environment.kind).toBe('assembled');
    const statement = JSON.parse(readFileSync(summary.provenance, 'utf8')) as { predicate: { buildDefinition: { resolvedDependencies: { uri: string }[] } } };
    const uris = statement.predicate.buildDefinition.resolvedDependencies.map((dep) => dep.uri);
    // Named as the root's SBOM names them: the os-release ID as namespace, and the arch.
    expect(uris).toEqual(expect.arrayContaining([expect.stringMatching(/^pkg:apk\/[a-z0-9.-]+\/host-dash@0\.5\.12-r0\?arch=/), expect.stringMatching(/^pkg:apk\/[a-z0-9.-]+\/host-glibc@2\.36-r0\?arch=/)]));
    expect(uris.some((uri) => uri.startsWith('pkg:deb/'))).toBe(false);
  });

  it('does not see the host: a compiler the packages do not provide is missing', async () => {
    const result = await build('no-gcc', 'gcc --version');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/step "no-gcc step" .* failed with exit code 127/);
    expect(result.stderr).toMatch(/gcc: not found/);
  });

  it('trusts the recipe\'s own environment keyring (a key URL, as Wolfi recipes list it) without -k', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'kiln-e2e-env-keys-'));
    copyFileSync(publicKey, join(keyDir, 'repo-key.rsa.pub'));
    const server = await startRepoServer(keyDir);
    try {
      const recipe = `package:\n  name: own-keyring\n  version: 1.0\nenvironment:\n  contents:\n    repositories:\n      - ${join(work, 'repo')}\n    keyring:\n      - ${server.url}/repo-key.rsa.pub\n    packages:\n      - host-dash\npipeline:\n  - runs: test -s /etc/apk/keys/repo-key.rsa.pub\n`;
      writeFileSync(join(work, 'own-keyring.yaml'), recipe);
      const args = ['pkg', 'build', join(work, 'own-keyring.yaml'), '--apk-cache-dir', join(work, 'cache-own'), '--out-dir', join(work, 'out-own'), '--empty-workspace'];
      const result = await kiln(args);
      expect(result.code, result.stderr).toBe(0);
      expect(server.requests).toEqual(['/repo-key.rsa.pub']);
      // the same recipe without any keyring is refused: nothing vouches for the repository's index
      writeFileSync(join(work, 'own-keyring.yaml'), recipe.replace(/ {4}keyring:\n.*\n/, ''));
      const refused = await kiln(['pkg', 'build', join(work, 'own-keyring.yaml'), '--apk-cache-dir', join(work, 'cache-own'), '--out-dir', join(work, 'out-refused'), '--empty-workspace']);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/no trusted keys/);
    } finally {
      await server.close();
    }
  });

  it('fails clearly when the environment cannot be resolved', async () => {
    writeFileSync(join(work, 'missing.yaml'), 'package:\n  name: missing\n  version: 1.0\nenvironment:\n  contents:\n    packages:\n      - no-such-package\npipeline:\n  - runs: true\n');
    const result = await kiln(['pkg', 'build', join(work, 'missing.yaml'), '-r', join(work, 'repo'), '-k', publicKey, '--apk-cache-dir', join(work, 'cache'), '--out-dir', join(work, 'out2'), '--empty-workspace']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/assembling the build environment \(no-such-package\) failed: cannot resolve the packages/);
    expect(result.stderr).toMatch(/no-such-package \(no such package\)/);
  });
});
