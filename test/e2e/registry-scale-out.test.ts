// Scale-out: `kiln registry serve` replicas with no local state on one S3 bucket (s3rver) and one
// PostgreSQL database (Debian's postgresql-15, a private cluster). skopeo pushes through one replica
// and pulls through another; chunked uploads continue across replicas (also after a kill -9); blob
// GETs redirect to pre-signed URLs; a PostgreSQL outage answers 503; GC runs while replicas serve;
// Debian's nginx balances the replicas.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres } from '../../src/metadata/postgres/testing.ts';
import type { TestPostgres } from '../../src/metadata/postgres/testing.ts';
import { startTestS3 } from '../../src/storage/s3/testing.ts';
import type { TestS3 } from '../../src/storage/s3/testing.ts';
import { buildHelloLayout, root, run, sha256, startKiln, startNginx } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

let dir: string;
let postgres: TestPostgres;
let s3: TestS3;
let databaseUrl: string;
let first: ServerProcess;
let second: ServerProcess;
let third: ServerProcess;
let image: Awaited<ReturnType<typeof buildHelloLayout>>;
const insecure = ['--src-tls-verify=false', '--dest-tls-verify=false'];
const prefix = 'registry/';
/** The blob the chunked-upload case leaves linked but unreferenced by any manifest. */
let looseDigest: string;

async function objectKeys(): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true });
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((object) => object.Key!).sort();
  } finally {
    client.destroy();
  }
}

async function sql<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

async function writeConfig(mode: 'proxy' | 'redirect'): Promise<string> {
  const file = join(dir, `config-${mode}.yaml`);
  await writeFile(
    file,
    [
      'storage:',
      '  driver: s3',
      '  s3:',
      `    endpoint: ${s3.endpoint}`,
      `    bucket: ${s3.bucket}`,
      `    prefix: ${prefix}`,
      `    accessKeyId: ${s3.credentials.accessKeyId}`,
      `    secretAccessKey: ${s3.credentials.secretAccessKey}`,
      '  redirect:',
      `    mode: ${mode}`,
      '    expiresIn: 90s',
      'metadata:',
      '  driver: postgres',
      '  postgres:',
      `    url: ${databaseUrl}`,
      'tags:',
      '  immutable:',
      '    - name: scale-releases',
      '      repository: scale/immutable',
      '      tags: ["v*"]',
      '',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-scale-out-'));
  [postgres, s3, image] = await Promise.all([startTestPostgres(), startTestS3(), buildHelloLayout(join(tmpdir(), `kiln-scale-out-image-${process.pid}`), 'hello from S3 and PostgreSQL', 'v1')]);
  databaseUrl = await postgres.createDatabase();
  const config = await writeConfig('proxy');
  const redirecting = await writeConfig('redirect');
  // Separate data directories (only the pid file lives there): everything shared is in S3 and PostgreSQL.
  [first, second, third] = await Promise.all([
    startKiln(join(dir, 'replica-1'), ['--config', config]),
    startKiln(join(dir, 'replica-2'), ['--config', config]),
    startKiln(join(dir, 'replica-3'), ['--config', redirecting]),
  ]);
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await third?.stop();
  await s3?.stop();
  await postgres?.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), `kiln-scale-out-image-${process.pid}`), { recursive: true, force: true });
});

describe('kiln registry on S3 and PostgreSQL', () => {
  it('skopeo pushes through one replica and pulls the same bytes through the other', async () => {
    await run('skopeo', ['copy', ...insecure, `oci:${image.layout}:v1`, `docker://${first.host}/scale/hello:v1`]);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${second.host}/scale/hello:v1`]);
    expect(sha256(Buffer.from(stdout))).toBe(image.digest);
    const pulled = join(dir, 'pulled');
    await run('skopeo', ['copy', ...insecure, `docker://${second.host}/scale/hello:v1`, `oci:${pulled}:v1`]);
    const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((entry) => entry.digest)).toEqual([image.digest]);
    const manifest = JSON.parse(image.manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
    for (const digest of [manifest.config.digest, manifest.layers[0]!.digest]) {
      expect((await readFile(join(pulled, 'blobs', 'sha256', digest.slice(7)))).length).toBeGreaterThan(0);
    }
    // The state is where the config says: blobs (and the manifest bytes) in the bucket, tags in PostgreSQL.
    const keys = await objectKeys();
    for (const digest of [image.digest, manifest.config.digest, manifest.layers[0]!.digest]) expect(keys).toContain(`${prefix}blobs/sha256/${digest.slice(7)}`);
    expect(keys.filter((key) => !key.startsWith(`${prefix}blobs/`))).toEqual([]);
    expect(await sql('SELECT repository, tag, digest FROM tags')).toEqual([{ repository: 'scale/hello', tag: 'v1', digest: image.digest }]);
    expect(first.log()).toContain('"storage":"s3","metadata":"postgres"');
  });

  it('finishes on one replica a chunked upload begun on the other', async () => {
    const data = randomBytes(300_000);
    const digest = sha256(data);
    looseDigest = digest;
    const started = await fetch(`${first.url}/v2/scale/chunked/blobs/uploads/`, { method: 'POST' });
    expect(started.status).toBe(202);
    const location = started.headers.get('location')!;
    const at = (server: ServerProcess) => new URL(location, server.url).toString();
    const chunk1 = await fetch(at(first), { method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-99999' } });
    expect(chunk1.status).toBe(202);
    // The other replica knows the session (PostgreSQL) and its bytes (S3).
    const status = await fetch(at(second));
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99999');
    const chunk2 = await fetch(at(second), { method: 'PATCH', body: data.subarray(100_000, 250_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '100000-249999' } });
    expect(chunk2.status).toBe(202);
    const closing = new URL(at(first));
    closing.searchParams.set('digest', digest);
    const done = await fetch(closing, { method: 'PUT', body: data.subarray(250_000), headers: { 'content-type': 'application/octet-stream' } });
    expect(done.status).toBe(201);
    const pulled = await fetch(`${second.url}/v2/scale/chunked/blobs/${digest}`);
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(data)).toBe(true);
    // Nothing staged is left once the blob is committed; the session row is gone.
    expect((await objectKeys()).filter((key) => key.startsWith(`${prefix}uploads/`))).toEqual([]);
    expect(await sql('SELECT id FROM uploads')).toEqual([]);
  });

  it('answers blob GETs with a 307 to a pre-signed URL when redirects are on, and keeps HEAD on the registry', async () => {
    const manifest = JSON.parse(image.manifest.toString()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0]!;
    const head = await fetch(`${third.url}/v2/scale/hello/blobs/${layer.digest}`, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.size));
    expect(head.headers.get('docker-content-digest')).toBe(layer.digest);
    const get = await fetch(`${third.url}/v2/scale/hello/blobs/${layer.digest}`, { redirect: 'manual' });
    expect(get.status).toBe(307);
    expect(get.headers.get('cache-control')).toBe('no-store');
    const location = new URL(get.headers.get('location')!);
    expect(location.origin).toBe(s3.endpoint);
    expect(location.pathname).toBe(`/${s3.bucket}/${prefix}blobs/sha256/${layer.digest.slice(7)}`);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('90');
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const body = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(sha256(body)).toBe(layer.digest);
    const ranged = await fetch(location, { headers: { range: 'bytes=0-9' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(0, 10))).toBe(true);
    // Nothing is redirected before the repository check: a blob not linked in the repository is 404.
    const elsewhere = await fetch(`${third.url}/v2/other/repo/blobs/${layer.digest}`, { redirect: 'manual' });
    expect(elsewhere.status).toBe(404);
    // The proxying replicas still stream the bytes themselves.
    const proxied = await fetch(`${first.url}/v2/scale/hello/blobs/${layer.digest}`, { redirect: 'manual' });
    expect(proxied.status).toBe(200);
    expect(sha256(Buffer.from(await proxied.arrayBuffer()))).toBe(layer.digest);
    // skopeo follows the redirect and gets the same image.
    const pulled = join(dir, 'pulled-redirect');
    await run('skopeo', ['copy', ...insecure, `docker://${third.host}/scale/hello:v1`, `oci:${pulled}:v1`]);
    const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((entry) => entry.digest)).toEqual([image.digest]);
    expect(sha256(await readFile(join(pulled, 'blobs', 'sha256', layer.digest.slice(7))))).toBe(layer.digest);
  });

  it('answers 503 with Retry-After while PostgreSQL is down, keeps serving nothing half-written, and recovers', async () => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, note: 'outage' }));
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }),
    );
    expect((await fetch(`${first.url}/v2/scale/outage/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config })).status).toBe(201);
    await postgres.stopServer();
    try {
      const put = await fetch(`${first.url}/v2/scale/outage/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      expect(put.status).toBe(503);
      expect(put.headers.get('retry-after')).toBe('1');
      expect(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAVAILABLE');
      expect((await fetch(`${second.url}/v2/scale/hello/manifests/v1`, { method: 'HEAD' })).status).toBe(503);
    } finally {
      await postgres.startServer();
    }
    // Back: the refused push left nothing (no tag), and the same push now succeeds on either replica.
    expect((await fetch(`${second.url}/v2/scale/outage/manifests/v1`, { method: 'HEAD' })).status).toBe(404);
    const retried = await fetch(`${second.url}/v2/scale/outage/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(retried.status).toBe(201);
    expect((await fetch(`${first.url}/v2/scale/outage/manifests/v1`)).headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(first.log()).toContain('storage backend failed');
  });

  it('collects garbage on the shared bucket and database while both replicas serve', async () => {
    const gc = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'registry', 'gc', '--config', join(dir, 'config-proxy.yaml'), '--data-dir', join(dir, 'gc'), '--grace-period', '0', '--json'], { cwd: root });
    const report = JSON.parse(gc.stdout) as { blobsDeleted: string[]; manifestsDeleted: unknown[] };
    // Only the loose blob goes: everything else is reachable from the tags v1 (hello, outage).
    expect(report.blobsDeleted).toEqual([looseDigest]);
    expect(report.manifestsDeleted).toEqual([]);
    expect(await objectKeys()).not.toContain(`${prefix}blobs/sha256/${looseDigest.slice(7)}`);
    for (const server of [first, second]) expect((await fetch(`${server.url}/v2/scale/chunked/blobs/${looseDigest}`, { method: 'HEAD' })).status).toBe(404);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${second.host}/scale/hello:v1`]);
    expect(sha256(Buffer.from(stdout))).toBe(image.digest);
  });

  it('resumes on another replica a chunked upload whose replica was killed (-9) in the middle of a PATCH', async () => {
    const victim = await startKiln(join(dir, 'replica-victim'), ['--config', join(dir, 'config-proxy.yaml')]);
    const data = randomBytes(12 * 1024 * 1024);
    const digest = sha256(data);
    const started = await fetch(`${victim.url}/v2/scale/killed/blobs/uploads/`, { method: 'POST' });
    const location = started.headers.get('location')!;
    const id = location.split('/').pop()!;
    const at = (server: ServerProcess) => new URL(location, server.url).toString();
    expect((await fetch(at(victim), { method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'content-range': '0-99999' } })).status).toBe(202);
    // A streamed PATCH: 9 MiB arrive, of which one 8 MiB part reaches the bucket, then the replica dies.
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
    const interrupted = fetch(at(victim), { method: 'PATCH', body, duplex: 'half' } as RequestInit).catch((error: unknown) => error);
    feed.enqueue(data.subarray(100_000, 100_000 + 9 * 1024 * 1024));
    const staged = `${prefix}uploads/${id}/${String(100_000).padStart(16, '0')}-${String(100_000 + 8 * 1024 * 1024).padStart(16, '0')}`;
    while (!(await objectKeys()).includes(staged)) await new Promise((resolve) => setTimeout(resolve, 50));
    await victim.stop('SIGKILL');
    expect(await interrupted).toBeInstanceOf(Error);
    // Another replica knows only what was acknowledged, and drops the unacknowledged part on resume.
    const status = await fetch(at(second));
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99999');
    const rest = await fetch(at(second), { method: 'PATCH', body: data.subarray(100_000), headers: { 'content-range': `100000-${data.length - 1}` } });
    expect(rest.status).toBe(202);
    expect(rest.headers.get('range')).toBe(`0-${data.length - 1}`);
    const closing = new URL(at(first));
    closing.searchParams.set('digest', digest);
    expect((await fetch(closing, { method: 'PUT' })).status).toBe(201);
    const pulled = await fetch(`${second.url}/v2/scale/killed/blobs/${digest}`);
    expect(sha256(Buffer.from(await pulled.arrayBuffer()))).toBe(digest);
    expect((await objectKeys()).filter((key) => key.startsWith(`${prefix}uploads/`))).toEqual([]);
  });

  it('serves pushes and pulls through nginx balancing both replicas', async () => {
    const nginx = await startNginx(join(dir, 'nginx'), [first.host, second.host]);
    try {
      const other = await buildHelloLayout(join(dir, 'balanced-image'), 'hello through nginx', 'v2');
      await run('skopeo', ['copy', ...insecure, `oci:${other.layout}:v2`, `docker://${nginx.host}/scale/balanced:v2`]);
      const pulled = join(dir, 'pulled-balanced');
      await run('skopeo', ['copy', ...insecure, `docker://${nginx.host}/scale/balanced:v2`, `oci:${pulled}:v2`]);
      const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      expect(index.manifests.map((entry) => entry.digest)).toEqual([other.digest]);
      // Round robin: the push's upload session and the pull went through both replicas. Lines without a
      // replica are nginx's own 400s to skopeo's first attempt, a TLS handshake on the plain-HTTP port.
      const lines = (await readFile(nginx.accessLog, 'utf8')).trim().split('\n').map((line) => line.split(' '));
      expect(lines.filter((fields) => fields[3] === '-').map((fields) => `${fields[2]} ${fields[3]}`)).toEqual(lines.filter((fields) => fields[3] === '-').map(() => '400 -'));
      expect([...new Set(lines.map((fields) => fields[3]).filter((upstream) => upstream !== '-'))].sort()).toEqual([first.host, second.host].sort());
    } finally {
      await nginx.stop();
    }
  });

  it('creates an immutable tag once when two replicas push different manifests to it at the same moment', async () => {
    const manifests = await Promise.all(
      [first, second].map(async (server, i) => {
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, replica: i }));
        expect((await fetch(`${server.url}/v2/scale/immutable/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config })).status).toBe(201);
        return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }));
      }),
    );
    const responses = await Promise.all(
      [first, second].map((server, i) => fetch(`${server.url}/v2/scale/immutable/manifests/v1`, { method: 'PUT', body: manifests[i]!, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } })),
    );
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409]);
    const loser = responses.find((response) => response.status === 409)!;
    expect(((await loser.json()) as { errors: { code: string; detail: unknown }[] }).errors[0]).toMatchObject({ code: 'TAG_IMMUTABLE', detail: { repository: 'scale/immutable', tag: 'v1', rule: 'scale-releases' } });
    const winner = manifests[responses.findIndex((response) => response.status === 201)]!;
    for (const server of [first, second]) {
      expect((await fetch(`${server.url}/v2/scale/immutable/manifests/v1`, { method: 'HEAD' })).headers.get('docker-content-digest')).toBe(sha256(winner));
    }
    // Uploads on S3 announce the smallest multipart part as the minimum chunk.
    const started = await fetch(`${first.url}/v2/scale/immutable/blobs/uploads/`, { method: 'POST' });
    expect(started.status).toBe(202);
    expect(started.headers.get('oci-chunk-min-length')).toBe(String(5 * 1024 * 1024));
    expect((await fetch(new URL(started.headers.get('location')!, first.url), { method: 'DELETE' })).status).toBe(204);
  });
});
