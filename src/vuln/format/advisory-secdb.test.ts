import { describe, expect, it } from 'vitest';
import { parseAdvisoryFile } from './advisory.ts';
import { advisoriesToSecdb } from './advisory-secdb.ts';
import { parseSecdb } from './secdb.ts';

const ZLIB = `package: zlib
advisories:
  - id: CVE-2099-5003
    events: [{ timestamp: 2099-01-01, type: fixed, data: { version: 1.3.1-r10 } }]
  - id: CVE-2099-5001
    events: [{ timestamp: 2099-01-01, type: fixed, data: { version: 1.3.1_rc1-r0 } }]
  - id: CVE-2099-5002
    events: [{ timestamp: 2099-01-01, type: false-positive, data: { reason: "another zlib" } }]
  - id: CVE-2099-5004
    events: [{ timestamp: 2099-01-01, type: pending-upstream }]
  - id: CVE-2099-5005
    events: [{ timestamp: 2099-01-01, type: fixed, data: { version: 1.3.1-r2 } }]
`;
const OPEN = `package: busybox
advisories:
  - id: CVE-2099-5010
    events: [{ timestamp: 2099-01-01, type: detected }]
`;

describe('advisoriesToSecdb', () => {
  it('writes fixed versions in apk order and "0" for not affected, leaves open advisories out, and reads back', () => {
    const files = [{ file: parseAdvisoryFile(ZLIB, 'zlib.yaml', 'zlib') }, { file: parseAdvisoryFile(OPEN, 'busybox.yaml', 'busybox') }];
    const secdb = advisoriesToSecdb(files, { reponame: 'os', urlprefix: 'https://packages.example.invalid', archs: ['x86_64', 'aarch64'] });
    expect(secdb).toEqual({
      apkurl: '{{urlprefix}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
      archs: ['aarch64', 'x86_64'],
      reponame: 'os',
      urlprefix: 'https://packages.example.invalid',
      packages: [{ pkg: { name: 'zlib', secfixes: { '0': ['CVE-2099-5002'], '1.3.1_rc1-r0': ['CVE-2099-5001'], '1.3.1-r2': ['CVE-2099-5005'], '1.3.1-r10': ['CVE-2099-5003'] } } }],
    });
    expect(Object.keys((secdb.packages as Array<{ pkg: { secfixes: object } }>)[0]!.pkg.secfixes)).toEqual(['0', '1.3.1_rc1-r0', '1.3.1-r2', '1.3.1-r10']);
    const back = parseSecdb(JSON.stringify(secdb), { feed: 'kiln', ecosystem: 'wolfi' });
    expect(back.warnings).toEqual([]);
    expect(back.affected.map((record) => `${record.vulnerability} ${record.status} ${record.ranges[0]?.fixed ?? ''}`).sort()).toEqual([
      'CVE-2099-5001 affected 1.3.1_rc1-r0',
      'CVE-2099-5002 not-affected ',
      'CVE-2099-5003 affected 1.3.1-r10',
      'CVE-2099-5005 affected 1.3.1-r2',
    ]);
  });
});
