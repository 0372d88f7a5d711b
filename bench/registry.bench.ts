// Kiln's registry vs Debian's docker-registry (CNCF Distribution 2.8), side by side in one run with the
// same client and data: blob push/pull throughput (one large blob, many small ones) and manifest
// GET/HEAD requests per second with p99 latency under concurrency (autocannon). Both servers run as
// separate processes on loopback with filesystem storage in a temp dir. A second table measures the
// HTTP framework alone (Fastify vs plain node:http serving the same in-memory manifest), the evidence
// behind serving the registry from node:http.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import type { BenchContext } from './run.ts';
import { startDistribution, startKiln } from '../test/e2e/registry-support.ts';
import type { ServerProcess } from '../test/e2e/registry-support.ts';

const LARGE = Number(process.env.KILN_BENCH_LARGE_MIB ?? 128) * 1024 * 1024;
const SMALL_COUNT = Number(process.env.KILN_BENCH_SMALL_COUNT ?? 400);
const SMALL_SIZE = 4096;
const CONCURRENCY = 8;
const CONNECTIONS = 32;
const DURATION = Number(process.env.KILN_BENCH_SECONDS ?? 5);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const exec = promisify(execFile);
const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The client both servers get: POST → PATCH (whole body streamed) → PUT, as skopeo and docker do. */
async function pushBlob(base: string, repo: string, data: Buffer): Promise<void> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  await start.arrayBuffer();
  const location = new URL(start.headers.get('location')!, base);
  const patch = await fetch(location, { method: 'PATCH', body: data as unknown as BodyInit, headers: { 'content-type': 'application/octet-stream' } });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status}`);
  await patch.arrayBuffer();
  const close = new URL(patch.headers.get('location')!, base);
  close.searchParams.set('digest', sha256(data));
  const put = await fetch(close, { method: 'PUT' });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
}

/** Large blobs go through curl on both servers: Node's fetch tops out far below either server. */
async function curlPushLarge(base: string, repo: string, file: string, digest: string): Promise<void> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = new URL(start.headers.get('location')!, base);
  const patch = await curl(['-X', 'PATCH', '-H', 'content-type: application/octet-stream', '-D', '-', '-T', file, location.toString()]);
  const next = new URL(/^location: (\S+)/im.exec(patch)![1]!, base);
  next.searchParams.set('digest', digest);
  const put = await fetch(next, { method: 'PUT' });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await exec('curl', ['-sS', '--fail', '-o', '/dev/null', ...args], { maxBuffer: 1024 * 1024 });
  return stdout;
}

async function pullBlob(base: string, repo: string, digest: string): Promise<number> {
  const response = await fetch(`${base}/v2/${repo}/blobs/${digest}`);
  if (response.status !== 200) throw new Error(`GET ${response.status}`);
  let size = 0;
  for await (const chunk of response.body!) size += (chunk as Uint8Array).length;
  return size;
}

async function pool<T>(items: T[], concurrency: number, body: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await body(items[next++]!);
  }));
}

async function timed(body: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** HEAD load with a keep-alive node:http client (autocannon waits for a body HEAD responses never have). */
async function headLoad(url: string): Promise<{ rps: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  const deadline = Date.now() + DURATION * 1000;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = httpRequest(url, { method: 'HEAD', agent, headers: { accept: OCI_MANIFEST } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`HEAD ${url}: ${res.statusCode}`));
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < deadline) await once();
  }));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / DURATION, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

async function load(url: string, method: 'GET' | 'HEAD'): Promise<{ rps: number; p99: number }> {
  if (method === 'HEAD') return headLoad(url);
  const result = await autocannon({ url, method, connections: CONNECTIONS, duration: DURATION, headers: { accept: OCI_MANIFEST } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${method} ${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

interface Figures {
  pushLarge: number;
  pullLarge: number;
  pushSmall: number;
  pullSmall: number;
  getRps: number;
  getP99: number;
  headRps: number;
  headP99: number;
}

type BlobFigure = 'pushLarge' | 'pullLarge' | 'pushSmall' | 'pullSmall';
const ROUNDS = Number(process.env.KILN_BENCH_ROUNDS ?? 5);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Measures both servers figure by figure, alternating which server goes first in each round, and
 * reports medians: a single sample of a 128 MiB transfer on a shared 2-core machine swings by tens
 * of percent.
 */
async function measureBoth(servers: Record<'kiln' | 'distribution', ServerProcess>, large: Buffer, largeFile: string, log: (message: string) => void): Promise<Record<'kiln' | 'distribution', Figures & { samples: Record<BlobFigure, number[]> }>> {
  const names = ['kiln', 'distribution'] as const;
  const samples = Object.fromEntries(names.map((name) => [name, { pushLarge: [] as number[], pullLarge: [] as number[], pushSmall: [] as number[], pullSmall: [] as number[] }])) as Record<'kiln' | 'distribution', Record<BlobFigure, number[]>>;
  const order = (round: number) => (round % 2 === 0 ? names : [...names].reverse());
  const mib = (bytes: number, seconds: number) => bytes / 2 ** 20 / seconds;
  const digest = sha256(large);
  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS}: large blob push and pull, ${SMALL_COUNT} small blobs`);
    for (const name of order(round)) {
      const base = servers[name].url;
      samples[name].pushLarge.push(mib(LARGE, await timed(() => curlPushLarge(base, `bench/large-${round}`, largeFile, digest))));
    }
    for (const name of order(round + 1)) {
      const base = servers[name].url;
      samples[name].pullLarge.push(mib(LARGE, await timed(() => curl([`${base}/v2/bench/large-0/blobs/${digest}`]))));
    }
    // fresh small blobs every round, so no server answers from an earlier round's upload
    const small = Array.from({ length: SMALL_COUNT }, () => randomBytes(SMALL_SIZE));
    for (const name of order(round)) {
      const base = servers[name].url;
      samples[name].pushSmall.push(small.length / (await timed(() => pool(small, CONCURRENCY, (blob) => pushBlob(base, `bench/small-${round}`, blob)))));
    }
    for (const name of order(round + 1)) {
      const base = servers[name].url;
      samples[name].pullSmall.push(small.length / (await timed(() => pool(small, CONCURRENCY, (blob) => pullBlob(base, `bench/small-${round}`, sha256(blob))))));
    }
  }
  const config = randomBytes(SMALL_SIZE);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }));
  const loads = {} as Record<'kiln' | 'distribution', { get: { rps: number; p99: number }; head: { rps: number; p99: number } }>;
  for (const name of names) {
    const base = servers[name].url;
    await pushBlob(base, 'bench/app', config);
    const put = await fetch(`${base}/v2/bench/app/manifests/latest`, { method: 'PUT', body: manifest as unknown as BodyInit, headers: { 'content-type': OCI_MANIFEST } });
    if (put.status !== 201) throw new Error(`${name}: manifest PUT ${put.status}`);
  }
  for (const name of names) {
    log(`${name}: manifest GET/HEAD load`);
    const url = `${servers[name].url}/v2/bench/app/manifests/latest`;
    loads[name] = { get: await load(url, 'GET'), head: await load(url, 'HEAD') };
  }
  const figures = (name: 'kiln' | 'distribution'): Figures & { samples: Record<BlobFigure, number[]> } => ({
    samples: samples[name],
    pushLarge: median(samples[name].pushLarge),
    pullLarge: median(samples[name].pullLarge),
    pushSmall: median(samples[name].pushSmall),
    pullSmall: median(samples[name].pullSmall),
    getRps: loads[name].get.rps,
    getP99: loads[name].get.p99,
    headRps: loads[name].head.rps,
    headP99: loads[name].head.p99,
  });
  return { kiln: figures('kiln'), distribution: figures('distribution') };
}

async function frameworkOverhead(): Promise<{ fastify: { rps: number; p99: number }; node: { rps: number; p99: number } }> {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }));
  const manifests = new Map([['bench/app:latest', body]]);
  const send = (key: string) => manifests.get(key);
  const fastify = Fastify({ logger: false });
  fastify.get('/v2/*', async (request, reply) => {
    const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(request.url);
    const found = match ? send(`${match[1]}:${match[2]}`) : undefined;
    if (!found) return reply.code(404).send({ errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    return reply.header('content-type', OCI_MANIFEST).header('docker-content-digest', sha256(found)).send(found);
  });
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  const node = createServer((req, res) => {
    const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
    const found = match ? send(`${match[1]}:${match[2]}`) : undefined;
    if (!found) {
      res.statusCode = 404;
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      return;
    }
    res.setHeader('content-type', OCI_MANIFEST);
    res.setHeader('docker-content-digest', sha256(found));
    res.setHeader('content-length', found.length);
    res.end(found);
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  try {
    const fastifyPort = (fastify.server.address() as AddressInfo).port;
    const nodePort = (node.address() as AddressInfo).port;
    return {
      fastify: await load(`http://127.0.0.1:${fastifyPort}/v2/bench/app/manifests/latest`, 'GET'),
      node: await load(`http://127.0.0.1:${nodePort}/v2/bench/app/manifests/latest`, 'GET'),
    };
  } finally {
    await fastify.close();
    await new Promise((resolve) => node.close(resolve));
  }
}

export default async function registryBench(context: BenchContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-registry-bench-'));
  let kiln: ServerProcess | undefined;
  let distribution: ServerProcess | undefined;
  try {
    const large = randomBytes(LARGE);
    const largeFile = join(dir, 'large.bin');
    await writeFile(largeFile, large);
    kiln = await startKiln(join(dir, 'kiln'), ['--log-level', 'warn']);
    distribution = await startDistribution(join(dir, 'distribution'));
    const load = loadavg().map((value) => value.toFixed(1)).join(' / ');
    const both = await measureBoth({ kiln, distribution }, large, largeFile, context.log);
    const kilnFigures = both.kiln;
    const distFigures = both.distribution;
    context.log('framework overhead');
    const framework = await frameworkOverhead();
    const row = (label: string, unit: string, k: number, d: number, higherIsBetter = true) =>
      `| ${label} | ${unit} | ${k.toFixed(1)} | ${d.toFixed(1)} | ${(k / d).toFixed(2)}× ${higherIsBetter ? (k >= d ? '✓' : '✗') : k <= d ? '✓' : '✗'} |`;
    return [
      '## Registry',
      '',
      `Kiln \`registry serve\` (filesystem + SQLite) vs Debian's \`docker-registry\` (CNCF Distribution 2.8.2, filesystem), both on loopback, same clients for both: the large blob goes POST → streamed PATCH (curl) → PUT and back with curl; small blobs POST → PATCH → PUT with Node.js fetch; ${LARGE / 2 ** 20} MiB large blob; ${SMALL_COUNT} × 4 KiB small blobs (fresh each round) with ${CONCURRENCY} clients. Blob figures are medians of ${ROUNDS} rounds; in each round both servers run each figure back to back, the first server alternating between rounds. Manifest load with autocannon, ${CONNECTIONS} connections × ${DURATION} s. Ratio = Kiln / Distribution (for p99, lower is better). Load average (1/5/15 min) at the start: ${load} on ${cpus().length} cores.`,
      '',
      'Manifest GET uses autocannon; manifest HEAD uses a keep-alive node:http loop with the same connection count (autocannon waits for a body that HEAD responses never have).',
      '',
      '| figure | unit | Kiln | Distribution | ratio |',
      '|---|---|---|---|---|',
      row('blob push, large', 'MiB/s', kilnFigures.pushLarge, distFigures.pushLarge),
      row('blob pull, large', 'MiB/s', kilnFigures.pullLarge, distFigures.pullLarge),
      row('blob push, many small', 'blobs/s', kilnFigures.pushSmall, distFigures.pushSmall),
      row('blob pull, many small', 'blobs/s', kilnFigures.pullSmall, distFigures.pullSmall),
      row('manifest GET', 'req/s', kilnFigures.getRps, distFigures.getRps),
      row('manifest GET p99', 'ms', kilnFigures.getP99, distFigures.getP99, false),
      row('manifest HEAD', 'req/s', kilnFigures.headRps, distFigures.headRps),
      row('manifest HEAD p99', 'ms', kilnFigures.headP99, distFigures.headP99, false),
      '',
      'Every round\'s blob samples (in round order):',
      '',
      '| figure | Kiln | Distribution |',
      '|---|---|---|',
      ...(['pushLarge', 'pullLarge', 'pushSmall', 'pullSmall'] as const).map(
        (figure) => `| ${figure} | ${kilnFigures.samples[figure].map((value) => value.toFixed(0)).join(', ')} | ${distFigures.samples[figure].map((value) => value.toFixed(0)).join(', ')} |`,
      ),
      '',
      'HTTP framework alone (same in-memory manifest, same route regex, autocannon as above) — why the registry uses plain node:http:',
      '',
      '| server | GET req/s | p99 ms |',
      '|---|---|---|',
      `| Fastify 5 | ${framework.fastify.rps.toFixed(0)} | ${framework.fastify.p99.toFixed(1)} |`,
      `| node:http | ${framework.node.rps.toFixed(0)} | ${framework.node.p99.toFixed(1)} |`,
    ].join('\n');
  } finally {
    await kiln?.stop();
    await distribution?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
