import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRecords, parseRecords } from './record.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'apk');

function indexText(path: string): string {
  // Read through GNU tar here so this test checks the record layer alone, independent of Kiln's tar reader.
  return execFileSync('tar', ['-xzOf', path, 'APKINDEX'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('APKINDEX records', () => {
  it('round-trips the real Alpine 3.17 index byte for byte', () => {
    const text = indexText(join(fixtures, 'apko', 'alpine-317', 'APKINDEX.tar.gz'));
    const records = parseRecords(text);
    expect(records).toHaveLength(5004);
    expect(formatRecords(records)).toBe(text);
  });

  it('keeps every field of a record', () => {
    const [record] = parseRecords('C:Q1abc=\nP:a\nV:1.0-r0\nA:x86_64\nS:10\nI:20\nT:d\nU:u\nL:MIT\no:a\nm:me\nt:5\nc:ff\nk:9\nD:b c>1\np:so:x.so=1 cmd:a\ni:d e\nz:future\n');
    expect(record).toMatchObject({
      identity: 'Q1abc=', name: 'a', version: '1.0-r0', arch: 'x86_64', size: 10, installedSize: 20,
      description: 'd', url: 'u', license: 'MIT', origin: 'a', maintainer: 'me', buildTime: 5, commit: 'ff',
      providerPriority: 9, depends: ['b', 'c>1'], provides: ['so:x.so=1', 'cmd:a'], installIf: ['d', 'e'],
      unknown: [['z', 'future']],
    });
  });

  it('refuses a record without an identity, naming the line', () => {
    expect(() => parseRecords('P:a\nV:1\n', { source: 'idx' })).toThrow(/idx:1: record has no C: field/);
  });

  it('refuses unknown upper-case fields unless allowed', () => {
    expect(() => parseRecords('C:Q1x=\nP:a\nV:1\nX:?\n')).toThrow(/unknown field X:/);
    expect(parseRecords('C:Q1x=\nP:a\nV:1\nX:?\n', { allowUnknownUpperCase: true })[0]!.unknown).toEqual([['X', '?']]);
  });

  it('refuses malformed numbers and lines', () => {
    expect(() => parseRecords('C:Q1x=\nP:a\nV:1\nS:12a\n')).toThrow(/S: is not a decimal number/);
    expect(() => parseRecords('C:Q1x=\nP:a\nnonsense\n')).toThrow(/:3: expected "letter:value"/);
  });
});
