import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ET_DYN, ET_EXEC } from './format/elf.ts';
import { buildTestElf as buildElf } from '../lib/elf-testing.ts';
import { analyzePackage, pkgConfigRequires, shebangInterpreter } from './sca.ts';
import type { ScaPackage } from './sca.ts';

function tree(files: Record<string, string | Uint8Array | { link: string } | { mode: number; content: string | Uint8Array }>): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-sca-'));
  for (const [path, spec] of Object.entries(files)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof spec === 'object' && 'link' in spec) symlinkSync(spec.link, abs);
    else if (typeof spec === 'object' && 'mode' in spec) {
      writeFileSync(abs, spec.content);
      chmodSync(abs, spec.mode);
    } else writeFileSync(abs, spec);
  }
  return root;
}

const lib = buildElf({ is64: true, little: true, type: ET_DYN, needed: ['libc.so.6'], soname: 'libdemo.so.1' });
const exe = buildElf({ is64: true, little: true, type: ET_EXEC, interp: '/lib64/ld-linux-x86-64.so.2', needed: ['libdemo.so.1', 'libc.so.6', 'libweird.so'] });

describe('analyzePackage', () => {
  it('derives so:, cmd:, pc: and shebang dependencies like melange', async () => {
    const main: ScaPackage = {
      name: 'demo',
      runtime: ['busybox'],
      provides: [],
      dir: tree({
        'usr/lib/libdemo.so.1.2.3': lib,
        'usr/lib/libdemo.so.1': { link: 'libdemo.so.1.2.3' },
        'usr/bin/demo': { mode: 0o755, content: exe },
        'usr/bin/demo-script': { mode: 0o755, content: '#!/usr/bin/env perl\nprint 1\n' },
        'usr/bin/shell-script': { mode: 0o755, content: '#!/bin/sh\necho\n' },
        'usr/bin/not-exec': { mode: 0o644, content: 'x' },
        'opt/vendor/libvendored.so.3': buildElf({ is64: true, little: true, type: ET_DYN, needed: [], soname: 'libvendored.so.3' }),
      }),
    };
    const dev: ScaPackage = {
      name: 'demo-dev',
      runtime: [],
      provides: [],
      dir: tree({
        'usr/lib/libdemo.so': { link: 'libdemo.so.1.2.3' },
        'usr/lib/pkgconfig/demo.pc': 'Name: demo\nRequires: zlib >= 1.2, libfoo\nRequires.private: bar\n',
      }),
    };
    const result = await analyzePackage(main, [main, dev], '1.2.3-r0');
    expect(result.provides).toEqual(['cmd:demo-script=1.2.3-r0', 'cmd:demo=1.2.3-r0', 'cmd:shell-script=1.2.3-r0', 'so-ver:libdemo.so.1=1.2.3-r0', 'so:libdemo.so.1=1']);
    // own library dropped, libweird.so has no ".so." and is not a dependency, vendored lib not provided
    expect(result.depends).toEqual(['busybox', 'cmd:perl', 'so:ld-linux-x86-64.so.2', 'so:libc.so.6']);
    expect(result.vendored).toEqual(['so:libvendored.so.3=3']);
    const devResult = await analyzePackage(dev, [main, dev], '1.2.3-r0');
    expect(devResult.depends).toEqual(['pc:bar', 'pc:libfoo', 'pc:zlib', 'so:libdemo.so.1']);
    expect(devResult.provides).toEqual(['pc:demo=1.2.3-r0']);
  });

  it('honours no-commands, no-depends and no-provides, keeping explicit entries', async () => {
    const dir = tree({ 'usr/bin/demo': { mode: 0o755, content: exe }, 'usr/lib/libdemo.so.1': lib });
    const base = { name: 'demo', dir, runtime: ['explicit-dep'], provides: ['explicit=1'] };
    const noCommands = await analyzePackage({ ...base, options: { noCommands: true } }, [], '1-r0');
    expect(noCommands.provides.some((entry) => entry.startsWith('cmd:'))).toBe(false);
    const none = await analyzePackage({ ...base, options: { noDepends: true, noProvides: true } }, [], '1-r0');
    expect(none.depends).toEqual(['explicit-dep']);
    expect(none.provides).toEqual(['explicit=1']);
  });

  it('adds -doc helpers and language runtimes', async () => {
    const doc = await analyzePackage({ name: 'x-doc', runtime: [], provides: [], dir: tree({ 'usr/share/man/x.1': 'x', 'usr/share/info/x.info': 'x' }) }, [], '1-r0');
    expect(doc.depends).toEqual(['man-db', 'texinfo']);
    const py = await analyzePackage({ name: 'py', runtime: [], provides: [], dir: tree({ 'usr/lib/python3.12/site-packages/x/__init__.py': '' }) }, [], '1-r0');
    expect(py.depends).toEqual(['python-3.12-base']);
  });
});

describe('helpers', () => {
  it('parses pkg-config requirements', () => {
    expect(pkgConfigRequires('Requires: a >= 1, b\nRequires.private: c<2 d\nLibs: -lx\n')).toEqual(['a', 'b', 'c', 'd']);
  });
  it.each([
    ['#!/bin/sh\n', 'sh'],
    ['#!/usr/bin/env python3\n', 'python3'],
    ['#!/usr/bin/env -S perl -w\n', 'perl'],
    ['#!/usr/bin/perl -w\n', 'perl'],
  ])('shebang %j → %s', (head, command) => {
    expect(shebangInterpreter(head).command).toBe(command);
  });
  it('warns on env forms it cannot read', () => {
    expect(shebangInterpreter('#!/usr/bin/env -i FOO=1 bar\n').warning).toMatch(/unsupported env shebang/);
  });
});
