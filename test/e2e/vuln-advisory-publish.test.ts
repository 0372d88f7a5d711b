import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// `kiln advisory publish` as a user runs it: what it writes, and that an invalid advisories file
// stops it before anything is written.

let work: string;
const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, KILN_VULN_DB_DIR: join(work, 'vulndb') }, cwd: work });

const GOOD = 'package: zlib\nadvisories:\n  - id: CVE-2099-9001\n    events:\n      - { timestamp: 2099-01-01T00:00:00Z, type: detected }\n      - { timestamp: 2099-01-20T00:00:00Z, type: fixed, data: { version: 1.3-r1 } }\n';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-advisory-publish-e2e-'));
  await mkdir(join(work, 'advisories'));
  await writeFile(join(work, 'advisories', 'zlib.yaml'), GOOD);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kiln advisory publish', () => {
  it('writes secdb, OSV and SLA files; without an index every severity is unknown, said on stderr', async () => {
    const run = await kiln(['advisory', 'publish', 'advisories', '-o', 'out', '--urlprefix', 'https://packages.example/kiln']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe(`warning: ${join(work, 'vulndb', 'vuln.sqlite')}: no vulnerability index, so every SLA severity is unknown (run kiln vuln db update)\n`);
    expect(run.stdout).toContain(`${join(work, 'out', 'osv')}: 1 OSV records and all.zip\n`);
    const record = JSON.parse(await readFile(join(work, 'out', 'osv', 'x_KILN-CVE-2099-9001-zlib.json'), 'utf8')) as { aliases: string[]; affected: unknown[] };
    expect(record.aliases).toEqual(['CVE-2099-9001']);
    expect(record.affected).toEqual([{ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.3-r1' }] }], database_specific: { ecosystem: 'Kiln', name: 'zlib', purl: 'pkg:apk/kiln/zlib', status: 'affected' } }]);
    // Fixed after 19 days, within the 30 days allowed for an unknown severity.
    expect(await readFile(join(work, 'out', 'sla.csv'), 'utf8')).toBe('package,id,severity,detected,fixedVersion,fixedAt,daysOpen,slaDays,breached\nzlib,CVE-2099-9001,UNKNOWN,2099-01-01T00:00:00Z,1.3-r1,2099-01-20T00:00:00Z,19,30,false\n');
    const strict = await kiln(['advisory', 'publish', 'advisories', '-o', 'out', '--urlprefix', 'https://packages.example/kiln', '--sla', 'unknown=14']);
    expect(strict.code, strict.stderr).toBe(0);
    expect((await readFile(join(work, 'out', 'sla.csv'), 'utf8')).split('\n')[1]).toBe('zlib,CVE-2099-9001,UNKNOWN,2099-01-01T00:00:00Z,1.3-r1,2099-01-20T00:00:00Z,19,14,true');
  });

  it('refuses invalid advisories naming the file and line, and writes nothing', async () => {
    await writeFile(join(work, 'advisories', 'curl.yaml'), 'package: curl\nadvisories:\n  - id: CVE-2099-9002\n    events:\n      - { timestamp: 2099-01-01T00:00:00Z, type: fixed }\n');
    const run = await kiln(['advisory', 'publish', 'advisories', '-o', 'never', '--urlprefix', 'https://packages.example/kiln']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/curl\.yaml:5:\d+: advisories\[0\]\.events\[0\]/);
    expect(run.stderr).toContain('1 advisories files are invalid; nothing published');
    expect(existsSync(join(work, 'never'))).toBe(false);
    await rm(join(work, 'advisories', 'curl.yaml'));
  });
});
