// Real clients against `kiln registry serve`: skopeo pushes and pulls, Distribution 2.8 exchanges
// images with Kiln in both directions with digests preserved, umoci unpacks and runc runs a pulled
// image, podman pulls.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podmanStorage } from './podman-support.ts';
import { buildHelloLayout, run, sha256, startDistribution, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

let dir: string;
let kiln: ServerProcess;
let distribution: ServerProcess;
let image: Awaited<ReturnType<typeof buildHelloLayout>>;
const message = 'hello from a kiln registry';
const insecure = ['--src-tls-verify=false', '--dest-tls-verify=false'];

async function digestOf(reference: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', reference]);
  return sha256(Buffer.from(stdout));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-registry-e2e-'));
  image = await buildHelloLayout(dir, message, 'v1');
  kiln = await startKiln(join(dir, 'kiln-data'));
  distribution = await startDistribution(join(dir, 'distribution'));
});

afterAll(async () => {
  await kiln?.stop();
  await distribution?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('kiln registry with real clients', () => {
  it('skopeo pushes an OCI layout and pulls it back byte-identical', async () => {
    await run('skopeo', ['copy', ...insecure, `oci:${image.layout}:v1`, `docker://${kiln.host}/e2e/hello:v1`]);
    expect(await digestOf(`docker://${kiln.host}/e2e/hello:v1`)).toBe(image.digest);
    const { stdout } = await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${kiln.host}/e2e/hello`]);
    expect(JSON.parse(stdout).Tags).toEqual(['v1']);
    await run('skopeo', ['copy', ...insecure, `docker://${kiln.host}/e2e/hello:v1`, `oci:${join(dir, 'pulled')}:v1`]);
    const index = JSON.parse(await readFile(join(dir, 'pulled', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]!.digest).toBe(image.digest);
    expect(kiln.log()).toContain('anonymous pull and push allowed');
  });

  it('skopeo copies between two Kiln repositories by mounting the layer (from=) instead of uploading it', async () => {
    const counter = async (pattern: RegExp): Promise<number> => {
      const text = await (await fetch(`${kiln.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => pattern.test(line))
        .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
    };
    const mounts = /^kiln_registry_http_requests_total\{method="POST",route="upload-start",status="201"\}/;
    const patches = /^kiln_registry_http_requests_total\{method="PATCH",/;
    const [mountsBefore, patchesBefore] = [await counter(mounts), await counter(patches)];
    await run('skopeo', ['copy', ...insecure, `docker://${kiln.host}/e2e/hello:v1`, `docker://${kiln.host}/e2e/mounted:v1`]);
    expect(await digestOf(`docker://${kiln.host}/e2e/mounted:v1`)).toBe(image.digest);
    // skopeo (containers/image) asks to mount the layer, which it knows is in e2e/hello, and uploads
    // the small config again: one mount answered 201, one upload.
    expect((await counter(mounts)) - mountsBefore).toBe(1);
    expect((await counter(patches)) - patchesBefore).toBe(1);
  });

  it('umoci unpacks the pulled image and runc runs it', async () => {
    const bundle = join(dir, 'bundle');
    await run('umoci', ['unpack', '--image', `${join(dir, 'pulled')}:v1`, bundle]);
    const configPath = join(bundle, 'config.json');
    const spec = JSON.parse(await readFile(configPath, 'utf8')) as { process: { terminal: boolean } };
    spec.process.terminal = false;
    await writeFile(configPath, JSON.stringify(spec));
    const { stdout } = await run('runc', ['--root', join(dir, 'runc-state'), 'run', '--bundle', bundle, `kiln-e2e-${process.pid}`]);
    expect(stdout).toContain(message);
  });

  it('copies Kiln → Distribution and Distribution → Kiln with digests preserved', async () => {
    await run('skopeo', ['copy', '--all', '--preserve-digests', ...insecure, `docker://${kiln.host}/e2e/hello:v1`, `docker://${distribution.host}/from-kiln/hello:v1`]);
    expect(await digestOf(`docker://${distribution.host}/from-kiln/hello:v1`)).toBe(image.digest);
    // A second image made only in Distribution travels the other way.
    const other = await buildHelloLayout(join(dir, 'other'), 'made for distribution', 'v2');
    await run('skopeo', ['copy', ...insecure, `oci:${other.layout}:v2`, `docker://${distribution.host}/dist/hello:v2`]);
    await run('skopeo', ['copy', '--all', '--preserve-digests', ...insecure, `docker://${distribution.host}/dist/hello:v2`, `docker://${kiln.host}/from-dist/hello:v2`]);
    expect(await digestOf(`docker://${kiln.host}/from-dist/hello:v2`)).toBe(other.digest);
    // Docker v2 schema 2: let skopeo convert on the way into Distribution, then bring it back to Kiln.
    await run('skopeo', ['copy', ...insecure, '--format', 'v2s2', `oci:${other.layout}:v2`, `docker://${distribution.host}/dist/docker:v2`]);
    const dockerDigest = await digestOf(`docker://${distribution.host}/dist/docker:v2`);
    await run('skopeo', ['copy', '--preserve-digests', ...insecure, `docker://${distribution.host}/dist/docker:v2`, `docker://${kiln.host}/from-dist/docker:v2`]);
    expect(await digestOf(`docker://${kiln.host}/from-dist/docker:v2`)).toBe(dockerDigest);
  });

  it('podman pulls from Kiln', async () => {
    const podman = await podmanStorage(join(dir, 'podman'));
    try {
      const { stdout } = await run('podman', [...podman.flags, 'pull', '--tls-verify=false', `${kiln.host}/e2e/hello:v1`]);
      const { stdout: digest } = await run('podman', [...podman.flags, 'image', 'inspect', '--format', '{{.Digest}}', `${kiln.host}/e2e/hello:v1`]);
      expect(stdout.trim().length).toBeGreaterThan(0);
      expect(digest.trim()).toBe(image.digest);
    } finally {
      await podman.remove();
    }
  });
});
