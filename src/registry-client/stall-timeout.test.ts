import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { withStallTimeout } from './stall-timeout.ts';

let server: Server | undefined;

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('withStallTimeout', () => {
  it('rejects with a TimeoutError when no response headers arrive in time', async () => {
    const url = await serve(() => undefined);
    const error = await withStallTimeout(fetch, 150)(url).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect((error as DOMException).message).toContain('150 ms');
  });

  it('fails the body read when bytes stop arriving after the headers', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': '10' });
      response.write('12345');
    });
    const response = await withStallTimeout(fetch, 150)(url);
    expect(response.status).toBe(200);
    const error = await response.arrayBuffer().catch((caught: unknown) => caught);
    expect((error as DOMException).name).toBe('TimeoutError');
  });

  it('lets a slow but steady body finish even when it takes far longer than the stall time in all', async () => {
    const url = await serve(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      for (let chunk = 0; chunk < 8; chunk++) {
        response.write(`chunk${chunk};`);
        await sleep(60);
      }
      response.end();
    });
    const response = await withStallTimeout(fetch, 200)(url);
    expect(await response.text()).toBe('chunk0;chunk1;chunk2;chunk3;chunk4;chunk5;chunk6;chunk7;');
  });

  it('keeps the status, headers and URL of the answer (callers resolve Location against it)', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(202, { location: '/v2/x/blobs/uploads/1' });
      response.end();
    });
    const response = await withStallTimeout(fetch, 500)(`${url}/v2/x/blobs/uploads/`, { method: 'POST' });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe('/v2/x/blobs/uploads/1');
    expect(response.url).toBe(`${url}/v2/x/blobs/uploads/`);
  });

  it('passes a caller abort through', async () => {
    const url = await serve(() => undefined);
    const caller = new AbortController();
    setTimeout(() => caller.abort(new Error('caller gave up')), 50);
    const error = await withStallTimeout(fetch, 5_000)(url, { signal: caller.signal }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('caller gave up');
  });
});
