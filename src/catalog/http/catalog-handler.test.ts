import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../lib/index.ts';
import { silentLogger } from '../../lib/index.ts';
import { SqliteMetadataStore } from '../../metadata/index.ts';
import { RegistryClient } from '../../registry-client/index.ts';
import { FsBlobStore } from '../../storage/index.ts';
import { createImageAnalyzer } from '../analyze.ts';
import { CatalogService } from '../catalog-service.ts';
import { registryTrustVerifier } from '../trust.ts';
import type { TrustReport, TrustVerifier } from '../trust.ts';
import { createCatalogHandler, isCatalogPath } from './catalog-handler.ts';

// The HTTP edge over the real SQLite metadata store and filesystem blob store: routes, methods,
// errors as HTML or JSON, static assets, and "not verified" when no key is trusted.

let work: string;
let server: Server;
let url: string;
// The same catalog with a verifier that reports a verified CycloneDX SBOM attestation on every digest.
let attestedServer: Server;
let attestedUrl: string;
let metadata: SqliteMetadataStore;

const cyclonedxDocument = {
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  serialNumber: 'urn:uuid:00000000-0000-4000-8000-000000000000',
  version: 1,
  components: [{ type: 'library', name: 'busybox', version: '1.36.1-r0', purl: 'pkg:apk/kiln/busybox@1.36.1-r0?arch=x86_64' }],
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-catalog-handler-'));
  metadata = new SqliteMetadataStore(join(work, 'metadata.sqlite'));
  const blobs = new FsBlobStore(join(work, 'blobs'));
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}` as Digest;
  await blobs.put(configDigest, [config]);
  await metadata.linkBlob('team/app', configDigest, config.length, 1);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [], annotations: { 'org.opencontainers.image.description': 'an <app>' } }));
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}` as Digest;
  await blobs.put(digest, [manifest]);
  await metadata.putManifest({ repository: 'team/app', digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length, blobs: [configDigest], children: [], createdAt: 1 }, ['v1'], 1);
  const client = new RegistryClient();
  const registryHost = 'registry.invalid:5000';
  const service = new CatalogService({ metadata, blobs, registryHost, trust: registryTrustVerifier({ client, registryHost, keys: [], logger: silentLogger }), analyzer: createImageAnalyzer({ blobs, client, registryHost, logger: silentLogger }), logger: silentLogger });
  server = createServer(createCatalogHandler({ service, logger: silentLogger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const attested = (digest: string): TrustReport => ({
    signature: { state: 'verified', detail: 'signed by key 0123456789ab' },
    attestations: [{ digest: digest as Digest, source: 'tag', predicateType: 'https://cyclonedx.org/bom', statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'team/app', digest: { sha256: digest.slice(7) } }], predicateType: 'https://cyclonedx.org/bom', predicate: cyclonedxDocument }, keyHint: 'ASNFZ4mr', payloadBytes: new Uint8Array() }],
  });
  const trust: TrustVerifier = { verify: (_repository, digest) => Promise.resolve(attested(digest)), peek: () => undefined };
  const attestedService = new CatalogService({ metadata, blobs, registryHost, trust, analyzer: createImageAnalyzer({ blobs, client, registryHost, logger: silentLogger }), logger: silentLogger });
  attestedServer = createServer(createCatalogHandler({ service: attestedService, logger: silentLogger }));
  await new Promise<void>((resolve) => attestedServer.listen(0, '127.0.0.1', resolve));
  attestedUrl = `http://127.0.0.1:${(attestedServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => attestedServer.close(resolve));
  await metadata.close();
  await rm(work, { recursive: true, force: true });
});

describe('catalog handler', () => {
  it('serves the list as HTML and JSON; with no trusted key nothing is verified', async () => {
    const html = await fetch(`${url}/`);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const text = await html.text();
    expect(text).toContain('an &lt;app>');
    const json = (await (await fetch(`${url}/api/images`)).json()) as { images: Array<{ name: string; tags: unknown[]; signature: { state: string; detail: string } }> };
    expect(json.images.map((image) => [image.name, image.tags])).toEqual([['team/app', [{ tag: 'v1', digest: expect.stringMatching(/^sha256:/) }]]]);
    expect(json.images[0]!.signature).toEqual({ state: 'not-verified', detail: 'no trusted key configured (kiln catalog serve --key)' });
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await fetch(`${url}/api/images`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${url}/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('reports unknown images, bad names and bad digests with the catalog codes', async () => {
    const api = async (path: string) => {
      const response = await fetch(`${url}${path}`);
      return [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    };
    expect(await api('/api/images/team/other')).toEqual([404, 'CATALOG_IMAGE_UNKNOWN']);
    expect(await api('/api/images/Team/%3Cx%3E')).toEqual([404, 'CATALOG_IMAGE_UNKNOWN']);
    expect(await api('/api/images/team/%E0%A4%A')).toEqual([400, 'CATALOG_REQUEST_INVALID']);
    expect(await api('/api/images/team/app?digest=sha256:nothex')).toEqual([404, 'CATALOG_IMAGE_UNKNOWN']);
    expect(await api('/api/compare?left=team/app&right=elsewhere')).toEqual([404, 'CATALOG_COMPARE_UNKNOWN']);
    expect(await api('/sbom/spdx/team/app')).toEqual([404, 'CATALOG_SBOM_UNAVAILABLE']);
    const page = await fetch(`${url}/nowhere`);
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('<h1>Not found</h1>');
  });

  it('serves its stylesheet and script, and leaves the registry paths alone', async () => {
    const css = await fetch(`${url}/static/catalog.css`);
    expect([css.status, css.headers.get('content-type'), css.headers.get('cache-control')]).toEqual([200, 'text/css; charset=utf-8', 'public, max-age=3600']);
    expect(['/v2/', '/v2/team/app/tags/list', '/healthz', '/metrics'].map(isCatalogPath)).toEqual([false, false, false, false]);
    expect(['/', '/images/team/app', '/api/images', '/v2x'].map(isCatalogPath)).toEqual([true, true, true, true]);
  });

  it('downloads the verified CycloneDX SBOM attestation and shows its badge as verified', async () => {
    const response = await fetch(`${attestedUrl}/sbom/cyclonedx/team/app`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="team_app.cdx.json"');
    expect(await response.json()).toEqual(cyclonedxDocument);
    const spdx = await fetch(`${attestedUrl}/sbom/spdx/team/app`);
    expect([spdx.status, ((await spdx.json()) as { error: { code: string } }).error.code]).toEqual([404, 'CATALOG_SBOM_UNAVAILABLE']);
    const view = (await (await fetch(`${attestedUrl}/api/images/team/app`)).json()) as { digest: string; sboms: Array<{ format: string; href: string; badge: { state: string } }>; packages: { source: string; items: Array<{ name: string }> } };
    expect(view.sboms.map((sbom) => [sbom.format, sbom.href, sbom.badge.state])).toEqual([
      ['spdx', `/sbom/spdx/team/app?digest=${view.digest}`, 'absent'],
      ['cyclonedx', `/sbom/cyclonedx/team/app?digest=${view.digest}`, 'verified'],
    ]);
    expect(view.packages.source).toBe('sbom');
    const page = await (await fetch(`${attestedUrl}/images/team/app`)).text();
    expect(page).toContain(`href="/sbom/cyclonedx/team/app?digest=${view.digest}"`);
    expect(page).toContain('Download CycloneDX SBOM');
  });
});
