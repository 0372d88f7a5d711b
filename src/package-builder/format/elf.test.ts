import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BuildError } from '../errors.ts';
import { ET_DYN, ET_EXEC, isElf, parseElf } from './elf.ts';
import { buildTestElf as buildElf } from '../../lib/elf-testing.ts';

describe('parseElf', () => {
  it.each([
    [true, true],
    [false, true],
    [true, false],
    [false, false],
  ])('reads interpreter, NEEDED, SONAME and RUNPATH (64-bit %s, little-endian %s)', (is64, little) => {
    const bytes = buildElf({ is64, little, type: ET_EXEC, interp: '/lib/ld-musl-x86_64.so.1', needed: ['libz.so.1', 'libc.musl-x86_64.so.1'], runpath: '/opt/a:/opt/b' });
    const info = parseElf(bytes, 'bin/x');
    expect(info).toMatchObject({ is64, littleEndian: little, type: ET_EXEC, interpreter: '/lib/ld-musl-x86_64.so.1', needed: ['libz.so.1', 'libc.musl-x86_64.so.1'], runpath: ['/opt/a', '/opt/b'] });
    expect(info.soname).toBeUndefined();
    const lib = parseElf(buildElf({ is64, little, type: ET_DYN, needed: ['libc.so.6'], soname: 'libz.so.1' }), 'lib');
    expect(lib.soname).toBe('libz.so.1');
    expect(lib.interpreter).toBeUndefined();
  });

  it('rejects non-ELF input and truncations with ELF_INVALID, never a raw exception', () => {
    expect(isElf(new TextEncoder().encode('#!/bin/sh\n'))).toBe(false);
    const bytes = buildElf({ is64: true, little: true, type: ET_DYN, interp: '/lib/ld.so', needed: ['libfoo.so.1'], soname: 'libbar.so.2' });
    fc.assert(
      fc.property(fc.integer({ min: 4, max: bytes.length - 1 }), (length) => {
        try {
          parseElf(bytes.subarray(0, length), 'cut');
          return true;
        } catch (error) {
          return error instanceof BuildError && error.code === 'ELF_INVALID' && error.message.startsWith('cut: ');
        }
      }),
    );
  });

  it('survives arbitrary corruption of header bytes with typed errors only', () => {
    const bytes = buildElf({ is64: true, little: true, type: ET_DYN, needed: ['a.so.1'], soname: 'b.so.1' });
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 120 }), fc.integer({ min: 0, max: 255 }), (offset, value) => {
        const copy = bytes.slice();
        copy[offset] = value;
        try {
          parseElf(copy, 'x');
          return true;
        } catch (error) {
          return error instanceof BuildError && error.code === 'ELF_INVALID';
        }
      }),
    );
  });
});
