// Web catalog: the images list of a catalog of 50 images (each an index over two architectures, with
// a config and three layers per architecture and five tags), rendered server-side through the real
// request handler over the real SQLite metadata store and filesystem blob store. Reports the first
// request (manifests read from the blob store, nothing cached) and the median and p95 of later ones
// (manifests memoized by digest, the page memoized by its view model; the two metadata listings and
// the view model run every time) against the aim, under 50 ms, and the render alone. The
// trust verifier is the real one with no trusted key (it answers "not verified" without I/O), the
// analyzer the real one with no vulnerability index.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { CatalogService, createCatalogHandler, createImageAnalyzer, registryTrustVerifier, renderPage } from '../src/catalog/index.ts';
import type { Digest } from '../src/lib/index.ts';
import { silentLogger } from '../src/lib/index.ts';
import { SqliteMetadataStore } from '../src/metadata/index.ts';
import { RegistryClient } from '../src/registry-client/index.ts';
import { FsBlobStore } from '../src/storage/index.ts';
import type { BenchContext } from './run.ts';

const IMAGES = 50;
const RUNS = 50;

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

function tarOf(name: string, content: string): Buffer {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\x0000', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([header, body, Buffer.alloc((512 - (body.length % 512)) % 512), Buffer.alloc(1024)]);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export default async function bench(context: BenchContext): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'kiln-catalog-bench-'));
  const metadata = new SqliteMetadataStore(join(work, 'metadata.sqlite'));
  const blobs = new FsBlobStore(join(work, 'blobs'));
  const server = createServer();
  try {
    await blobs.init();
    const now = Date.now();
    const put = async (repository: string, bytes: Buffer) => {
      const digest = digestOf(bytes);
      await blobs.put(digest, [bytes]);
      await metadata.linkBlob(repository, digest, bytes.length, now);
      return { digest, size: bytes.length };
    };
    context.log(`publishing ${IMAGES} images`);
    for (let n = 0; n < IMAGES; n++) {
      const repository = `bench/image-${String(n).padStart(2, '0')}`;
      const children = [];
      for (const arch of ['amd64', 'arm64']) {
        const layers = [];
        for (let k = 0; k < 3; k++) layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await put(repository, gzipSync(tarOf(`file-${k}`, `${repository} ${arch} ${k}`)))) });
        const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await put(repository, Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { User: '65532' } })))) };
        const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }));
        const digest = digestOf(manifest);
        await blobs.put(digest, [manifest]);
        await metadata.putManifest({ repository, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length, blobs: [config.digest, ...layers.map((layer) => layer.digest)], children: [], createdAt: now }, [], now);
        children.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length, platform: { architecture: arch, os: 'linux' } });
      }
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: children, annotations: { 'org.opencontainers.image.title': repository, 'org.opencontainers.image.description': `benchmark image ${n} with a description long enough to wrap`, 'org.opencontainers.image.created': new Date(now).toISOString() } }));
      const digest = digestOf(index);
      await blobs.put(digest, [index]);
      await metadata.putManifest({ repository, digest, mediaType: 'application/vnd.oci.image.index.v1+json', size: index.length, blobs: [], children: children.map((child) => child.digest), createdAt: now }, ['latest', '1', '1.2', '1.2.3', `1.2.3-r${n}`], now);
    }
    const client = new RegistryClient();
    const registryHost = '127.0.0.1:5000';
    const service = new CatalogService({
      metadata,
      blobs,
      registryHost,
      trust: registryTrustVerifier({ client, registryHost, keys: [], logger: silentLogger }),
      analyzer: createImageAnalyzer({ blobs, client, registryHost, logger: silentLogger }),
      logger: silentLogger,
    });
    server.on('request', createCatalogHandler({ service, logger: silentLogger }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const request = async () => {
      const started = performance.now();
      const response = await fetch(url);
      const body = await response.text();
      const elapsed = performance.now() - started;
      if (response.status !== 200 || !body.includes('bench/image-49')) throw new Error(`catalog answered ${response.status}`);
      return { elapsed, bytes: Buffer.byteLength(body) };
    };
    const cold = await request();
    // Let the background analyses (one image at a time) finish so they do not run during the timing.
    for (let wait = 0; wait < 200; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if ((await service.imagesList({ q: '', signed: false, cve: 'any' })).images.every((image) => image.compliance.source !== 'none' || image.cvesNote !== 'scan pending')) break;
    }
    const warm: number[] = [];
    let bytes = 0;
    for (let run = 0; run < RUNS; run++) {
      const result = await request();
      warm.push(result.elapsed);
      bytes = result.bytes;
    }
    const render: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      await service.imagesList({ q: '', signed: false, cve: 'any' });
      render.push(performance.now() - started);
    }
    const view = await service.imagesList({ q: '', signed: false, cve: 'any' });
    const html: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      renderPage(view);
      html.push(performance.now() - started);
    }
    const p50 = percentile(warm, 0.5);
    const p95 = percentile(warm, 0.95);
    return [
      '## Web catalog (`bench/catalog.bench.ts`)',
      '',
      `Images list of ${IMAGES} images (2 architectures, 5 tags each) over SQLite + filesystem storage, through the HTTP handler (GET /, HTML ${Math.round(bytes / 1024)} KiB). Load average at start: ${loadavg()[0]!.toFixed(2)}.`,
      '',
      '| measure | time | aim |',
      '|---|---|---|',
      `| first request (manifests read from the blob store) | ${cold.elapsed.toFixed(1)} ms | — |`,
      `| later requests, median of ${RUNS} | ${p50.toFixed(1)} ms | < 50 ms ${p50 < 50 ? '✓' : '✗'} |`,
      `| later requests, p95 | ${p95.toFixed(1)} ms | — |`,
      `| view model only (2 metadata queries + grouping), median | ${percentile(render, 0.5).toFixed(1)} ms | — |`,
      `| HTML render of that view model (Preact, not memoized), median | ${percentile(html, 0.5).toFixed(1)} ms | — |`,
    ].join('\n');
  } finally {
    server.close();
    await metadata.close();
    await rm(work, { recursive: true, force: true });
  }
}
