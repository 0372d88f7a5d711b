// Helpers for the registry's whole-system tests: a real `kiln registry serve` process, Debian's
// docker-registry (CNCF Distribution 2.8) as a peer, and a tiny runnable OCI image built from a
// static C program.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaTypes } from '../../src/oci/index.ts';

export const root = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);

export async function run(command: string, args: string[], options: { cwd?: string; timeout?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(command, args, { cwd: options.cwd, timeout: options.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`, { cause: error });
  }
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, process: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`${url}: server exited with ${process.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}: server did not come up`);
}

/** A server process under test. */
export interface ServerProcess {
  url: string;
  host: string;
  process: ChildProcess;
  log: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function handle(child: ChildProcess, url: string): ServerProcess {
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url,
    host: url.replace(/^https?:\/\//, ''),
    process: child,
    log: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Starts `kiln registry serve` as a child process on a free loopback port. */
export async function startKiln(dataDir: string, extraArgs: string[] = [], port?: number): Promise<ServerProcess> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'registry', 'serve', '--data-dir', dataDir, '--addr', `127.0.0.1:${chosen}`, ...extraArgs], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = handle(child, `http://127.0.0.1:${chosen}`);
  await waitFor(`${server.url}/healthz`, child);
  return server;
}

/** Starts Debian's docker-registry (Distribution 2.8) with a temp storage dir on a free loopback port. */
export async function startDistribution(dir: string): Promise<ServerProcess> {
  const port = await freePort();
  await mkdir(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = handle(child, `http://127.0.0.1:${port}`);
  await waitFor(`${server.url}/v2/`, child);
  return server;
}

/** Starts Debian's nginx as a load balancer over `upstreams` (`host:port`) on a free loopback port, as
 *  docs/registry.md configures it (no request buffering, unlimited bodies). Its access log, one line
 *  per request with the replica that served it, is `<dir>/access.log`. */
export async function startNginx(dir: string, upstreams: readonly string[]): Promise<ServerProcess & { accessLog: string }> {
  const port = await freePort();
  await mkdir(join(dir, 'logs'), { recursive: true });
  const accessLog = join(dir, 'access.log');
  const config = join(dir, 'nginx.conf');
  await writeFile(
    config,
    [
      // As root, the workers would otherwise run as nobody, who cannot enter the test's private TMPDIR.
      ...(process.getuid?.() === 0 ? ['user root root;'] : []),
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  client_body_temp_path ${join(dir, 'client-body')};`,
      `  proxy_temp_path ${join(dir, 'proxy')};`,
      `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
      `  scgi_temp_path ${join(dir, 'scgi')};`,
      "  log_format upstream '$request_method $uri $status $upstream_addr';",
      `  access_log ${accessLog} upstream;`,
      `  upstream kiln_registry { ${upstreams.map((upstream) => `server ${upstream};`).join(' ')} keepalive 16; }`,
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    client_max_body_size 0;',
      '    proxy_request_buffering off;',
      '    proxy_buffering off;',
      '    proxy_http_version 1.1;',
      '    location / {',
      '      proxy_pass http://kiln_registry;',
      '      proxy_set_header Connection "";',
      '      proxy_set_header Host $http_host;',
      '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '      proxy_set_header X-Forwarded-Proto $scheme;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', config, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = handle(child, `http://127.0.0.1:${port}`);
  await waitFor(`${server.url}/v2/`, child);
  return { ...server, accessLog };
}

function tarOf(entries: { name: string; data: Buffer; mode: number }[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pack = tar.pack();
    const parts: Buffer[] = [];
    pack.on('data', (chunk: unknown) => {
      parts.push(chunk as Buffer);
    });
    pack.on('end', () => resolve(Buffer.concat(parts)));
    pack.on('error', reject);
    for (const entry of entries) pack.entry({ name: entry.name, mode: entry.mode, mtime: new Date(0), uid: 0, gid: 0 }, entry.data);
    pack.finalize();
  });
}

/** Builds an OCI image layout at `dir` whose image prints `message` when run: a static C program
 *  compiled with `cc -static`, one gzip layer, tagged `tag`. Returns the manifest digest. */
export async function buildHelloLayout(dir: string, message: string, tag = 'latest'): Promise<{ layout: string; digest: string; manifest: Buffer }> {
  const work = join(dir, 'build');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'hello.c'), `#include <stdio.h>\nint main(void){puts(${JSON.stringify(message)});return 0;}\n`);
  await run('cc', ['-static', '-Os', '-o', join(work, 'hello'), join(work, 'hello.c')]);
  const { readFile } = await import('node:fs/promises');
  const binary = await readFile(join(work, 'hello'));
  const rawLayer = await tarOf([{ name: 'hello', data: binary, mode: 0o755 }]);
  const layer = gzipSync(rawLayer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/hello'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [sha256(rawLayer)] },
      history: [{ created_by: 'kiln registry e2e' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: sha256(layer), size: layer.length }],
    }),
  );
  const layout = join(dir, 'layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [layer, config, manifest]) await writeFile(join(layout, 'blobs', 'sha256', sha256(blob).slice(7)), blob);
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [{ mediaType: MediaTypes.ociManifest, digest: sha256(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { layout, digest: sha256(manifest), manifest };
}
