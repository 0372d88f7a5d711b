// The web catalog over a registry with auth turned on: `kiln catalog serve` (the real CLI, as a
// child process) reads Kiln's registry with the credentials in Docker's config.json — the same
// source `kiln image publish` uses — verifies a real Kiln OS image's signature through the
// authenticated API, never shows a credential on a page, and refuses to start with a wrong
// password, naming the registry.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImagePageView, ImagesListView } from '../../src/catalog/index.ts';
import { root, spawnCatalogServe } from './catalog-support.ts';
import { runKiln } from './cli-support.ts';
import { ensureKilnOs, KILN_OS_BUILD_TIMEOUT, kilnOsCache } from './kiln-os-support.ts';
import { freePort } from './registry-support.ts';

const PASSWORD = 'catalog-s3cret-pw';
const WRONG = 'not-the-password-9';
let work: string;
let url: string;
let host: string;
let server: Awaited<ReturnType<typeof spawnCatalogServe>> | undefined;
let goodEnv: NodeJS.ProcessEnv;
let wrongEnv: NodeJS.ProcessEnv;
let serveArgs: string[];

async function dockerConfig(dir: string, password: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`pusher:${password}`).toString('base64') } } }));
  return dir;
}

beforeAll(async () => {
  await ensureKilnOs();
  work = await mkdtemp(join(tmpdir(), 'kiln-catalog-auth-e2e-'));
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  url = `http://${host}`;
  await writeFile(join(work, 'users'), `pusher:${bcrypt.hashSync(PASSWORD, 6)}\n`);
  // Nothing is public: every pull, the catalog's included, needs the credentials.
  await writeFile(join(work, 'config.yaml'), ['auth:', `  htpasswd: ${join(work, 'users')}`, '  token:', '    service: kiln-catalog-e2e', '  access:', '    - repository: "**"', '      pull: [pusher]', '      push: [pusher]', ''].join('\n'));
  const base = { ...process.env, COSIGN_PASSWORD: 'catalog-auth-e2e', SOURCE_DATE_EPOCH: '1700000000' };
  goodEnv = { ...base, DOCKER_CONFIG: await dockerConfig(join(work, 'docker-good'), PASSWORD) };
  wrongEnv = { ...base, DOCKER_CONFIG: await dockerConfig(join(work, 'docker-wrong'), WRONG) };
  const keys = await runKiln(['generate-key-pair', '--output-key-prefix', join(work, 'trusted')], { cwd: root, env: goodEnv });
  expect(keys.code, keys.stderr).toBe(0);
  serveArgs = ['--config', join(work, 'config.yaml'), '--listen', host, '--data-dir', join(work, 'data'), '--key', join(work, 'trusted.pub'), '--log-level', 'silent'];
  server = await spawnCatalogServe(serveArgs, goodEnv, url);
  const out = join(kilnOsCache, 'out');
  const published = await runKiln(['image', 'publish', join(root, 'os', 'images', 'busybox.yaml'), `${host}/kiln-os/busybox:latest`, '-r', out, '-k', join(kilnOsCache, 'kiln-os.rsa.pub'), '--key', join(work, 'trusted.key')], { cwd: root, env: goodEnv });
  expect(published.code, published.stderr).toBe(0);
}, KILN_OS_BUILD_TIMEOUT);

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kiln catalog serve over a registry with auth', () => {
  it('reads the registry with the Docker config credentials: the signature verifies through the authenticated API', async () => {
    // The registry really requires credentials for pulls.
    expect((await fetch(`${url}/v2/kiln-os/busybox/manifests/latest`)).status).toBe(401);
    const list = (await (await fetch(`${url}/api/images`)).json()) as ImagesListView;
    expect(list.images.map((image) => image.name)).toEqual(['kiln-os/busybox']);
    const view = (await (await fetch(`${url}/api/images/kiln-os/busybox`)).json()) as ImagePageView;
    expect(view.trust.signature.state).toBe('verified');
    expect(view.provenance.badge.state).toBe('verified');
    expect(view.packages.source).toBe('sbom');
  });

  it('never shows a credential on a page or in the JSON API', async () => {
    const secrets = [PASSWORD, Buffer.from(`pusher:${PASSWORD}`).toString('base64'), 'authorization', 'Bearer '];
    for (const path of ['/', '/images/kiln-os/busybox', '/api/images', '/api/images/kiln-os/busybox', '/compare', '/sbom/spdx/kiln-os/busybox']) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(200);
      const body = await response.text();
      for (const secret of secrets) expect(body.includes(secret), `${path} shows ${secret}`).toBe(false);
    }
    expect(server!.log()).not.toContain(PASSWORD);
  });

  it('refuses to start with a wrong password, naming the registry', async () => {
    await server!.stop();
    server = undefined;
    const result = await runKiln(['catalog', 'serve', ...serveArgs], { cwd: root, env: wrongEnv }).catch((error: unknown) => ({ code: -1, stdout: '', stderr: String(error) }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`registry ${host} refused the catalog's credentials`);
    expect(result.stderr).not.toContain(WRONG);
    // The listener was closed: nothing is served after the refusal.
    expect(await fetch(`${url}/healthz`).then(() => 'up', () => 'down')).toBe('down');
  });
});
