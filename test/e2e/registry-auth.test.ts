// Real clients against an authenticated `kiln registry serve`: skopeo logs in through the bearer-token
// flow to push; anonymous push is refused; anonymous pull of a public repository works; a private
// repository needs credentials.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHelloLayout, run, sha256, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

let dir: string;
let kiln: ServerProcess;
let image: Awaited<ReturnType<typeof buildHelloLayout>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-registry-auth-e2e-'));
  image = await buildHelloLayout(dir, 'hello with auth', 'v1');
  const data = join(dir, 'data');
  await writeFile(join(dir, 'users'), `pusher:${bcrypt.hashSync('s3cret', 6)}\nreader:${bcrypt.hashSync('r3ad', 6)}\n`);
  await writeFile(
    join(dir, 'config.yaml'),
    [
      'auth:',
      `  htpasswd: ${join(dir, 'users')}`,
      '  token:',
      '    service: kiln-e2e',
      '  access:',
      '    - repository: "private/**"',
      '      pull: [pusher, reader]',
      '      push: [pusher]',
      '    - repository: "**"',
      '      public: true',
      '      push: [pusher]',
      '',
    ].join('\n'),
  );
  kiln = await startKiln(data, ['--config', join(dir, 'config.yaml')]);
});

afterAll(async () => {
  await kiln?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function fails(command: string, args: string[]): Promise<string> {
  try {
    await run(command, args);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${command} ${args.join(' ')} unexpectedly succeeded`);
}

describe('kiln registry with auth and real clients', () => {
  it('refuses anonymous push and accepts a push through the token flow', async () => {
    const refused = await fails('skopeo', ['copy', '--dest-tls-verify=false', `oci:${image.layout}:v1`, `docker://${kiln.host}/public/hello:v1`]);
    expect(refused).toMatch(/unauthorized|authentication required/i);
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'pusher:s3cret', `oci:${image.layout}:v1`, `docker://${kiln.host}/public/hello:v1`]);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${kiln.host}/public/hello:v1`]);
    expect(sha256(Buffer.from(stdout))).toBe(image.digest);
    const wrongUser = await fails('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'reader:r3ad', `oci:${image.layout}:v1`, `docker://${kiln.host}/public/other:v1`]);
    expect(wrongUser).toMatch(/unauthorized|denied|authentication required/i);
  });

  it('keeps private repositories private', async () => {
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'pusher:s3cret', `oci:${image.layout}:v1`, `docker://${kiln.host}/private/hello:v1`]);
    const anonymous = await fails('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${kiln.host}/private/hello:v1`]);
    expect(anonymous).toMatch(/unauthorized|authentication required|denied/i);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', 'reader:r3ad', `docker://${kiln.host}/private/hello:v1`]);
    expect(sha256(Buffer.from(stdout))).toBe(image.digest);
  });
});

describe('kiln registry with basic auth only and skopeo', () => {
  let basicDir: string;
  let basic: ServerProcess | undefined;

  afterAll(async () => {
    await basic?.stop();
    if (basicDir) await rm(basicDir, { recursive: true, force: true });
  });

  it('lets skopeo pull a public repository anonymously (it answers the Basic challenge with empty credentials)', async () => {
    basicDir = await mkdtemp(join(tmpdir(), 'kiln-registry-basic-e2e-'));
    await writeFile(join(basicDir, 'users'), `pusher:${bcrypt.hashSync('s3cret', 6)}\n`);
    await writeFile(join(basicDir, 'config.yaml'), ['auth:', `  htpasswd: ${join(basicDir, 'users')}`, '  access:', '    - repository: "**"', '      public: true', '      push: [pusher]', ''].join('\n'));
    basic = await startKiln(join(basicDir, 'data'), ['--config', join(basicDir, 'config.yaml')]);
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'pusher:s3cret', `oci:${image.layout}:v1`, `docker://${basic.host}/public/hello:v1`]);
    // No credentials at all: skopeo meets the Basic challenge on /v2/ and retries with empty ones.
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${basic.host}/public/hello:v1`]);
    expect(sha256(Buffer.from(stdout))).toBe(image.digest);
    const copied = join(basicDir, 'copy');
    await run('skopeo', ['copy', '--src-tls-verify=false', '--src-no-creds', `docker://${basic.host}/public/hello:v1`, `oci:${copied}:v1`]);
    // Anonymous is no more than anonymous: a push without credentials is refused.
    const refused = await fails('skopeo', ['copy', '--dest-tls-verify=false', '--dest-no-creds', `oci:${image.layout}:v1`, `docker://${basic.host}/public/other:v1`]);
    expect(refused).toMatch(/unauthorized|authentication required|denied/i);
  });
});
