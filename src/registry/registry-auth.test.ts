// Access control: htpasswd basic auth, the Docker/OCI token flow, per-repository rules.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryConfig, startRegistry } from '../app/index.ts';
import type { RunningRegistry } from '../app/index.ts';
import { runCli } from '../cli/program.ts';
import { silentLogger } from '../lib/index.ts';
import { makeImage, tempDir, TestClient } from './test-support.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let running: RunningRegistry;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  dir = await tempDir('kiln-registry-auth-');
  await writeFile(join(dir.path, 'users.htpasswd'), `alice:${bcrypt.hashSync('alice-pw', 4).replace(/^\$2b\$/, '$2y$')}\nbob:${bcrypt.hashSync('bob-pw', 4)}\n`);
  await writeFile(
    join(dir.path, 'config.yaml'),
    [
      'addr: 127.0.0.1:0',
      'auth:',
      '  htpasswd: users.htpasswd',
      '  token:',
      '    service: kiln-test',
      '  access:',
      '    - repository: "private/**"',
      '      pull: [alice, bob]',
      '      push: [alice]',
      '    - repository: "**"',
      '      public: true',
      '      pull: ["*"]',
      '      push: [alice]',
      // Small pages, so a catalog page with hidden names needs several reads of the metadata.
      'http:',
      '  maxPageSize: 2',
      '',
    ].join('\n'),
  );
  running = await startRegistry(await loadRegistryConfig({ file: join(dir.path, 'config.yaml'), dataDir: dir.path, cwd: dir.path, env: {} }), silentLogger);
});

afterAll(async () => {
  await running.close();
  await dir[Symbol.asyncDispose]();
});

async function token(scope: string, authorization?: string): Promise<Response> {
  return fetch(`${running.url}/auth/token?service=kiln-test&scope=${encodeURIComponent(scope)}`, { headers: authorization ? { authorization } : {} });
}

async function bearer(scope: string, authorization?: string): Promise<TestClient> {
  const response = await token(scope, authorization);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { token: string; access_token: string; expires_in: number };
  expect(body.access_token).toBe(body.token);
  expect(body.expires_in).toBeGreaterThanOrEqual(60);
  return new TestClient(running.url, { authorization: `Bearer ${body.token}` });
}

describe('token flow', () => {
  it('challenges anonymous clients with a Bearer realm, service and scope', async () => {
    const base = await fetch(`${running.url}/v2/`);
    expect(base.status).toBe(401);
    expect(base.headers.get('www-authenticate')).toBe(`Bearer realm="${running.url}/auth/token",service="kiln-test"`);
    const push = await fetch(`${running.url}/v2/pub/app/blobs/uploads/`, { method: 'POST' });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:pub/app:pull,push"');
    expect(((await push.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
  });

  it('lets alice push with a token and anyone pull public repositories with an anonymous token', async () => {
    const alice = await bearer('repository:pub/app:pull,push', basic('alice', 'alice-pw'));
    const image = makeImage();
    expect((await alice.pushImage('pub/app', image, 'v1')).status).toBe(201);
    const anonymous = await bearer('repository:pub/app:pull');
    expect((await anonymous.request('GET', '/v2/pub/app/manifests/v1')).status).toBe(200);
    const refused = await anonymous.request('POST', '/v2/pub/app/blobs/uploads/');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('grants only what the rules allow (partial grants are not errors)', async () => {
    const bob = await bearer('repository:pub/app:pull,push', basic('bob', 'bob-pw'));
    expect((await bob.request('POST', '/v2/pub/app/blobs/uploads/')).status).toBe(401);
    const anonymousPrivate = await bearer('repository:private/x:pull');
    expect((await anonymousPrivate.request('GET', '/v2/private/x/tags/list')).status).toBe(401);
    const alice = await bearer('repository:private/x:pull,push', basic('alice', 'alice-pw'));
    expect((await alice.pushImage('private/x', makeImage(), 'secret')).status).toBe(201);
    const bobPrivate = await bearer('repository:private/x:pull', basic('bob', 'bob-pw'));
    expect((await bobPrivate.request('GET', '/v2/private/x/manifests/secret')).status).toBe(200);
  });

  it('refuses bad passwords at the token endpoint and tampered tokens at the registry', async () => {
    expect((await token('repository:pub/app:pull', basic('alice', 'wrong'))).status).toBe(401);
    const good = (await (await token('repository:pub/app:pull', basic('alice', 'alice-pw'))).json()) as { token: string };
    const [header, payload, signature] = good.token.split('.');
    const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    forged.access = [{ type: 'repository', name: 'private/x', actions: ['pull', 'push', 'delete'] }];
    const tampered = `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
    const response = await fetch(`${running.url}/v2/private/x/tags/list`, { headers: { authorization: `Bearer ${tampered}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('basic auth', () => {
  it('accepts htpasswd credentials directly and answers 403 DENIED to users without the right', async () => {
    const alice = new TestClient(running.url, { authorization: basic('alice', 'alice-pw') });
    expect((await alice.request('GET', '/v2/')).status).toBe(200);
    expect((await alice.pushImage('pub/basic', makeImage(), 'v1')).status).toBe(201);
    const bob = new TestClient(running.url, { authorization: basic('bob', 'bob-pw') });
    const denied = await bob.request('POST', '/v2/pub/basic/blobs/uploads/');
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DENIED');
    expect((await new TestClient(running.url, { authorization: basic('bob', 'nope') }).request('GET', '/v2/')).status).toBe(401);
  });
});

describe('catalog', () => {
  async function catalog(client: TestClient, path: string): Promise<{ names: string[]; next: string | undefined }> {
    const response = await client.request('GET', path);
    expect(response.status).toBe(200);
    const link = response.headers.get('link');
    return { names: ((await response.json()) as { repositories: string[] }).repositories, next: link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1] };
  }

  /** Every page's names, following the Link headers. */
  async function pages(client: TestClient, first = '/v2/_catalog'): Promise<string[][]> {
    const all: string[][] = [];
    for (let path: string | undefined = first; path !== undefined; ) {
      const page = await catalog(client, path);
      all.push(page.names);
      if (page.next !== undefined) expect(page.next).toBe(`/v2/_catalog?n=${new URL(path, running.url).searchParams.get('n') ?? 2}&last=${encodeURIComponent(page.names.at(-1)!)}`);
      path = page.next;
    }
    return all;
  }

  it('lists to a bearer token what its subject may pull, whatever scope it was asked with (crane asks registry:catalog:*)', async () => {
    const alice = new TestClient(running.url, { authorization: basic('alice', 'alice-pw') });
    for (const name of ['private/cat-a', 'pub/cat-b']) expect((await alice.pushImage(name, makeImage(), 'v1')).status).toBe(201);
    // Anonymous tokens: public repositories only, however they were scoped (access: [] here).
    for (const scope of ['repository:private/cat-a:pull', 'registry:catalog:*']) {
      const listed = (await pages(await bearer(scope))).flat();
      expect(listed, scope).toContain('pub/cat-b');
      expect(listed.filter((name) => name.startsWith('private/')), scope).toEqual([]);
    }
    // Bob's tokens: what bob may pull, private repositories included.
    for (const scope of ['repository:pub/cat-b:pull', 'registry:catalog:*']) {
      expect((await pages(await bearer(scope, basic('bob', 'bob-pw')))).flat(), scope).toEqual(expect.arrayContaining(['private/cat-a', 'pub/cat-b']));
    }
  });

  it('pages an anonymous caller through public names only, with Link cursors that name no hidden repository', async () => {
    const alice = new TestClient(running.url, { authorization: basic('alice', 'alice-pw') });
    // A run of hidden names, longer than a page, between two public ones: `page/a` < `private/…` < `pub/…`.
    for (const name of ['page/a', 'private/page-0', 'private/page-1', 'private/page-2', 'pub/page-b']) expect((await alice.pushImage(name, makeImage(), 'v1')).status).toBe(201);
    const everything = (await pages(alice)).flat();
    expect(everything).toEqual(expect.arrayContaining(['page/a', 'private/page-0', 'private/page-1', 'private/page-2', 'pub/page-b']));
    const visible = everything.filter((name) => !name.startsWith('private/'));
    // The precondition: the hidden run right after `page/a` is longer than the largest page.
    const after = everything.slice(everything.indexOf('page/a') + 1);
    expect(after.findIndex((name) => !name.startsWith('private/'))).toBeGreaterThan(2);
    const anonymous = new TestClient(running.url);
    for (const n of [1, 2]) {
      // Every page but the last is full, and `pages` checked each Link's `last=` is the page's last name.
      const paged = await pages(anonymous, `/v2/_catalog?n=${n}`);
      expect(paged.flat(), `n=${n}`).toEqual(visible);
      for (const page of paged.slice(0, -1)) expect(page).toHaveLength(n);
    }
  });
});

describe('empty credentials and metrics', () => {
  it('treats empty basic credentials (what skopeo sends after a Basic challenge) as anonymous', async () => {
    const empty = new TestClient(running.url, { authorization: `Basic ${Buffer.from(':').toString('base64')}` });
    const alice = new TestClient(running.url, { authorization: basic('alice', 'alice-pw') });
    const image = makeImage();
    expect((await alice.pushImage('pub/empty', image, 'v1')).status).toBe(201);
    expect((await empty.request('GET', '/v2/pub/empty/manifests/v1')).status).toBe(200);
    // Anonymous is all it is: a private repository still asks for credentials.
    expect((await empty.request('GET', '/v2/private/x/tags/list')).status).toBe(401);
    // A user name with an empty password is still a failed login, not anonymous.
    expect((await new TestClient(running.url, { authorization: basic('alice', '') }).request('GET', '/v2/')).status).toBe(401);
  });

  it('serves /metrics to authenticated users only when auth is configured', async () => {
    const anonymous = await fetch(`${running.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="kiln-registry"');
    expect(await anonymous.text()).not.toContain('kiln_registry_http_requests_total');
    const wrong = await fetch(`${running.url}/metrics`, { headers: { authorization: basic('alice', 'nope') } });
    expect(wrong.status).toBe(401);
    const alice = await fetch(`${running.url}/metrics`, { headers: { authorization: basic('alice', 'alice-pw') } });
    expect(alice.status).toBe(200);
    expect(await alice.text()).toContain('kiln_registry_http_requests_total');
  });
});

describe('metrics settings', () => {
  it('limits /metrics to the users named, or opens it to anyone when asked', async () => {
    await using local = await tempDir('kiln-registry-metrics-');
    await writeFile(join(local.path, 'users'), `alice:${bcrypt.hashSync('a', 4)}\nbob:${bcrypt.hashSync('b', 4)}\n`);
    const start = async (metrics: string) => {
      await writeFile(join(local.path, 'config.yaml'), `addr: 127.0.0.1:0\nauth:\n  htpasswd: users\nmetrics:\n${metrics}`);
      return startRegistry(await loadRegistryConfig({ file: join(local.path, 'config.yaml'), dataDir: local.path, cwd: local.path, env: {} }), silentLogger);
    };
    const named = await start('  users: [bob]\n');
    try {
      expect((await fetch(`${named.url}/metrics`, { headers: { authorization: basic('alice', 'a') } })).status).toBe(403);
      expect((await fetch(`${named.url}/metrics`, { headers: { authorization: basic('bob', 'b') } })).status).toBe(200);
    } finally {
      await named.close();
    }
    const anyone = await start('  anonymous: true\n');
    try {
      expect((await fetch(`${anyone.url}/metrics`)).status).toBe(200);
    } finally {
      await anyone.close();
    }
    // Behind a proxy on this host, without users: /metrics follows the forwarded client, not the
    // proxy's loopback socket, and never a forged leftmost entry.
    await writeFile(join(local.path, 'config.yaml'), 'addr: 127.0.0.1:0\nhttp:\n  trustProxy: true\n');
    const proxied = await startRegistry(await loadRegistryConfig({ file: join(local.path, 'config.yaml'), dataDir: local.path, cwd: local.path, env: {} }), silentLogger);
    try {
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1, 192.0.2.7' } })).status).toBe(403);
      expect((await fetch(`${proxied.url}/metrics`, { headers: { 'x-forwarded-for': '192.0.2.9, 127.0.0.1' } })).status).toBe(200);
    } finally {
      await proxied.close();
    }
    const off = await start('  enabled: false\n');
    try {
      expect((await fetch(`${off.url}/metrics`, { headers: { authorization: basic('bob', 'b') } })).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('kiln registry htpasswd', () => {
  it('adds and replaces bcrypt entries that the registry then accepts, keeping other lines', async () => {
    await using local = await tempDir('kiln-registry-htpasswd-');
    const file = join(local.path, 'users');
    await writeFile(file, `# operators\nbob:${bcrypt.hashSync('b', 4)}\n`);
    const out: string[] = [];
    const run = (password: string, user: string) =>
      runCli(['registry', 'htpasswd', file, user, '--cost', '4', '--json'], { stdout: (text) => out.push(text), stderr: () => {}, env: { KILN_REGISTRY_PASSWORD: password }, cwd: local.path, isTTY: false });
    expect(await run('first', 'carol')).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({ file, user: 'carol', created: true });
    expect(await run('second', 'carol')).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({ file, user: 'carol', created: false });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('# operators');
    expect(lines[2]).toMatch(/^carol:\$2y\$04\$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFile(join(local.path, 'config.yaml'), 'addr: 127.0.0.1:0\nauth:\n  htpasswd: users\n');
    const server = await startRegistry(await loadRegistryConfig({ file: join(local.path, 'config.yaml'), dataDir: local.path, cwd: local.path, env: {} }), silentLogger);
    try {
      expect((await fetch(`${server.url}/v2/`, { headers: { authorization: basic('carol', 'second') } })).status).toBe(200);
      expect((await fetch(`${server.url}/v2/`, { headers: { authorization: basic('carol', 'first') } })).status).toBe(401);
      expect((await fetch(`${server.url}/v2/`, { headers: { authorization: basic('bob', 'b') } })).status).toBe(200);
    } finally {
      await server.close();
    }
    expect(await run('x', 'bad:name')).toBe(1);
    expect(await run('', 'dave')).toBe(2);
  });
});
