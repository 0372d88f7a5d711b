import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from './http-transport.ts';
import { fetchedText as text, listenOnLoopback as listen } from './test-server.ts';


describe('HttpTransport over http', () => {
  const lastModified = 'Wed, 21 Oct 2026 07:28:00 GMT';
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    seen.push(request.headers);
    if (request.url === '/short') {
      response.writeHead(200, { 'content-length': 100 });
      response.write('only a few bytes', () => response.destroy());
      return;
    }
    if (request.url === '/to-ftp') {
      response.writeHead(301, { location: 'ftp://example.com/x' }).end();
      return;
    }
    if (request.headers['if-modified-since'] === lastModified) {
      response.writeHead(304).end();
      return;
    }
    response.writeHead(200, { 'last-modified': lastModified }).end('index bytes');
  };
  const server = createServer(handler);
  let base = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('revalidates with If-Modified-Since when the server gives only Last-Modified', async () => {
    const transport = new HttpTransport();
    const first = await transport.fetch(`${base}/x86_64/APKINDEX.tar.gz`);
    expect(first.kind === 'body' && first.validators).toEqual({ lastModified });
    await text(first);
    const second = await transport.fetch(`${base}/x86_64/APKINDEX.tar.gz`, { validators: { lastModified } });
    expect(second.kind).toBe('not-modified');
    expect(seen.at(-1)?.['if-modified-since']).toBe(lastModified);
    expect(seen.at(-1)?.['user-agent']).toBe('kiln-apk');
    transport.close();
  });

  it('turns a body shorter than Content-Length into a stream error', async () => {
    const transport = new HttpTransport();
    const result = await transport.fetch(`${base}/short`);
    await expect(text(result)).rejects.toMatchObject({ code: 'APK_REPO_NETWORK', message: expect.stringContaining(`${base}/short`) });
    transport.close();
  });

  it('refuses a redirect to a non-HTTP URL and an unsupported scheme', async () => {
    const transport = new HttpTransport();
    await expect(transport.fetch(`${base}/to-ftp`)).rejects.toMatchObject({ code: 'APK_REPO_REDIRECTS' });
    await expect(transport.fetch('ftp://example.com/x')).rejects.toMatchObject({ code: 'APK_REPO_URL_UNSUPPORTED' });
    transport.close();
  });

  it('can be cancelled with an AbortSignal', async () => {
    const transport = new HttpTransport();
    const controller = new AbortController();
    controller.abort();
    await expect(transport.fetch(`${base}/x86_64/APKINDEX.tar.gz`, { signal: controller.signal })).rejects.toMatchObject({ code: 'APK_REPO_NETWORK' });
    transport.close();
  });
});
