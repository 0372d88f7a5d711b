import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessController, loadHtpasswd } from './access.ts';
import { RegistryError } from './errors.ts';
import { tempDir } from './test-support.ts';

const rules = [
  { repository: 'team/*', public: false, pull: ['alice'], push: ['alice'], delete: [] },
  { repository: 'open/**', public: true, pull: [], push: ['*'], delete: ['admin'] },
];

describe('AccessController', () => {
  it('without users allows everything to loopback clients and nothing to others', () => {
    const access = new AccessController({ open: true, users: new Map(), rules: [] });
    expect(access.allowedActions({ remoteAddress: '127.0.0.1' }, 'a')).toEqual(['pull', 'push', 'delete']);
    expect(access.allowedActions({ remoteAddress: '::ffff:127.0.0.1' }, 'a')).toEqual(['pull', 'push', 'delete']);
    expect(access.allowedActions({ remoteAddress: '10.0.0.5' }, 'a')).toEqual([]);
    expect(() => access.authorize({ remoteAddress: '10.0.0.5' }, [{ repository: 'a', actions: ['pull'] }])).toThrow(RegistryError);
  });

  it('applies the first matching rule; * stays within a component, ** crosses them', () => {
    const access = new AccessController({ open: false, users: new Map([['alice', 'x']]), rules });
    const alice = { user: 'alice', remoteAddress: '10.0.0.1' };
    const anonymous = { remoteAddress: '10.0.0.1' };
    expect(access.allowedActions(alice, 'team/app')).toEqual(['pull', 'push']);
    expect(access.allowedActions(anonymous, 'team/app')).toEqual([]);
    // team/* does not match two components below team: the default rule (public, any user) applies.
    expect(access.allowedActions(anonymous, 'team/app/sub')).toEqual(['pull']);
    expect(access.allowedActions({ user: 'bob', remoteAddress: '10.0.0.1' }, 'open/a/b')).toEqual(['pull', 'push']);
    expect(access.allowedActions({ user: 'admin', remoteAddress: '10.0.0.1' }, 'open/x')).toEqual(['pull', 'push', 'delete']);
    const challenge = (() => {
      try {
        access.authorize(anonymous, [{ repository: 'team/app', actions: ['pull'] }]);
      } catch (error) {
        return error as RegistryError;
      }
      return undefined;
    })();
    expect(challenge?.code).toBe('UNAUTHORIZED');
    expect(challenge?.headers['www-authenticate']).toBe('Basic realm="kiln-registry"');
    expect(() => access.authorize({ user: 'bob', remoteAddress: '10.0.0.1' }, [{ repository: 'team/app', actions: ['pull'] }])).toThrow(/denied/);
  });
});

describe('loadHtpasswd', () => {
  it('reads bcrypt entries and names the line of anything else', async () => {
    await using dir = await tempDir('kiln-htpasswd-');
    const file = join(dir.path, 'users');
    await writeFile(file, '# users\nalice:$2y$05$abcdefghijklmnopqrstuuJ1Jt9l6Ue8FZl3kX8i1vL3K2b0mJ6ee\n\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    await expect(loadHtpasswd(file)).rejects.toThrow(`${file}:4: not a bcrypt htpasswd entry`);
    await writeFile(file, 'alice:$2y$05$abcdefghijklmnopqrstuuJ1Jt9l6Ue8FZl3kX8i1vL3K2b0mJ6ee\n');
    expect([...(await loadHtpasswd(file)).keys()]).toEqual(['alice']);
  });
});
