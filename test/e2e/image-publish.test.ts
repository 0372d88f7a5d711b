import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import { startDockerRegistry } from '../../src/registry-client/testing.ts';
import type { TestRegistry } from '../../src/registry-client/testing.ts';

// `kiln image publish` against Debian's docker-registry on loopback, read back with skopeo.

const run = promisify(execFile);
const fixtureRepo = join(import.meta.dirname, '..', 'fixtures', 'apk', 'apko-cli-packages');
let work: string;
let registry: TestRegistry;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-image-publish-'));
  registry = await startDockerRegistry();
  await writeFile(
    join(work, 'image.yaml'),
    `contents:\n  repositories: [${fixtureRepo}]\n  keyring: [${join(fixtureRepo, 'melange.rsa.pub')}]\n  packages: [replayout]\narchs: [x86_64, aarch64]\nlayering: {strategy: origin, budget: 4}\n`,
  );
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('kiln image publish (e2e)', () => {
  it('pushes the per-arch images and the index to every tag', async () => {
    const { code, stdout, stderr } = await runKiln(
      ['image', 'publish', 'image.yaml', `${registry.host}/team/app:1.0`, `${registry.host}/team/app:latest`, '--cache-dir', 'cache', '--image-refs', 'refs.txt', '--json'],
      { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, cwd: work },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { index: { digest: string }; refs: string[] };
    expect(summary.refs[0]).toBe(`${registry.host}/team/app@${summary.index.digest}`);
    const refs = (await readFile(join(work, 'refs.txt'), 'utf8')).trim().split('\n');
    expect(refs).toEqual(summary.refs);
    for (const tag of ['1.0', 'latest']) {
      const raw = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/team/app:${tag}`])).stdout) as { manifests: Array<{ platform: { architecture: string } }> };
      expect(raw.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    }
    const arm = JSON.parse((await run('skopeo', ['--override-arch', 'arm64', 'inspect', '--tls-verify=false', `docker://${registry.host}/team/app:1.0`])).stdout) as { Architecture: string; Layers: string[] };
    expect(arm.Architecture).toBe('arm64');
    // layering by origin: one package-group layer plus the top layer
    expect(arm.Layers).toHaveLength(2);
  });
});
