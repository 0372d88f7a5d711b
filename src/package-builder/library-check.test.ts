import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkLibraries } from './library-check.ts';

// The host's own programs are real glibc ELF files: exactly what a distribution's linter must refuse.
describe('checkLibraries', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-libcheck-'));
    await mkdir(join(dir, 'pkg', 'usr', 'bin'), { recursive: true });
    await copyFile('/bin/true', join(dir, 'pkg', 'usr', 'bin', 'true'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses a glibc program under a musl policy, naming the package, file and interpreter', async () => {
    const check = checkLibraries([{ name: 'demo', dir: join(dir, 'pkg') }], { interpreter: '/lib/ld-musl-x86_64.so.1', indexes: [], keyring: [] });
    await expect(check).rejects.toMatchObject({ code: 'LINT_FAILED', detail: { package: 'demo', path: '/usr/bin/true', interpreter: '/lib64/ld-linux-x86-64.so.2' } });
  });

  it('refuses a library nothing provides once the interpreter is right, naming the library', async () => {
    const check = checkLibraries([{ name: 'demo', dir: join(dir, 'pkg') }], { interpreter: '/lib64/ld-linux-x86-64.so.2', indexes: [], keyring: [] });
    await expect(check).rejects.toMatchObject({ code: 'LINT_FAILED', detail: { path: '/usr/bin/true', missing: ['libc.so.6'] } });
    await expect(check).rejects.toThrow(/usr\/bin\/true needs libc\.so\.6, which no package of this distribution provides/);
  });

  it('accepts a library another package of the same build provides (its SONAME)', async () => {
    await mkdir(join(dir, 'libc', 'lib'), { recursive: true });
    await copyFile('/lib/x86_64-linux-gnu/libc.so.6', join(dir, 'libc', 'lib', 'libc.so.6'));
    // libc itself needs the loader: a build providing libc must provide that SONAME too.
    await expect(checkLibraries([{ name: 'demo', dir: join(dir, 'pkg') }, { name: 'libc', dir: join(dir, 'libc') }], { interpreter: '/lib64/ld-linux-x86-64.so.2', indexes: [], keyring: [] })).rejects.toMatchObject({ detail: { package: 'libc', missing: ['ld-linux-x86-64.so.2'] } });
    await copyFile('/lib64/ld-linux-x86-64.so.2', join(dir, 'libc', 'lib', 'ld-linux-x86-64.so.2'));
    await expect(checkLibraries([{ name: 'demo', dir: join(dir, 'pkg') }, { name: 'libc', dir: join(dir, 'libc') }], { interpreter: '/lib64/ld-linux-x86-64.so.2', indexes: [], keyring: [] })).resolves.toBeUndefined();
  });
});
