import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isElf, parseElf } from './elf.ts';

// The parser against binutils' readelf on the machine's own binaries and libraries.
function readelfDynamic(file: string): { needed: string[]; soname?: string } {
  const out = execFileSync('readelf', ['-dW', file], { encoding: 'utf8' });
  const needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]!);
  const soname = /\(SONAME\)\s+Library soname: \[(.+?)\]/.exec(out)?.[1];
  return soname === undefined ? { needed } : { needed, soname };
}

function readelfInterp(file: string): string | undefined {
  const out = execFileSync('readelf', ['-lW', file], { encoding: 'utf8' });
  return /\[Requesting program interpreter: (.+?)\]/.exec(out)?.[1];
}

describe('parseElf against readelf', () => {
  const candidates = [
    ...readdirSync('/usr/bin').slice(0, 40).map((name) => join('/usr/bin', name)),
    ...readdirSync('/usr/lib/x86_64-linux-gnu').filter((name) => /\.so\.\d+$/.test(name)).slice(0, 40).map((name) => join('/usr/lib/x86_64-linux-gnu', name)),
  ]
    .map((path) => realpathSync(path))
    .filter((path, index, all) => all.indexOf(path) === index && statSync(path).isFile());
  const elves = candidates.filter((path) => isElf(readFileSync(path).subarray(0, 4)));

  it('finds enough ELF files to compare', () => {
    expect(elves.length).toBeGreaterThan(20);
  });

  it('agrees on NEEDED, SONAME and the interpreter for every file', () => {
    for (const file of elves) {
      const info = parseElf(readFileSync(file), file);
      const expected = readelfDynamic(file);
      expect({ file, needed: info.needed, soname: info.soname }).toEqual({ file, needed: expected.needed, soname: expected.soname });
      expect({ file, interpreter: info.interpreter }).toEqual({ file, interpreter: readelfInterp(file) });
    }
  });
});
