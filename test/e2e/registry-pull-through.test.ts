// Pull-through cache: Kiln mirrors a repository pattern of Debian's docker-registry (Distribution 2.8)
// as the upstream. skopeo pulls through Kiln; a moved upstream tag is seen after the revalidation age;
// with the upstream stopped, what was cached is still served and what was not answers 503; pushes to
// a mirrored repository are refused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHelloLayout, run, sha256, startDistribution, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

let dir: string;
let upstream: ServerProcess;
let kiln: ServerProcess;
/** An upstream that accepts connections and never answers. */
let silent: Server;
const insecure = ['--src-tls-verify=false', '--dest-tls-verify=false'];

async function pulledDigest(reference: string, name: string): Promise<string> {
  const target = join(dir, name);
  await run('skopeo', ['copy', ...insecure, reference, `oci:${target}:x`]);
  const index = JSON.parse(await readFile(join(target, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return index.manifests[0]!.digest;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-pull-through-'));
  upstream = await startDistribution(join(dir, 'upstream'));
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  await writeFile(
    join(dir, 'config.yaml'),
    [
      'proxy:',
      '  - repository: "mirror/**"', `    upstream: ${upstream.url}`, '    stripPrefix: mirror/', '    revalidateAfter: 8s',
      '  - repository: "stalled/**"', `    upstream: ${silentUrl}`, '    stripPrefix: stalled/', '    timeout: 1s',
      'storage:', '  delete:', '    enabled: true', '',
    ].join('\n'),
  );
  kiln = await startKiln(join(dir, 'kiln'), ['--config', join(dir, 'config.yaml')]);
});

afterAll(async () => {
  await kiln?.stop();
  await upstream?.stop();
  silent?.closeAllConnections();
  silent?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('pull-through cache in front of Distribution', () => {
  it('answers 503 when the upstream accepts the connection and then says nothing (stall timeout), instead of hanging the pull', async () => {
    const started = Date.now();
    const response = await fetch(`${kiln.url}/v2/stalled/library/hello/manifests/v1`);
    expect(response.status).toBe(503);
    const error = ((await response.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('stalled/library/hello');
    // Three attempts of one second each (reads are retried twice), far below a hang.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('pulls through, sees a moved tag after the revalidation age, and serves the cache while the upstream is down', async () => {
    const first = await buildHelloLayout(join(dir, 'first'), 'first upstream image', 'v1');
    const second = await buildHelloLayout(join(dir, 'second'), 'second upstream image', 'v1');
    await run('skopeo', ['copy', ...insecure, `oci:${first.layout}:v1`, `docker://${upstream.host}/library/hello:v1`]);
    expect(await pulledDigest(`docker://${kiln.host}/mirror/library/hello:v1`, 'pulled-1')).toBe(first.digest);
    // Everything is now local: the manifest by digest and both blobs, verified.
    const manifest = JSON.parse(first.manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
    for (const digest of [manifest.config.digest, manifest.layers[0]!.digest]) {
      const blob = await fetch(`${kiln.url}/v2/mirror/library/hello/blobs/${digest}`);
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(digest);
    }
    // Within the revalidation age the upstream is not asked; after it, a moved tag is followed.
    await run('skopeo', ['copy', ...insecure, `oci:${second.layout}:v1`, `docker://${upstream.host}/library/hello:v1`]);
    expect((await fetch(`${kiln.url}/v2/mirror/library/hello/manifests/v1`, { method: 'HEAD' })).headers.get('docker-content-digest')).toBe(first.digest);
    await new Promise((resolve) => setTimeout(resolve, 8100));
    expect(await pulledDigest(`docker://${kiln.host}/mirror/library/hello:v1`, 'pulled-2')).toBe(second.digest);
    // The upstream goes away: the cached tag and the older image by digest are still served.
    await upstream.stop();
    await new Promise((resolve) => setTimeout(resolve, 8100));
    expect(await pulledDigest(`docker://${kiln.host}/mirror/library/hello:v1`, 'pulled-3')).toBe(second.digest);
    expect(await pulledDigest(`docker://${kiln.host}/mirror/library/hello@${first.digest}`, 'pulled-4')).toBe(first.digest);
    expect(kiln.log()).toContain('serving the cached copy');
    // What was never cached cannot be served: 503 with Retry-After, not a 404 that would claim it does not exist.
    const missing = await fetch(`${kiln.url}/v2/mirror/library/hello/manifests/v2`);
    expect(missing.status).toBe(503);
    expect(missing.headers.get('retry-after')).toBe('5');
    expect(((await missing.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
  });

  it('refuses pushes and deletes in mirrored repositories, and leaves other repositories alone', async () => {
    const image = await buildHelloLayout(join(dir, 'local'), 'a local image', 'v1');
    const refused = await fetch(`${kiln.url}/v2/mirror/library/hello/blobs/uploads/`, { method: 'POST' });
    expect(refused.status).toBe(405);
    expect(((await refused.json()) as { errors: { code: string; message: string }[] }).errors[0]).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('pull-through cache') });
    expect((await fetch(`${kiln.url}/v2/mirror/library/hello/manifests/v1`, { method: 'DELETE' })).status).toBe(405);
    await run('skopeo', ['copy', ...insecure, `oci:${image.layout}:v1`, `docker://${kiln.host}/local/hello:v1`]);
    expect(await pulledDigest(`docker://${kiln.host}/local/hello:v1`, 'pulled-local')).toBe(image.digest);
  });
});
