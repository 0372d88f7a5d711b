// Upload sessions and committed content survive a restart of the registry on the same data dir.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import { silentLogger } from '../lib/index.ts';
import { makeImage, randomBytes, sha256, tempDir, TestClient } from './test-support.ts';

describe('restart', () => {
  it('resumes an upload session after a restart and keeps committed images', async () => {
    await using dir = await tempDir('kiln-registry-restart-');
    const config = await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    let running = await startRegistry(config, silentLogger);
    let client = new TestClient(running.url);
    const image = makeImage();
    expect((await client.pushImage('restart/app', image, 'v1')).status).toBe(201);
    const data = randomBytes(10_000);
    const start = await client.request('POST', '/v2/restart/app/blobs/uploads/');
    const patch = await client.request('PATCH', start.headers.get('location')!, { body: data.subarray(0, 6000), headers: { 'content-range': '0-5999' } });
    const location = patch.headers.get('location')!;
    await running.close();

    running = await startRegistry({ ...config, addr: '127.0.0.1:0' }, silentLogger);
    client = new TestClient(running.url);
    try {
      const status = await client.request('GET', location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-5999');
      const close = await client.request('PUT', `${location}?digest=${sha256(data)}`, { body: data.subarray(6000), headers: { 'content-range': '6000-9999' } });
      expect(close.status).toBe(201);
      expect(Buffer.from(await (await client.request('GET', `/v2/restart/app/blobs/${sha256(data)}`)).arrayBuffer()).equals(data)).toBe(true);
      expect(Buffer.from(await (await client.request('GET', '/v2/restart/app/manifests/v1')).arrayBuffer()).equals(image.manifest)).toBe(true);
    } finally {
      await running.close();
    }
  });
});

describe('graceful shutdown', () => {
  // No sleeps: the running upload is held open by the test itself (its body is not finished), so
  // everything asserted "while closing" happens while that request is provably still in flight.
  it('refuses new connections and new requests while closing, and finishes the running upload first', async () => {
    await using dir = await tempDir('kiln-registry-shutdown-');
    const config = await loadRegistryConfig({ dataDir: dir.path, addr: '127.0.0.1:0', cwd: dir.path, env: {} });
    const running = await startRegistry(config, silentLogger);
    const client = new TestClient(running.url);
    const start = await client.request('POST', '/v2/shutdown/app/blobs/uploads/');
    const location = start.headers.get('location')!;
    const data = randomBytes(200_000);
    const { port } = new URL(running.url);

    // A raw connection: the PATCH asks for 100-continue, so the server's interim answer proves the
    // request has been dispatched (accepted before shutdown) while its body is still to come.
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    const ended = new Promise<void>((resolve, reject) => {
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    const continued = new Promise<void>((resolve, reject) => {
      const check = () => {
        if (received.includes('\r\n\r\n')) {
          socket.off('data', check);
          if (received.startsWith('HTTP/1.1 100 ')) resolve();
          else reject(new Error(`expected 100 Continue, got ${JSON.stringify(received.slice(0, 200))}`));
        }
      };
      socket.on('data', check);
    });
    socket.write(
      `PATCH ${location} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Length: ${data.length}\r\nContent-Range: 0-${data.length - 1}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await continued;
    socket.write(data.subarray(0, 100_000));

    let closeFinished = false;
    const closed = running.close().then(() => {
      closeFinished = true;
    });

    // While the upload is still running: a new connection is refused outright.
    const refused = await new Promise<string>((resolve) => {
      const probe = connect(Number(port), '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(closeFinished).toBe(false);

    // The rest of the body, followed by a second request pipelined on the same (still open)
    // connection: that one arrives after shutdown began and is answered 503 UNAVAILABLE.
    socket.write(data.subarray(100_000));
    socket.write(`GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await ended;
    await closed;
    const statuses = [...received.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((match) => Number(match[1]));
    expect(statuses).toEqual([100, 202, 503]);
    const unavailable = received.slice(received.lastIndexOf('HTTP/1.1 503 '));
    expect(unavailable).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(JSON.parse(unavailable.slice(unavailable.indexOf('\r\n\r\n') + 4))).toMatchObject({ errors: [{ code: 'UNAVAILABLE' }] });
    expect(received.slice(0, received.indexOf('HTTP/1.1 503 '))).toMatch(/\r\nrange: 0-199999\r\n/i);
  });
});
