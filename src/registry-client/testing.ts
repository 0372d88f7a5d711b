// Test support: starts Debian's docker-registry (CNCF Distribution 2.8) on a random loopback port
// with temporary storage. Used by integration and e2e tests; not part of the public API.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { RegistryClient } from './client.ts';
import type { Descriptor, ImageIndex, ImageManifest, ImageReference } from '../oci/index.ts';
import { MediaTypes } from '../oci/index.ts';


/** A running registry for a test. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, usable as the registry part of a reference. */
  host: string;
  /** Storage root (Distribution layout under docker/registry/v2), for tamper tests. */
  dataDir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `/usr/bin/docker-registry serve` with filesystem storage in a temp dir; `htpasswd` (file
 *  content, bcrypt entries) turns on Basic auth. Waits until `/v2/` answers. */
export async function startDockerRegistry(options: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-docker-registry-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const auth = options.htpasswd === undefined ? '' : `auth:\n  htpasswd:\n    realm: kiln-test\n    path: ${join(dir, 'htpasswd')}\n`;
    if (options.htpasswd !== undefined) await writeFile(join(dir, 'htpasswd'), options.htpasswd);
    const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`;
    await writeFile(join(dir, 'config.yml'), config);
    const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const host = `127.0.0.1:${port}`;
    if (await waitReady(host, child)) {
      return {
        host,
        dataDir: join(dir, 'data'),
        stop: async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(child);
    lastError = new Error(`docker-registry did not start on ${host}: ${stderr}`);
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function waitReady(host: string, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) return false;
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.body?.cancel();
      if (response.status === 200 || response.status === 401) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}


/** A tar archive holding one regular file (ustar header + content + padding + end blocks). */
function tinyTar(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}

/** Pushes a small hand-made single-layer OCI image for `architecture` and returns its descriptor. */
export async function pushTestImage(client: RegistryClient, ref: ImageReference, options: { architecture?: string; content?: string; tag?: string } = {}): Promise<Descriptor> {
  const architecture = options.architecture ?? 'amd64';
  const tar = tinyTar('hello.txt', options.content ?? `hello from ${architecture}\n`);
  const layerBytes = gzipSync(tar);
  const layer = await client.pushBlob(ref, layerBytes, { mediaType: MediaTypes.ociLayerGzip });
  const config = {
    architecture,
    os: 'linux',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(tar).digest('hex')}`] },
  };
  const configDesc = await client.pushBlob(ref, Buffer.from(JSON.stringify(config)), { mediaType: MediaTypes.ociConfig });
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layer] };
  const tag = options.tag ?? ref.tag;
  const pushed = await client.putManifestJson(tag === undefined ? { ...ref, tag: architecture } : { registry: ref.registry, repository: ref.repository, tag }, manifest);
  return { mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size, platform: { architecture, os: 'linux' } };
}

/** Pushes an index of two single-layer images (amd64, arm64) tagged `tag`; returns the index and children. */
export async function pushTestIndex(client: RegistryClient, ref: ImageReference, tag: string): Promise<{ index: Descriptor; children: Descriptor[] }> {
  const children = [
    await pushTestImage(client, ref, { architecture: 'amd64', tag: `${tag}-amd64` }),
    await pushTestImage(client, ref, { architecture: 'arm64', tag: `${tag}-arm64` }),
  ];
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: children };
  const pushed = await client.putManifestJson({ registry: ref.registry, repository: ref.repository, tag }, index);
  return { index: { mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size }, children };
}
