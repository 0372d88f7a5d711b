// Kiln's registry scaled out, side by side in one run: one replica on the filesystem + SQLite, one
// replica on S3 + PostgreSQL (blob GETs streamed by the registry, and answered with 307 redirects to
// pre-signed URLs), and two replicas on the same bucket and database behind Debian's nginx (plus one
// replica behind the same nginx, to separate the proxy's cost from the second replica's gain).
// Figures: manifest GET req/s and p99 (autocannon), blob push and pull MiB/s (curl).
//
// The "S3" here is s3rver, a Node.js S3 API server on the same machine: a local stand-in for S3
// that shares the cores with everything else, not a measure of AWS S3. PostgreSQL is Debian's 15 in
// a private cluster with fsync off (a test cluster).
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import type { BenchContext } from './run.ts';
import { startTestPostgres } from '../src/metadata/postgres/testing.ts';
import type { TestPostgres } from '../src/metadata/postgres/testing.ts';
import { startTestS3 } from '../src/storage/s3/testing.ts';
import type { TestS3 } from '../src/storage/s3/testing.ts';
import { startKiln, startNginx } from '../test/e2e/registry-support.ts';
import type { ServerProcess } from '../test/e2e/registry-support.ts';

const BLOB = Number(process.env.KILN_BENCH_SCALE_MIB ?? 64) * 1024 * 1024;
const ROUNDS = Number(process.env.KILN_BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
const DURATION = Number(process.env.KILN_BENCH_SECONDS ?? 5);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const exec = promisify(execFile);
const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function curl(args: string[]): Promise<string> {
  const { stdout } = await exec('curl', ['-sS', '--fail', '-o', '/dev/null', ...args], { maxBuffer: 1024 * 1024 });
  return stdout;
}

async function timed(body: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** POST → streamed PATCH of the whole file (curl) → PUT, as skopeo and docker push a layer. */
async function pushBlob(base: string, repo: string, file: string, digest: string): Promise<void> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`${base}: POST ${start.status}`);
  const location = new URL(start.headers.get('location')!, base);
  const patch = await curl(['-X', 'PATCH', '-H', 'content-type: application/octet-stream', '-D', '-', '-T', file, location.toString()]);
  const next = new URL(/^location: (\S+)/im.exec(patch)![1]!, base);
  next.searchParams.set('digest', digest);
  const put = await fetch(next, { method: 'PUT' });
  if (put.status !== 201) throw new Error(`${base}: PUT ${put.status} ${await put.text()}`);
}

async function pushManifest(base: string, repo: string): Promise<void> {
  const config = randomBytes(2048);
  const post = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config as unknown as BodyInit });
  if (post.status !== 201) throw new Error(`${base}: config POST ${post.status}`);
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] });
  const put = await fetch(`${base}/v2/${repo}/manifests/latest`, { method: 'PUT', body: manifest, headers: { 'content-type': OCI_MANIFEST } });
  if (put.status !== 201) throw new Error(`${base}: manifest PUT ${put.status}`);
}

async function manifestLoad(url: string): Promise<{ rps: number; p99: number }> {
  const result = await autocannon({ url, method: 'GET', connections: CONNECTIONS, duration: DURATION, headers: { accept: OCI_MANIFEST } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`GET ${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

interface Setup {
  label: string;
  url: string;
  /** Pull with -L: the registry answers 307 to a pre-signed URL. */
  redirects?: boolean;
}

export default async function registryScaleBench(context: BenchContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-registry-scale-bench-'));
  const servers: ServerProcess[] = [];
  let postgres: TestPostgres | undefined;
  let s3: TestS3 | undefined;
  try {
    const blob = randomBytes(BLOB);
    const blobFile = join(dir, 'blob.bin');
    await writeFile(blobFile, blob);
    const digest = sha256(blob);
    [postgres, s3] = await Promise.all([startTestPostgres(), startTestS3()]);
    const databaseUrl = await postgres.createDatabase();
    const config = async (mode: 'proxy' | 'redirect') => {
      const file = join(dir, `config-${mode}.yaml`);
      const lines = ['storage:', '  driver: s3', '  s3:', `    endpoint: ${s3!.endpoint}`, `    bucket: ${s3!.bucket}`, `    accessKeyId: ${s3!.credentials.accessKeyId}`, `    secretAccessKey: ${s3!.credentials.secretAccessKey}`];
      lines.push('  redirect:', `    mode: ${mode}`, 'metadata:', '  driver: postgres', '  postgres:', `    url: ${databaseUrl}`, 'http:', '  trustProxy: true', '');
      await writeFile(file, lines.join('\n'));
      return file;
    };
    const proxyConfig = await config('proxy');
    const redirectConfig = await config('redirect');
    const quiet = ['--log-level', 'warn'];
    const fs = await startKiln(join(dir, 'fs'), quiet);
    servers.push(fs);
    const [replicaA, replicaB, redirecting] = await Promise.all([
      startKiln(join(dir, 'replica-a'), ['--config', proxyConfig, ...quiet]),
      startKiln(join(dir, 'replica-b'), ['--config', proxyConfig, ...quiet]),
      startKiln(join(dir, 'replica-r'), ['--config', redirectConfig, ...quiet]),
    ]);
    servers.push(replicaA, replicaB, redirecting);
    const nginxTwo = await startNginx(join(dir, 'nginx-2'), [replicaA.host, replicaB.host]);
    const nginxOne = await startNginx(join(dir, 'nginx-1'), [replicaA.host]);
    servers.push(nginxTwo, nginxOne);
    const setups: Setup[] = [
      { label: '1 replica, filesystem + SQLite', url: fs.url },
      { label: '1 replica, S3 (s3rver) + PostgreSQL, proxy', url: replicaA.url },
      { label: '1 replica, S3 (s3rver) + PostgreSQL, 307 redirects', url: redirecting.url, redirects: true },
      { label: '1 replica behind nginx, S3 + PostgreSQL', url: nginxOne.url },
      { label: '2 replicas behind nginx, S3 + PostgreSQL', url: nginxTwo.url },
    ];
    const load = loadavg().map((value) => value.toFixed(1)).join(' / ');
    const samples = setups.map(() => ({ push: [] as number[], pull: [] as number[] }));
    const mib = (seconds: number) => BLOB / 2 ** 20 / seconds;
    for (let round = 0; round < ROUNDS; round++) {
      context.log(`round ${round + 1}/${ROUNDS}: ${BLOB / 2 ** 20} MiB blob push and pull through each setup`);
      // Alternate the order between rounds so no setup always runs on a warmer (or busier) machine.
      const order = round % 2 === 0 ? setups.map((_, i) => i) : setups.map((_, i) => setups.length - 1 - i);
      for (const i of order) {
        // A fresh repository each time; the blob is already in the store after the first push, as on
        // a registry where a layer is pushed again (S3 setups share the bucket: the commit still
        // streams and verifies every byte, then finds the object present).
        samples[i]!.push.push(mib(await timed(() => pushBlob(setups[i]!.url, `bench/scale-${round}-${i}`, blobFile, digest))));
      }
      for (const i of order) {
        const setup = setups[i]!;
        samples[i]!.pull.push(mib(await timed(() => curl([...(setup.redirects ? ['-L'] : []), `${setup.url}/v2/bench/scale-${round}-${i}/blobs/${digest}`]))));
      }
    }
    for (const setup of setups) await pushManifest(setup.url, 'bench/app');
    const url = (setup: Setup) => `${setup.url}/v2/bench/app/manifests/latest`;
    // Warm-up (connection pools, JIT, the manifest cache), not counted.
    for (const setup of setups) await autocannon({ url: url(setup), connections: CONNECTIONS, duration: 1, headers: { accept: OCI_MANIFEST } });
    const getSamples = setups.map(() => [] as { rps: number; p99: number }[]);
    for (let round = 0; round < ROUNDS; round++) {
      context.log(`round ${round + 1}/${ROUNDS}: manifest GET load on each setup`);
      const order = round % 2 === 0 ? setups.map((_, i) => i) : setups.map((_, i) => setups.length - 1 - i);
      for (const i of order) getSamples[i]!.push(await manifestLoad(url(setups[i]!)));
    }
    const gets = getSamples.map((list) => ({ rps: median(list.map((item) => item.rps)), p99: median(list.map((item) => item.p99)) }));
    const spread = Math.max(...getSamples.map((list) => Math.max(...list.map((item) => item.rps)) / Math.min(...list.map((item) => item.rps))));
    const single = gets[3]!.rps;
    const two = gets[4]!.rps;
    const rows = setups.map((setup, i) => `| ${setup.label} | ${gets[i]!.rps.toFixed(0)} | ${gets[i]!.p99.toFixed(1)} | ${median(samples[i]!.push).toFixed(0)} | ${median(samples[i]!.pull).toFixed(0)} |`);
    return [
      '## Registry scale-out',
      '',
      `One run, same clients for every setup. Manifest GET: autocannon, ${CONNECTIONS} connections × ${DURATION} s per sample after a 1 s warm-up, medians of ${ROUNDS} samples; one 2 KiB-config image manifest by tag (every GET resolves the tag in the metadata store). Blob push: POST → streamed PATCH (curl -T) → PUT of a ${BLOB / 2 ** 20} MiB blob; blob pull: curl (with -L where the registry answers 307). Blob figures are medians of ${ROUNDS} rounds, the order of setups alternating between rounds. Load average (1/5/15 min) at the start: ${load} on ${cpus().length} cores — every process (replicas, nginx, s3rver, PostgreSQL, the load generator) shares them.`,
      '',
      '**s3rver is a local stand-in for S3**: a Node.js S3 API server writing to the local disk on the same cores. The S3 rows measure Kiln\'s S3 + PostgreSQL code path and its overhead, not AWS S3 (whose per-request latency is higher and whose throughput scales with parallel connections).',
      '',
      '| setup | manifest GET req/s | GET p99 ms | blob push MiB/s | blob pull MiB/s |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      `2 replicas / 1 replica behind the same nginx on manifest GET: ${(two / single).toFixed(2)}× (aim: ≥ 1.6×). On ${cpus().length} cores shared by both replicas, nginx, PostgreSQL and the load generator this cannot show scaling: a second replica only adds a process competing for the same cores, so the aim needs a run with the replicas on their own cores or machines. S3 with redirects / filesystem on blob pull: ${(median(samples[2]!.pull) / median(samples[0]!.pull)).toFixed(2)}× (aim: ≥ 0.5×).`,
      '',
      `Noise: the GET samples of one setup differ by up to ${spread.toFixed(1)}× between rounds (largest max/min), more than most differences between setups; read single rows as rough.`,
      '',
      'Every round\'s samples (in round order):',
      '',
      '| setup | GET req/s | blob push MiB/s | blob pull MiB/s |',
      '|---|---|---|---|',
      ...setups.map(
        (setup, i) =>
          `| ${setup.label} | ${getSamples[i]!.map((item) => item.rps.toFixed(0)).join(', ')} | ${samples[i]!.push.map((value) => value.toFixed(0)).join(', ')} | ${samples[i]!.pull.map((value) => value.toFixed(0)).join(', ')} |`,
      ),
    ].join('\n');
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await s3?.stop();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
