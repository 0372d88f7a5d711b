// Test helpers shared by the registry's in-process and e2e tests (not part of the public API).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../lib/index.ts';
import { MediaTypes } from '../oci/index.ts';

export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array | string): Digest {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export async function tempDir(prefix: string): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** A tiny image: config + one random layer + manifest bytes, all with digests. */
export function makeImage(options: { layerSize?: number; subject?: { digest: Digest; size: number; mediaType: string }; artifactType?: string; annotations?: Record<string, string> } = {}) {
  const layer = randomBytes(options.layerSize ?? 1000);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, nonce: randomBytes(8).toString('hex') }));
  const manifestObject: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.length },
    layers: [{ mediaType: MediaTypes.ociLayer, digest: sha256(layer), size: layer.length }],
  };
  if (options.artifactType) manifestObject.artifactType = options.artifactType;
  if (options.subject) manifestObject.subject = options.subject;
  if (options.annotations) manifestObject.annotations = options.annotations;
  const manifest = Buffer.from(JSON.stringify(manifestObject));
  return { layer, config, manifest, digest: sha256(manifest), blobs: [config, layer] };
}

/** Minimal registry client over fetch for tests. */
export class TestClient {
  readonly base: string;
  readonly headers: Record<string, string>;
  constructor(base: string, headers: Record<string, string> = {}) {
    this.base = base;
    this.headers = headers;
  }

  request(method: string, path: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    return fetch(url, { method, headers: { ...this.headers, ...init.headers }, ...(init.body !== undefined ? { body: init.body as BodyInit } : {}), redirect: 'manual' });
  }

  async pushBlob(name: string, data: Uint8Array): Promise<Response> {
    return this.request('POST', `/v2/${name}/blobs/uploads/?digest=${sha256(data)}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });
  }

  async pushImage(name: string, image: ReturnType<typeof makeImage>, reference: string): Promise<Response> {
    for (const blob of image.blobs) {
      const response = await this.pushBlob(name, blob);
      if (response.status !== 201) throw new Error(`blob push failed: ${response.status} ${await response.text()}`);
    }
    return this.request('PUT', `/v2/${name}/manifests/${reference}`, { body: image.manifest, headers: { 'content-type': MediaTypes.ociManifest } });
  }
}

export { randomBytes };
