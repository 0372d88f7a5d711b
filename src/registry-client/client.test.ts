import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient, parseChallenge } from './client.ts';
import { staticCredentials } from './docker-config.ts';
import { RegistryClientError } from './errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const sha = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}` as const;

describe('parseChallenge', () => {
  it('reads quoted parameters containing commas', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm="x"').scheme).toBe('basic');
  });
});

describe('RegistryClient against an in-process registry', () => {
  it('answers a Bearer challenge with a token for the right scope, using Basic credentials at the realm', async () => {
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('{}'), size: 2 }, layers: [] });
    const seen: { tokenQuery?: URLSearchParams; tokenAuth?: string } = {};
    let host = '';
    host = await serve((req, res) => {
      const url = new URL(req.url!, `http://${host}`);
      if (url.pathname === '/token') {
        seen.tokenQuery = url.searchParams;
        seen.tokenAuth = req.headers.authorization;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token: 'tok-123' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer tok-123') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://${host}/token",service="test-registry",scope="repository:team/app:pull"`);
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      res.setHeader('docker-content-digest', sha(manifest));
      res.end(manifest);
    });
    const client = new RegistryClient({ credentials: staticCredentials({ [host]: { username: 'u', password: 'p' } }) });
    const pulled = await client.getManifest({ registry: host, repository: 'team/app', tag: 'v1' });
    expect(pulled.digest).toBe(sha(manifest));
    expect(seen.tokenQuery?.get('service')).toBe('test-registry');
    expect(seen.tokenQuery?.getAll('scope')).toEqual(['repository:team/app:pull']);
    expect(seen.tokenAuth).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('fails closed when the token service refuses', async () => {
    let host = '';
    host = await serve((req, res) => {
      if (req.url!.startsWith('/token')) {
        res.statusCode = 401;
        res.end();
        return;
      }
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://${host}/token",service="s"`);
      res.end();
    });
    const client = new RegistryClient({ credentials: staticCredentials({ [host]: { username: 'u', password: 'wrong' } }) });
    await expect(client.getManifest({ registry: host, repository: 'a', tag: 't' })).rejects.toMatchObject({ code: 'REGISTRY_AUTH_FAILED' });
  });

  it('rejects a manifest whose bytes do not match the digest it was requested by', async () => {
    const real = '{"schemaVersion":2,"config":{},"layers":[]}';
    const host = await serve((_req, res) => {
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      res.end(`${real} `);
    });
    const client = new RegistryClient();
    const error = await client.getManifest({ registry: host, repository: 'a', digest: sha(real) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryClientError);
    expect((error as RegistryClientError).code).toBe('REGISTRY_DIGEST_MISMATCH');
    expect((error as Error).message).toContain(sha(real));
  });

  it('validates pulled manifests with the OCI vocabulary: a bad descriptor is refused naming its field; a declared media type wins over the header', async () => {
    const bad = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:zz', size: 2 }, layers: [] });
    const good = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    const host = await serve((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(req.url?.endsWith('/bad') ? bad : good);
    });
    const client = new RegistryClient();
    const error = await client.getManifest({ registry: host, repository: 'a', tag: 'bad' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryClientError);
    expect(error).toMatchObject({ code: 'REGISTRY_RESPONSE_INVALID', detail: { field: 'config.digest' } });
    const pulled = await client.getManifest({ registry: host, repository: 'a', tag: 'good' });
    expect(pulled.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(pulled.manifest).toEqual({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
  });

  it('rejects a blob stream whose bytes do not match, after the last chunk', async () => {
    const host = await serve((_req, res) => res.end('tampered'));
    const client = new RegistryClient();
    await expect(client.getBlob({ registry: host, repository: 'a' }, sha('original'))).rejects.toMatchObject({ code: 'REGISTRY_DIGEST_MISMATCH' });
  });

  it('follows a blob redirect to another host without sending the Authorization header there', async () => {
    const blob = Buffer.from('layer bytes');
    const storageSeen: (string | undefined)[] = [];
    const storage = await serve((req, res) => {
      storageSeen.push(req.headers.authorization);
      res.end(blob);
    });
    const host = await serve((req, res) => {
      if (!req.headers.authorization) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Basic realm="r"');
        res.end();
        return;
      }
      res.statusCode = 307;
      res.setHeader('location', `http://${storage.replace('127.0.0.1', 'localhost')}/blob`);
      res.end();
    });
    const client = new RegistryClient({ credentials: staticCredentials({ [host]: { username: 'u', password: 'p' } }) });
    expect(Buffer.from(await client.getBlob({ registry: host, repository: 'a' }, sha(blob))).toString()).toBe('layer bytes');
    expect(storageSeen).toEqual([undefined]);
  });

  it('uses the fallback tag when the referrers API answers 404', async () => {
    const subject = sha('subject');
    const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha('r'), size: 1, artifactType: 'x/y' }, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha('q'), size: 1, artifactType: 'z' }] });
    const host = await serve((req, res) => {
      if (req.url === `/v2/a/manifests/${subject.replace(':', '-')}`) {
        res.setHeader('content-type', 'application/vnd.oci.image.index.v1+json');
        res.end(index);
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    const client = new RegistryClient();
    const result = await client.referrers({ registry: host, repository: 'a' }, subject, { artifactType: 'x/y' });
    expect(result.viaApi).toBe(false);
    expect(result.manifests.map((m) => m.digest)).toEqual([sha('r')]);
  });
});

describe('retries', () => {
  it('retries a read after a 503 and does not retry a write', async () => {
    let reads = 0;
    let writes = 0;
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('{}'), size: 2 }, layers: [] });
    const host = await serve((req, res) => {
      if (req.method === 'PUT') {
        writes++;
        res.statusCode = 503;
        res.end();
        return;
      }
      reads++;
      if (reads === 1) {
        res.statusCode = 503;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      res.end(manifest);
    });
    const client = new RegistryClient();
    expect((await client.getManifest({ registry: host, repository: 'a', tag: 't' })).digest).toBe(sha(manifest));
    expect(reads).toBe(2);
    await expect(client.putManifest({ registry: host, repository: 'a', tag: 't' }, Buffer.from(manifest), 'application/vnd.oci.image.manifest.v1+json')).rejects.toMatchObject({ code: 'REGISTRY_REQUEST_FAILED' });
    expect(writes).toBe(1);
  });
});
