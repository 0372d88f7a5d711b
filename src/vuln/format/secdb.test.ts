import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSecdb } from './secdb.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'vuln');

describe('parseSecdb', () => {
  it('reads Alpine secdb: fixed versions, "0" as not affected, extra ids as aliases, the ecosystem from the header', () => {
    const feed = parseSecdb(readFileSync(join(fixtures, 'alpine-3.16-secdb.json'), 'utf8'), { feed: 'alpine' });
    expect(feed.affected).toEqual([
      { feed: 'alpine', ecosystem: 'alpine:3.16', package: 'openssl', vulnerability: 'CVE-2099-1001', aliases: [], status: 'affected', ranges: [{ fixed: '1.1.1q-r1' }], versions: [] },
      { feed: 'alpine', ecosystem: 'alpine:3.16', package: 'openssl', vulnerability: 'CVE-2099-1002', aliases: [], status: 'affected', ranges: [{ fixed: '1.1.1q-r0' }], versions: [] },
      { feed: 'alpine', ecosystem: 'alpine:3.16', package: 'busybox', vulnerability: 'CVE-2099-1003', aliases: [], status: 'not-affected', ranges: [], versions: [] },
      { feed: 'alpine', ecosystem: 'alpine:3.16', package: 'busybox', vulnerability: 'CVE-2099-1004', aliases: [], status: 'affected', ranges: [{ fixed: '1.35.0_p1-r0' }], versions: [] },
      { feed: 'alpine', ecosystem: 'alpine:3.16', package: 'zlib', vulnerability: 'CVE-2099-1005', aliases: [], status: 'affected', ranges: [{ fixed: '1.2.12_rc1-r0' }], versions: [] },
      { feed: 'alpine', ecosystem: 'alpine:3.16', package: 'musl', vulnerability: 'CVE-2099-1008', aliases: ['XSA-0001'], status: 'affected', ranges: [{ fixed: '1.2.3-r1' }], versions: [] },
    ]);
  });

  it('skips malformed entries with a warning naming feed, record and field, and keeps the rest', () => {
    const feed = parseSecdb(readFileSync(join(fixtures, 'alpine-3.16-secdb.json'), 'utf8'), { feed: 'alpine' });
    expect(feed.warnings.map(({ feed: name, record, field }) => `${name} ${record} ${field}`)).toEqual([
      'alpine packages[3] packages[3].pkg.name',
      'alpine musl packages[4].pkg.secfixes.not a version!',
      'alpine musl packages[4].pkg.secfixes.1.2.3-r1',
    ]);
  });

  it('refuses a secdb whose distribution it cannot tell, and takes the configured ecosystem otherwise', () => {
    const text = readFileSync(join(fixtures, 'wolfi-style-secdb.json'), 'utf8');
    expect(() => parseSecdb(text, { feed: 'w' })).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID', message: expect.stringContaining('set "ecosystem" for this feed') }));
    const feed = parseSecdb(text, { feed: 'w', ecosystem: 'wolfi' });
    expect(new Set(feed.affected.map((record) => record.ecosystem))).toEqual(new Set(['wolfi']));
    expect(feed.affected).toHaveLength(5);
  });

  it('refuses what is not a secdb at all', () => {
    expect(() => parseSecdb('[1, 2]', { feed: 'x' })).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID' }));
    expect(() => parseSecdb('{"packages": ', { feed: 'x' })).toThrow(expect.objectContaining({ code: 'VULN_FEED_INVALID' }));
  });
});
