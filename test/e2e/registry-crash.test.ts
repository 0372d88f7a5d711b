// SIGKILL the registry while chunked uploads and manifest pushes are in flight, many times; after
// each restart nothing partial may be visible and everything acknowledged must be intact.
// KILN_CRASH_ITERATIONS raises the number of kill/restart rounds for longer local runs.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

const iterations = Number(process.env.KILN_CRASH_ITERATIONS ?? 4);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

let dir: string;
let port: number;
let server: ServerProcess | undefined;

interface Attempt {
  data: Buffer;
  digest: string;
  committed: boolean;
}

interface Session {
  location: string;
  data: Buffer;
  acknowledged: number;
}

interface ManifestAttempt {
  repo: string;
  tag: string;
  bytes: Buffer;
  digest: string;
  blobs: Buffer[];
  committed: boolean;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-registry-crash-'));
  port = await freePort();
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function request(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(path.startsWith('http') ? path : `http://127.0.0.1:${port}${path}`, { method, headers, ...(body ? { body: body as unknown as BodyInit } : {}) });
}

/** Chunked upload of `attempt` in 64 KiB chunks; records acknowledged offsets in `sessions`. */
async function chunkedUpload(repo: string, attempt: Attempt, sessions: Session[]): Promise<void> {
  const start = await request('POST', `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) return;
  let location = start.headers.get('location')!;
  const session: Session = { location, data: attempt.data, acknowledged: 0 };
  sessions.push(session);
  const chunk = 64 * 1024;
  for (let offset = 0; offset < attempt.data.length; offset += chunk) {
    const part = attempt.data.subarray(offset, Math.min(offset + chunk, attempt.data.length));
    const response = await request('PATCH', location, part, { 'content-range': `${offset}-${offset + part.length - 1}` });
    if (response.status !== 202) return;
    location = response.headers.get('location')!;
    session.location = location;
    session.acknowledged = offset + part.length;
  }
  const close = await request('PUT', `${location}?digest=${attempt.digest}`);
  if (close.status === 201) attempt.committed = true;
}

async function pushManifest(attempt: ManifestAttempt): Promise<void> {
  for (const blob of attempt.blobs) {
    const response = await request('POST', `/v2/${attempt.repo}/blobs/uploads/?digest=${sha256(blob)}`, blob);
    if (response.status !== 201) return;
  }
  const response = await request('PUT', `/v2/${attempt.repo}/manifests/${attempt.tag}`, attempt.bytes, { 'content-type': OCI_MANIFEST });
  if (response.status === 201) attempt.committed = true;
}

function makeManifest(repo: string, tag: string): ManifestAttempt {
  const layer = randomBytes(200_000 + Math.floor(Math.random() * 200_000));
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, n: randomBytes(4).toString('hex') }));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { repo, tag, bytes, digest: sha256(bytes), blobs: [config, layer], committed: false };
}

async function blobState(repo: string, digest: string, expected: Buffer): Promise<'absent' | 'intact'> {
  const response = await request('GET', `/v2/${repo}/blobs/${digest}`);
  if (response.status === 404) return 'absent';
  expect(response.status).toBe(200);
  const body = Buffer.from(await response.arrayBuffer());
  // Never partial or corrupt: whatever is visible under a digest is exactly those bytes.
  expect(body.equals(expected)).toBe(true);
  return 'intact';
}

describe('crash safety under SIGKILL', () => {
  it(`keeps committed data intact and hides partial data across ${iterations} kill/restart rounds`, async () => {
    const dataDir = join(dir, 'data');
    const blobs: Attempt[] = [];
    const manifests: ManifestAttempt[] = [];
    const sessions: Session[] = [];
    for (let round = 0; round < iterations; round++) {
      server = await startKiln(dataDir, [], port);
      const roundBlobs = Array.from({ length: 4 }, () => {
        const data = randomBytes(40_000 + Math.floor(Math.random() * 900_000));
        return { data, digest: sha256(data), committed: false };
      });
      const roundManifests = Array.from({ length: 4 }, (_, i) => makeManifest(`crash/r${round}`, `t${i}`));
      blobs.push(...roundBlobs);
      manifests.push(...roundManifests);
      const work = Promise.allSettled([...roundBlobs.map((attempt) => chunkedUpload('crash/blobs', attempt, sessions)), ...roundManifests.map(pushManifest)]);
      // Kill at a different point of the work each round: once the registry has acknowledged a random
      // 20–70 % of this round's upload bytes. Waiting for progress rather than for a fixed time keeps the
      // kill inside the work on fast and slow machines alike.
      const roundData = new Set<Buffer>(roundBlobs.map((attempt) => attempt.data));
      const totalBytes = roundBlobs.reduce((sum, attempt) => sum + attempt.data.length, 0);
      const target = totalBytes * (0.2 + 0.5 * Math.random());
      const deadline = Date.now() + 60_000;
      const acknowledged = (): number => sessions.filter((session) => roundData.has(session.data)).reduce((sum, session) => sum + session.acknowledged, 0);
      while (acknowledged() < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
      await server.stop('SIGKILL');
      await work;
    }
    server = await startKiln(dataDir, [], port);
    let intactBlobs = 0;
    for (const attempt of blobs) {
      const state = await blobState('crash/blobs', attempt.digest, attempt.data);
      if (attempt.committed) expect(state).toBe('intact');
      if (state === 'intact') intactBlobs++;
    }
    let visibleManifests = 0;
    for (const attempt of manifests) {
      const response = await request('GET', `/v2/${attempt.repo}/manifests/${attempt.tag}`);
      if (attempt.committed) expect(response.status).toBe(200);
      if (response.status === 404) continue;
      expect(response.status).toBe(200);
      visibleManifests++;
      expect(Buffer.from(await response.arrayBuffer()).equals(attempt.bytes)).toBe(true);
      // A visible manifest never lacks its blobs.
      for (const blob of attempt.blobs) expect(await blobState(attempt.repo, sha256(blob), blob)).toBe('intact');
    }
    // Acknowledged chunks survive the restart: the session resumes where the registry said it was.
    let resumed = 0;
    for (const session of sessions) {
      const attempt = blobs.find((item) => item.data === session.data)!;
      if (attempt.committed) continue;
      const status = await request('GET', session.location);
      if (status.status === 404) continue;
      expect(status.status).toBe(204);
      const end = Number(status.headers.get('range')!.split('-')[1]);
      const offset = end === 0 && session.acknowledged === 0 ? 0 : end + 1;
      expect(offset).toBeGreaterThanOrEqual(session.acknowledged);
      const rest = session.data.subarray(offset);
      const close = await request('PUT', `${status.headers.get('location')}?digest=${attempt.digest}`, rest, rest.length ? { 'content-range': `${offset}-${session.data.length - 1}` } : {});
      expect(close.status).toBe(201);
      expect(await blobState('crash/blobs', attempt.digest, attempt.data)).toBe('intact');
      resumed++;
    }
    const stats = { blobs: blobs.length, committedBlobs: blobs.filter((item) => item.committed).length, intactBlobs, manifests: manifests.length, committedManifests: manifests.filter((item) => item.committed).length, visibleManifests, sessions: sessions.length, resumed };
    // Some work must have landed and some must have been cut off, or the kills tested nothing.
    expect(intactBlobs + visibleManifests + resumed, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.committedBlobs + stats.committedManifests, JSON.stringify(stats)).toBeLessThan(blobs.length + manifests.length);
    if (process.env.KILN_CRASH_VERBOSE) process.stderr.write(`crash stats: ${JSON.stringify(stats)}\n`);
  });
});

describe('start-up clean-up after SIGKILL', () => {
  it('removes a monolithic push cut off mid-body from storage/tmp when the server starts, before any request', async () => {
    // The previous case leaves its last server running on the shared port.
    await server?.stop();
    const dataDir = join(dir, 'cleanup');
    const tmp = join(dataDir, 'storage', 'tmp');
    server = await startKiln(dataDir, [], port);
    const data = randomBytes(64 * 1024 * 1024);
    const digest = sha256(data);
    // A streamed monolithic push (POST ?digest=, chunked): the server writes it to storage/tmp as it arrives.
    const upload = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `/v2/crash/tmp/blobs/uploads/?digest=${digest}`, headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' } });
    upload.on('error', () => {});
    const leftover = async (): Promise<number> => {
      let total = 0;
      for (const name of await readdir(tmp).catch(() => [] as string[])) total += (await stat(join(tmp, name)).catch(() => undefined))?.size ?? 0;
      return total;
    };
    let offset = 0;
    const deadline = Date.now() + 60_000;
    while ((await leftover()) < 8 * 1024 * 1024 && offset < data.length && Date.now() < deadline) {
      const part = data.subarray(offset, offset + 1024 * 1024);
      offset += part.length;
      if (!upload.write(part)) await new Promise((resolve) => upload.once('drain', resolve));
    }
    await server.stop('SIGKILL');
    upload.destroy();
    // The crash left a partial temporary file behind.
    const partial = await leftover();
    expect(partial).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(partial).toBeLessThan(data.length);
    server = await startKiln(dataDir, [], port);
    // Up (health answered, nothing else asked): the leftover is gone already, and nothing is visible.
    expect(await readdir(tmp)).toEqual([]);
    expect((await request('HEAD', `/v2/crash/tmp/blobs/${digest}`)).status).toBe(404);
    const push = await request('POST', `/v2/crash/tmp/blobs/uploads/?digest=${digest}`, data, { 'content-type': 'application/octet-stream' });
    expect(push.status).toBe(201);
    expect(await blobState('crash/tmp', digest, data)).toBe('intact');
    expect(await readdir(tmp)).toEqual([]);
    await server.stop();
    server = undefined;
  });
});
