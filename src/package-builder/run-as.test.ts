import { describe, expect, it } from 'vitest';
import { BuildError } from './errors.ts';
import { runAsUser } from './run-as.ts';

describe('runAsUser', () => {
  it('resolves run-as by name, by uid, and the built-in build and root accounts', () => {
    const accounts = { users: [{ username: 'nonroot', uid: 65532, gid: 65533 }, { username: 'svc', uid: 500 }], groups: [{ groupname: 'svc', gid: 501, members: [] }] };
    expect(runAsUser({ accounts: { ...accounts, 'run-as': 'nonroot' } }, 'r.yaml')).toEqual({ uid: 65532, gid: 65533 });
    expect(runAsUser({ accounts: { ...accounts, 'run-as': 'svc' } }, 'r.yaml')).toEqual({ uid: 500, gid: 501 });
    expect(runAsUser({ accounts: { ...accounts, 'run-as': '65532' } }, 'r.yaml')).toEqual({ uid: 65532, gid: 65533 });
    expect(runAsUser({ accounts: { 'run-as': '4242' } }, 'r.yaml')).toEqual({ uid: 4242, gid: 4242 });
    expect(runAsUser({ accounts: { 'run-as': 'build' } }, 'r.yaml')).toEqual({ uid: 1000, gid: 1000 });
    expect(runAsUser({ accounts: { 'run-as': 'root' } }, 'r.yaml')).toEqual({ uid: 0, gid: 0 });
    expect(runAsUser({}, 'r.yaml')).toBeUndefined();
  });

  it('names the recipe and the user when run-as is unknown', () => {
    expect(() => runAsUser({ accounts: { 'run-as': 'ghost' } }, 'r.yaml')).toThrow(BuildError);
    expect(() => runAsUser({ accounts: { 'run-as': 'ghost' } }, 'r.yaml')).toThrow('r.yaml: environment.accounts.run-as "ghost" is not a user of environment.accounts.users');
  });
});
