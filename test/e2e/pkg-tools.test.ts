import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/apk/index.ts';
import { splitGzipMembers, tarEntries } from '../../src/package-builder/testing/apk-inspect.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// kiln pkg test / lint / sign / index on packages built by kiln pkg build in bubblewrap.

const kiln = (args: string[]): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, cwd: process.cwd() });

const RECIPE = `package:
  name: tool
  version: 2.0.0
  copyright:
    - license: MIT
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/bin
      printf '#!/bin/sh\\necho tool says hi\\n' > \${{targets.destdir}}/usr/bin/tool
      chmod 755 \${{targets.destdir}}/usr/bin/tool
test:
  pipeline:
    - runs: tool | grep -q 'tool says hi'
`;

function verifyWith(publicKey: string, file: string): string {
  const [signature, control] = splitGzipMembers(readFileSync(file));
  const dir = mkdtempSync(join(tmpdir(), 'kiln-verify-'));
  const [name, body] = [...tarEntries(signature!.content)][0]!;
  writeFileSync(join(dir, 'sig'), body);
  writeFileSync(join(dir, 'control'), control!.bytes);
  return `${name} ${execFileSync('openssl', ['dgst', '-sha256', '-verify', publicKey, '-signature', join(dir, 'sig'), join(dir, 'control')], { encoding: 'utf8' }).trim()}`;
}

describe('kiln pkg test, lint, sign, index', () => {
  let dir: string;
  let apk: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-e2e-tools-'));
    writeFileSync(join(dir, 'tool.yaml'), RECIPE);
    const result = await kiln(['pkg', 'build', join(dir, 'tool.yaml'), '--bootstrap-host', '--out-dir', join(dir, 'out'), '--empty-workspace']);
    expect(result.code, result.stderr).toBe(0);
    apk = join(dir, 'out', 'x86_64', 'tool-2.0.0-r0.apk');
  });

  it('test runs the recipe test pipeline against the built package, and fails when it fails', async () => {
    const ok = await kiln(['pkg', 'test', join(dir, 'tool.yaml'), '--bootstrap-host', '--out-dir', join(dir, 'out'), '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ tested: [{ package: 'tool', steps: 1 }] });
    writeFileSync(join(dir, 'tool-broken-test.yaml'), RECIPE.replace("grep -q 'tool says hi'", "grep -q 'something else'"));
    const bad = await kiln(['pkg', 'test', join(dir, 'tool-broken-test.yaml'), '--bootstrap-host', '--out-dir', join(dir, 'out')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/test of tool failed: step "tool \| grep -q 'something else'"/);
  });

  it('sign replaces the signature with one openssl verifies under the new key', async () => {
    const keys = await generateSigningKey(join(dir, 'other'), 2048);
    const result = await kiln(['pkg', 'sign', '-k', keys.privateKeyPath, apk, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(verifyWith(keys.publicKeyPath, apk)).toBe('.SIGN.RSA256.other.rsa.pub Verified OK');
  });

  it('index writes a signed index and merges into an existing one', async () => {
    const keys = await generateSigningKey(join(dir, 'index'), 2048);
    const output = join(dir, 'APKINDEX.tar.gz');
    const first = await kiln(['pkg', 'index', '-o', output, '--signing-key', keys.privateKeyPath, apk, '--json']);
    expect(first.code, first.stderr).toBe(0);
    writeFileSync(join(dir, 'second.yaml'), RECIPE.replaceAll('tool', 'second'));
    expect((await kiln(['pkg', 'build', join(dir, 'second.yaml'), '--bootstrap-host', '--out-dir', join(dir, 'out2'), '--empty-workspace'])).code).toBe(0);
    const merged = await kiln(['pkg', 'index', '-o', output, '--merge', '--signing-key', keys.privateKeyPath, join(dir, 'out2', 'x86_64', 'second-2.0.0-r0.apk'), '--json']);
    expect(merged.code, merged.stderr).toBe(0);
    const [, index] = splitGzipMembers(readFileSync(output));
    const text = tarEntries(index!.content).get('APKINDEX')!.toString('utf8');
    expect([...text.matchAll(/^P:(.*)$/gm)].map((m) => m[1])).toEqual(['second', 'tool']);
    expect(verifyWith(keys.publicKeyPath, output)).toBe('.SIGN.RSA256.index.rsa.pub Verified OK');
  });

  it('lint passes clean packages and fails on a libtool archive', async () => {
    const clean = await kiln(['pkg', 'lint', apk, '--json']);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual([{ file: apk, findings: [] }]);
    writeFileSync(join(dir, 'la.yaml'), RECIPE.replaceAll('tool', 'la').replace('pipeline:\n  - runs: |\n', 'pipeline:\n  - runs: |\n      mkdir -p ${{targets.destdir}}/usr/lib && touch ${{targets.destdir}}/usr/lib/libx.la\n'));
    // the build itself refuses (required linter), so package a tree with a disabled check and lint that
    writeFileSync(join(dir, 'la.yaml'), readFileSync(join(dir, 'la.yaml'), 'utf8').replace('  copyright:', '  checks:\n    disabled:\n      - libtool/la-files\n  copyright:'));
    const built = await kiln(['pkg', 'build', join(dir, 'la.yaml'), '--bootstrap-host', '--out-dir', join(dir, 'out3'), '--empty-workspace']);
    expect(built.code, built.stderr).toBe(0);
    const lint = await kiln(['pkg', 'lint', join(dir, 'out3', 'x86_64', 'la-2.0.0-r0.apk')]);
    expect(lint.code).toBe(1);
    expect(lint.stderr).toMatch(/error: libtool\/la-files: usr\/lib\/libx\.la/);
  });
});
