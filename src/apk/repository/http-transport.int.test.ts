// Uses openssl to make a throwaway self-signed certificate for a loopback https server.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from './http-transport.ts';
import { fetchedText as text, listenOnLoopback as listen } from './test-server.ts';


describe('HttpTransport over https', () => {
  let dir: string;
  let cert: Buffer;
  let server: https.Server;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-tls-'));
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:repo.example', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    cert = await readFile(join(dir, 'cert.pem'));
    server = https.createServer({ key: await readFile(join(dir, 'key.pem')), cert }, (_request, response) => response.end('secure index'));
    port = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('fetches from a server whose certificate the agent trusts', async () => {
    const transport = new HttpTransport({ httpsAgent: new https.Agent({ ca: cert }) });
    expect(await text(await transport.fetch(`https://127.0.0.1:${port}/os/x86_64/APKINDEX.tar.gz`))).toBe('secure index');
    transport.close();
  });

  it('refuses an untrusted certificate, naming the URL', async () => {
    const transport = new HttpTransport();
    const url = `https://127.0.0.1:${port}/os/x86_64/APKINDEX.tar.gz`;
    await expect(transport.fetch(url)).rejects.toMatchObject({ code: 'APK_REPO_NETWORK', message: expect.stringContaining(url) });
    transport.close();
  });

  it('tunnels https through a CONNECT proxy', async () => {
    const targets: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
      targets.push(request.url ?? '');
      // Whatever host was asked for, connect to the loopback https server.
      const upstream = connect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    const proxyPort = await listen(proxy);
    const transport = new HttpTransport({ httpsAgent: new https.Agent({ ca: cert }), proxy: { https: `http://127.0.0.1:${proxyPort}` } });
    expect(await text(await transport.fetch('https://repo.example/os/x86_64/APKINDEX.tar.gz'))).toBe('secure index');
    expect(targets).toEqual(['repo.example:443']);
    transport.close();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  });
});
