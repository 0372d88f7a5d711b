// An in-process apk repository server on 127.0.0.1 for tests and benchmarks: serves a directory,
// answers conditional requests, counts requests and the peak number in flight, and injects faults.
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import type { FetchResult } from './fetcher.ts';

/** How the server misbehaves for one path. */
export type Fault = (
  | { kind: 'status'; status: number }
  | { kind: 'truncate'; bytes: number }
  | { kind: 'redirect'; location: string }
  | { kind: 'stall' }
) & {
  /** Applies to this many requests, then the path is served normally (default: every request). */
  times?: number;
};

/** A running test repository server. */
export interface RepoServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** Directory served (a private copy; tests may modify it). */
  root: string;
  /** Paths of every request received, in order. */
  requests: string[];
  /** Paths answered 304 Not Modified. */
  notModified: string[];
  /** Peak number of requests being answered at once. */
  maxInFlight: () => number;
  faults: Map<string, Fault>;
  /** Holds each response until this many requests are in flight (or 0.5 s pass), so a concurrency
   *  bound is observable without timing assumptions. 0 = answer at once. */
  gate: number;
  close: () => Promise<void>;
}

/** Starts a server over a temporary copy of `source` (a directory laid out as URL/ARCH/FILE). */
export async function startRepoServer(source: string): Promise<RepoServer> {
  const root = await mkdtemp(join(tmpdir(), 'kiln-repo-'));
  await cp(source, root, { recursive: true });
  let inFlight = 0;
  let peak = 0;
  const waiters: Array<() => void> = [];
  const state: RepoServer = {
    url: '',
    root,
    requests: [],
    notModified: [],
    maxInFlight: () => peak,
    faults: new Map(),
    gate: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
  const release = (): void => {
    if (inFlight >= state.gate) while (waiters.length) waiters.shift()!();
  };
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    state.requests.push(path);
    if (state.gate > 0) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        release();
        setTimeout(resolve, 500).unref();
      });
    }
    const fault = state.faults.get(path);
    if (fault?.times !== undefined && --fault.times <= 0) state.faults.delete(path);
    if (fault?.kind === 'status') {
      response.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`fault ${fault.status}\n`);
      return;
    }
    if (fault?.kind === 'redirect') {
      response.writeHead(302, { location: fault.location }).end();
      return;
    }
    if (fault?.kind === 'stall') return; // never answers; the client's timeout must fire
    const file = normalize(join(root, path));
    if (!file.startsWith(`${root}/`)) {
      response.writeHead(400).end();
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (request.headers['if-none-match'] === etag) {
      state.notModified.push(path);
      response.writeHead(304, { etag }).end();
      return;
    }
    response.writeHead(200, { 'content-length': body.length, etag, 'content-type': 'application/octet-stream' });
    if (fault?.kind === 'truncate') {
      response.write(body.subarray(0, fault.bytes), () => response.destroy());
      return;
    }
    response.end(body);
  };
  const server = createServer((request, response) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      inFlight--;
    };
    response.on('finish', done);
    response.on('close', done);
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** The whole body of a fetch result as text (tests). */
export async function fetchedText(result: FetchResult): Promise<string> {
  if (result.kind !== 'body') throw new Error('expected a body');
  const chunks: Buffer[] = [];
  for await (const chunk of result.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Starts a server on a free loopback port and returns the port. */
export async function listenOnLoopback(server: { listen: (port: number, host: string, cb: () => void) => unknown; address: () => unknown }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
