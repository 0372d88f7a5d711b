import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/apk/index.ts';
import { splitGzipMembers, tarEntries } from '../../src/package-builder/testing/apk-inspect.ts';
import { runKiln } from './cli-support.ts';
import type { CliRun } from './cli-support.ts';

// What `kiln pkg` says and refuses: signed outputs are never downgraded, unsigned outputs are called
// unsigned, keys are named, recipes given to lint are checked as recipes, counts read right. Builds
// use the fake runner on the host root (no sandbox needed), so every case is quick.

const RECIPE = `package:
  name: tool
  version: 1.0.0
pipeline:
  - runs: |
      echo building \${{package.name}} into \${{targets.destdir}}
      mkdir -p \${{targets.destdir}}/usr/share/tool
      echo hi > \${{targets.destdir}}/usr/share/tool/file
`;

let work: string;
let privateKey: string;
let publicKey: string;

const kiln = (args: string[], cwd = work): Promise<CliRun> => runKiln(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, cwd });
const fastAll = ['--runner', 'fake', '--bootstrap-host', '--arch', 'x86_64'];
const fast = [...fastAll, '--empty-workspace'];

/** Name and bytes of every output in DIR (packages, index, provenance; not build-all's hidden
 *  recipe cache), to show a refused run changed none. */
function snapshot(dir: string): Array<[string, string]> {
  return readdirSync(dir).filter((name) => !name.startsWith('.kiln-build-all-cache')).sort().map((name) => [name, readFileSync(join(dir, name)).toString('base64')]);
}

function indexSignatureNames(file: string): string[] {
  const members = splitGzipMembers(readFileSync(file));
  return members.length < 2 ? [] : [...tarEntries(members[0]!.content).keys()].filter((name) => name.startsWith('.SIGN.'));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kiln-e2e-pkg-messages-'));
  const keys = await generateSigningKey(join(work, 'builder'), 2048);
  privateKey = keys.privateKeyPath;
  publicKey = keys.publicKeyPath;
  writeFileSync(join(work, 'tool.yaml'), RECIPE);
});

describe('kiln pkg build and build-all never downgrade a signed index', () => {
  it('pkg build without --signing-key refuses to touch a signed output directory and says how to go on', async () => {
    const out = join(work, 'signed-out');
    const signed = await kiln(['pkg', 'build', 'tool.yaml', ...fast, '--out-dir', out, '--signing-key', privateKey]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stderr).not.toContain('NOT signed');
    const index = join(out, 'x86_64', 'APKINDEX.tar.gz');
    expect(indexSignatureNames(index)).toEqual(['.SIGN.RSA256.builder.rsa.pub']);
    const before = snapshot(join(out, 'x86_64'));

    const unsigned = await kiln(['pkg', 'build', 'tool.yaml', ...fast, '--out-dir', out]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain(`kiln: ${index} is signed (by builder.rsa.pub) and this run has no signing key, so updating it would replace it with an unsigned index; pass --signing-key KEY`);
    expect(unsigned.stderr).toContain('--no-generate-index');
    expect(unsigned.stderr).not.toContain('building tool'); // refused before any step ran
    expect(snapshot(join(out, 'x86_64'))).toEqual(before);
    expect(indexSignatureNames(index)).toEqual(['.SIGN.RSA256.builder.rsa.pub']);
  });

  it('pkg build-all without --signing-key refuses the same way', async () => {
    const recipes = mkdtempSync(join(work, 'recipes-'));
    writeFileSync(join(recipes, 'tool.yaml'), RECIPE);
    const out = join(work, 'signed-all-out');
    const signed = await kiln(['pkg', 'build-all', recipes, ...fastAll, '--out-dir', out, '--signing-key', privateKey]);
    expect(signed.code, signed.stderr).toBe(0);
    const index = join(out, 'x86_64', 'APKINDEX.tar.gz');
    const before = snapshot(join(out, 'x86_64'));
    writeFileSync(join(recipes, 'tool.yaml'), RECIPE.replace('1.0.0', '1.0.1'));
    const unsigned = await kiln(['pkg', 'build-all', recipes, ...fastAll, '--out-dir', out]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain(`kiln: ${index} is signed (by builder.rsa.pub) and this run has no signing key`);
    expect(snapshot(join(out, 'x86_64'))).toEqual(before);
  });

  it('pkg index without --signing-key refuses to overwrite a signed index', async () => {
    const out = join(work, 'index-out');
    expect((await kiln(['pkg', 'build', 'tool.yaml', ...fast, '--out-dir', out, '--signing-key', privateKey])).code).toBe(0);
    const apk = join(out, 'x86_64', 'tool-1.0.0-r0.apk');
    const index = join(work, 'APKINDEX-signed.tar.gz');
    const first = await kiln(['pkg', 'index', '-o', index, '--signing-key', privateKey, apk]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe(`wrote ${index} (1 package)\n`);
    const bytes = readFileSync(index);
    const refused = await kiln(['pkg', 'index', '-o', index, '--merge', apk]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`kiln: ${index} is signed (by builder.rsa.pub) and this run has no signing key`);
    expect(refused.stderr).toContain('pass --signing-key KEY to sign the new index, or write it elsewhere with -o/--output');
    expect(readFileSync(index).equals(bytes)).toBe(true);
  });
});

describe('kiln pkg says when outputs are not signed', () => {
  it('pkg build, build-all and index without a key print a NOT signed warning; --json says signed: false', async () => {
    const out = join(work, 'unsigned-out');
    const build = await kiln(['pkg', 'build', 'tool.yaml', ...fast, '--out-dir', out, '--json']);
    expect(build.code, build.stderr).toBe(0);
    const index = join(out, 'x86_64', 'APKINDEX.tar.gz');
    expect(build.stderr).toContain(`kiln: warning: NOT signed (no --signing-key was given): 1 package and the index ${index}; apk refuses unsigned packages and indexes`);
    expect(JSON.parse(build.stdout)).toMatchObject({ signed: false, index });
    expect(indexSignatureNames(index)).toEqual([]);

    const recipes = mkdtempSync(join(work, 'recipes-'));
    writeFileSync(join(recipes, 'tool.yaml'), RECIPE);
    const all = await kiln(['pkg', 'build-all', recipes, ...fastAll, '--out-dir', join(work, 'unsigned-all-out')]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stderr).toContain(`kiln: warning: NOT signed (no --signing-key was given): the packages of 1 recipe and the index ${join(work, 'unsigned-all-out', 'x86_64', 'APKINDEX.tar.gz')}`);

    const written = await kiln(['pkg', 'index', '-o', join(work, 'APKINDEX-unsigned.tar.gz'), join(out, 'x86_64', 'tool-1.0.0-r0.apk')]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toContain(`kiln: warning: NOT signed (no --signing-key was given): the index ${join(work, 'APKINDEX-unsigned.tar.gz')}`);
  });
});

describe('kiln pkg build log', () => {
  it('prefixes step output with the step as it runs, variables substituted', async () => {
    const result = await kiln(['pkg', 'build', 'tool.yaml', ...fast, '--out-dir', join(work, 'log-out')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^\[echo building tool into \/home\/build\/melange-out\/tool\] building tool into /m);
    expect(result.stderr).not.toContain('${{');
  });
});

describe('kiln pkg sign', () => {
  let apk: string;
  beforeAll(async () => {
    const out = join(work, 'sign-out');
    expect((await kiln(['pkg', 'build', 'tool.yaml', ...fast, '--out-dir', out, '--no-generate-index'])).code).toBe(0);
    apk = join(out, 'x86_64', 'tool-1.0.0-r0.apk');
  });

  it('without --signing-key names the default key file it looked for and how to go on', async () => {
    const cwd = mkdtempSync(join(work, 'no-key-'));
    const result = await kiln(['pkg', 'sign', apk], cwd);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`kiln: signing key ${join(cwd, 'local-melange.rsa')} (melange's default, as no --signing-key was given): no such file; pass --signing-key KEY, or create this key with \`kiln keygen --name local-melange\``);
  });

  it('names a missing --signing-key file, and refuses a public key where the private key belongs', async () => {
    const missing = await kiln(['pkg', 'sign', '--signing-key', 'absent.rsa', apk]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`kiln: signing key ${join(work, 'absent.rsa')} (--signing-key absent.rsa): no such file`);
    const pub = await kiln(['pkg', 'sign', '--signing-key', publicKey, apk]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toContain(`is a public key; signing needs the private key (${privateKey}?)`);
  });

  it('signs with --signing-key; -k, melange sign\'s spelling, still works but is hidden and warned about', async () => {
    const signed = await kiln(['pkg', 'sign', '--signing-key', privateKey, apk, '--json']);
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toEqual([{ file: apk, keyName: 'builder.rsa.pub' }]);
    expect(signed.stderr).toBe('');
    const short = await kiln(['pkg', 'sign', '-k', privateKey, apk]);
    expect(short.code, short.stderr).toBe(0);
    expect(short.stderr).toContain('kiln: warning: -k in `kiln pkg sign` is deprecated (everywhere else in kiln -k is a keyring of public keys); use --signing-key');
    const both = await kiln(['pkg', 'sign', '-k', privateKey, '--signing-key', privateKey, apk]);
    expect(both.code).toBe(2);
    const help = await kiln(['pkg', 'sign', '--help']);
    expect(help.stdout).toContain('--signing-key <KEY>');
    expect(help.stdout).not.toMatch(/-k\b/);
  });
});

describe('kiln pkg lint', () => {
  it('checks a recipe given in place of a package: loads and compiles it, naming it', async () => {
    const result = await kiln(['pkg', 'lint', 'tool.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`${join(work, 'tool.yaml')}: recipe tool-1.0.0-r0 loads and compiles for ${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}: 1 package (tool), 1 build step, 0 test steps; lint the built .apk files for package findings\n`);
    const json = await kiln(['pkg', 'lint', 'tool.yaml', '--arch', 'aarch64', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([{ file: join(work, 'tool.yaml'), findings: [], recipe: { origin: 'tool', version: '1.0.0-r0', arch: 'aarch64', packages: ['tool'], steps: 1, testSteps: 0 } }]);
  });

  it('reports a broken recipe with file:line:column, and names a file that is neither package nor recipe', async () => {
    writeFileSync(join(work, 'broken.yaml'), RECIPE.replace('${{package.name}}', '${{vars.missing}}'));
    const broken = await kiln(['pkg', 'lint', 'broken.yaml']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`kiln: ${join(work, 'broken.yaml')}:5:11: undefined variable \${{vars.missing}}`);
    writeFileSync(join(work, 'notes.txt'), 'not a package\n');
    const other = await kiln(['pkg', 'lint', 'notes.txt']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`kiln: ${join(work, 'notes.txt')}: not an .apk package (it is not gzip-compressed); kiln pkg lint checks built .apk files, and melange recipes (*.yaml)`);
    expect(existsSync(join(work, 'notes.txt'))).toBe(true);
  });
});
