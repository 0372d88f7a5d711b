import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from './http-transport.ts';
import { proxyFor, proxyFromEnvironment } from './proxy.ts';

describe('proxy selection', () => {
  const settings = { https: 'http://proxy.corp:3128', http: 'proxy.corp:8080', noProxy: 'internal.example, .mirror.example,other:8443' };

  it('picks the proxy by scheme and defaults the proxy scheme to http', () => {
    expect(proxyFor(new URL('https://packages.wolfi.dev/os'), settings)?.href).toBe('http://proxy.corp:3128/');
    expect(proxyFor(new URL('http://dl-cdn.alpinelinux.org/alpine'), settings)?.href).toBe('http://proxy.corp:8080/');
  });

  it('bypasses NO_PROXY hosts, their subdomains, loopback and *', () => {
    for (const url of ['https://internal.example/r', 'https://a.internal.example/r', 'https://cdn.mirror.example/r', 'https://other/r', 'http://127.0.0.1:8080/r', 'http://localhost/r', 'http://[::1]:1/r']) {
      expect(proxyFor(new URL(url), settings), url).toBeUndefined();
    }
    // A suffix match is by domain, not by characters: notinternal.example is not internal.example.
    expect(proxyFor(new URL('https://notinternal.example/r'), settings)?.href).toBe('http://proxy.corp:3128/');
    expect(proxyFor(new URL('https://packages.wolfi.dev/os'), { ...settings, noProxy: '*' })).toBeUndefined();
  });

  it('reads upper- and lower-case environment variables', () => {
    expect(proxyFromEnvironment({ HTTPS_PROXY: 'http://a:1', http_proxy: 'http://b:2', no_proxy: 'x' })).toEqual({ https: 'http://a:1', http: 'http://b:2', noProxy: 'x' });
    expect(proxyFromEnvironment({})).toEqual({});
  });
});

describe('http through a proxy', () => {
  const seen: Array<{ url: string | undefined; host: string | undefined; authorization: string | undefined }> = [];
  const proxy = createServer((request, response) => {
    seen.push({ url: request.url, host: request.headers.host, authorization: request.headers['proxy-authorization'] });
    response.end('via proxy');
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    port = (proxy.address() as AddressInfo).port;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('sends the absolute URI and credentials to the proxy', async () => {
    const transport = new HttpTransport({ proxy: { http: `http://kiln:s%40cret@127.0.0.1:${port}` } });
    const result = await transport.fetch('http://repo.example/os/x86_64/APKINDEX.tar.gz');
    if (result.kind !== 'body') throw new Error('expected a body');
    const chunks: Buffer[] = [];
    for await (const chunk of result.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('via proxy');
    expect(seen).toEqual([
      { url: 'http://repo.example/os/x86_64/APKINDEX.tar.gz', host: 'repo.example', authorization: `Basic ${Buffer.from('kiln:s@cret').toString('base64')}` },
    ]);
    transport.close();
  });
});
