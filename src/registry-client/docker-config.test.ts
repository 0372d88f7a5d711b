import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.ts';
import { dockerConfigCredentials } from './docker-config.ts';

describe('dockerConfigCredentials', () => {
  let dir: string;
  const savedPath = process.env.PATH;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-docker-config-unit-'));
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('reads base64 auth, plain fields and Docker Hub aliases', async () => {
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'reg.example:5000': { auth: Buffer.from('alice:p:w').toString('base64') },
          'https://index.docker.io/v1/': { username: 'bob', password: 'hub' },
          'other.example': { identitytoken: 'refresh-1' },
        },
      }),
    );
    const lookup = dockerConfigCredentials({ DOCKER_CONFIG: dir });
    expect(await lookup('reg.example:5000')).toEqual({ username: 'alice', password: 'p:w' });
    expect(await lookup('docker.io')).toEqual({ username: 'bob', password: 'hub' });
    expect(await lookup('other.example')).toEqual({ identityToken: 'refresh-1' });
    expect(await lookup('unknown.example')).toBeUndefined();
    expect(await dockerConfigCredentials({ DOCKER_CONFIG: join(dir, 'none') })('reg.example:5000')).toBeUndefined();
  });

  it('rejects a malformed file and a malformed auth field, naming the file', async () => {
    await writeFile(join(dir, 'config.json'), '{not json');
    await expect(dockerConfigCredentials({ DOCKER_CONFIG: dir })('x')).rejects.toMatchObject({ code: 'DOCKER_CONFIG_INVALID', message: expect.stringContaining('config.json') });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { x: { auth: Buffer.from('no-colon').toString('base64') } } }));
    await expect(dockerConfigCredentials({ DOCKER_CONFIG: dir })('x')).rejects.toMatchObject({ code: 'DOCKER_CONFIG_INVALID' });
  });

  it('runs a credential helper with the server on stdin', async () => {
    const bin = join(dir, 'bin');
    await rm(bin, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(bin);
    const helper = join(bin, 'docker-credential-kilntest');
    await writeFile(helper, '#!/bin/sh\nread server\nprintf \'{"ServerURL":"%s","Username":"helper-user","Secret":"s-%s"}\' "$server" "$server"\n');
    await chmod(helper, 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'reg.example': 'kilntest' } }));
    expect(await dockerConfigCredentials({ DOCKER_CONFIG: dir })('reg.example')).toEqual({ username: 'helper-user', password: 's-reg.example' });
  });
});

describe('--allow-insecure-registry', () => {
  it('falls back from HTTPS to HTTP for a non-loopback registry only when allowed', async () => {
    const seen: string[] = [];
    const fakeFetch = (async (input: string | URL) => {
      const url = String(input);
      seen.push(url);
      if (url.startsWith('https://')) throw new TypeError('fetch failed');
      return new Response('{}', { status: 200 });
    }) as typeof fetch;
    await new RegistryClient({ fetch: fakeFetch, allowInsecure: true }).ping('registry.internal:5000');
    expect(seen.at(-1)).toBe('http://registry.internal:5000/v2/');
    seen.length = 0;
    await expect(new RegistryClient({ fetch: fakeFetch }).ping('registry.internal:5000')).rejects.toMatchObject({ code: 'REGISTRY_UNREACHABLE' });
    expect(new Set(seen)).toEqual(new Set(['https://registry.internal:5000/v2/']));
  });
});
