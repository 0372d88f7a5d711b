import { describe, expect, it } from 'vitest';
import { BuildError } from '../errors.ts';
import { parseEnvFile } from './env-file.ts';

describe('parseEnvFile', () => {
  it('reads NAME=VALUE lines, comments, export prefixes and quoted values literally', () => {
    const text = '# build settings\n\nCFLAGS=-O2 -pipe\nexport GOFLAGS="-trimpath -mod=vendor"\nEMPTY=\nQUOTED=\'$HOME stays\'\nEQ=a=b\n';
    expect(parseEnvFile(text, 'build.env')).toEqual({ CFLAGS: '-O2 -pipe', GOFLAGS: '-trimpath -mod=vendor', EMPTY: '', QUOTED: '$HOME stays', EQ: 'a=b' });
  });

  it('unquotes an empty quoted value and leaves a lone or unmatched quote alone', () => {
    expect(parseEnvFile('A=""\nB=\'\'\nC="\nD="x\'\nE=\'x\'\n', 'build.env')).toEqual({ A: '', B: '', C: '"', D: '"x\'', E: 'x' });
  });

  it.each([
    ['JUST_A_NAME', 1],
    ['OK=1\n1BAD=2', 2],
    ['OK=1\n\nWITH SPACE=2', 3],
  ])('names the file and line of %j', (text, line) => {
    expect(() => parseEnvFile(text, 'build.env')).toThrow(BuildError);
    expect(() => parseEnvFile(text, 'build.env')).toThrow(`build.env:${line}: expected NAME=VALUE`);
  });
});
