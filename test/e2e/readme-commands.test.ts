// The README's commands, run as written: every `kiln` and `skopeo` line of its shell blocks, in
// order, with its placeholders (hosts, key and file names) mapped to local equivalents — a signed
// repository made by the README's own apk commands, Kiln's registry on loopback, the bundled demo
// image config. Optional `[--flags]` are included. Lines that build packages from the network are
// checked for syntax only (every flag must be one the command declares); all others must exit 0.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './cli-support.ts';
import { freePort, startKiln } from './registry-support.ts';
import type { ServerProcess } from './registry-support.ts';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** Every command line of the README's `sh` blocks, continuation lines joined, comments dropped. */
function readmeCommands(): string[] {
  const commands: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const text = block[1]!.replace(/\\\n\s*/g, ' ');
    for (const raw of text.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').replace(/^COSIGN_PASSWORD=\S+\s+/, '').trim();
      if (/^(kiln|skopeo) /.test(line)) commands.push(line);
    }
  }
  return commands;
}

/** `a|b` words become one command each; `[--opt value]` groups are kept without brackets. */
function expand(line: string): string[] {
  const words = line.replace(/\[([^\]]*)\]/g, '$1').split(/\s+/);
  const choice = words.findIndex((word) => word.includes('|'));
  if (choice < 0) return [words.join(' ')];
  return words[choice]!.split('|').flatMap((option) => expand([...words.slice(0, choice), option, ...words.slice(choice + 1)].join(' ')));
}

/** Lines that need the network or a package build from the internet (Kiln OS: test/e2e/kiln-os
 *  builds it), a server that runs until stopped (registry, catalog, factory serve and worker), or
 *  inputs the README only names (a recipe tree, a factory config, Fulcio; their own e2e tests run
 *  them): flags checked only. */
const SYNTAX_ONLY = [
  /^kiln pkg build /, /^kiln pkg build-all /, /^kiln pkg test /, /^kiln pkg check /, /^kiln registry serve /, /^kiln os build/,
  /^kiln catalog serve /, /^kiln factory /, /^kiln image (diff|reproduce|customize) /, /^kiln image publish .*--keyless/,
];
/** `kiln pkg sign …` and `kiln pkg index …` name no arguments at all: nothing to run or check. */
const ELIDED = /^kiln pkg (sign|index) …$/;

let work: string;
let server: ServerProcess;
let registry: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-readme-'));
  await mkdir(join(work, 'rootfs', 'usr', 'bin'), { recursive: true });
  await writeFile(join(work, 'rootfs', 'usr', 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  const port = await freePort();
  registry = `127.0.0.1:${port}`;
  server = await startKiln(join(work, 'registry-data'), [], port);
  // The README's image.yaml: the bundled demo config, with its fixture paths made absolute.
  const demo = readFileSync(join(root, 'examples', 'demo-image.yaml'), 'utf8').replaceAll('../test/fixtures', join(root, 'test', 'fixtures'));
  await writeFile(join(work, 'image.yaml'), demo);
  // The README's example recipe, taken from its yaml block.
  const recipe = /```yaml\n(package:[\s\S]*?)```/.exec(readme)![1]!;
  await writeFile(join(work, 'recipe.yaml'), recipe);
  await writeFile(join(work, 'policy.yaml'), `authorities:\n  release:\n    key: cosign.pub\nsignatures:\n  required: [release]\nattestations:\n  - type: spdxjson\n    authorities: [release]\n    maxAge: 30d\n`);
});

afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

/** The placeholders of a README line, mapped to this test's local equivalents. */
async function localize(command: string): Promise<string[]> {
  const repo = join(work, 'repo');
  const replaced = command
    .replaceAll('https://packages.wolfi.dev/os', repo)
    .replaceAll('wolfi-signing.rsa.pub', 'melange.rsa.pub')
    .replace(/-X REPO -k KEY/, `-X ${repo} -k melange.rsa.pub`)
    .replace(/ busybox$/, ' hello')
    .replaceAll('registry.example.com', registry)
    .replaceAll('127.0.0.1:5000', registry)
    .replaceAll('/var/lib/kiln', join(work, 'registry-data'))
    .replace('test/fixtures/apk/solver/*.test', `${join(root, 'test', 'fixtures', 'apk', 'solver')}/*.test`)
    .replace(/^kiln pkg lint …$/, 'kiln pkg lint recipe.yaml');
  const words: string[] = [];
  for (const word of replaced.split(/\s+/)) {
    if (!word.includes('*')) {
      words.push(word);
      continue;
    }
    const [dir, pattern] = word.includes('/') ? [word.slice(0, word.lastIndexOf('/')), word.slice(word.lastIndexOf('/') + 1)] : [work, word];
    const matcher = new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
    const matches = (await readdir(dir)).filter((name) => matcher.test(name)).sort();
    expect(matches.length, word).toBeGreaterThan(0);
    words.push(...matches.map((name) => (dir === work ? name : join(dir, name))));
  }
  return words;
}

/** Checks that every `--flag`/`-f` of a command is one its `--help` declares. */
async function expectKnownFlags(words: string[]): Promise<void> {
  const path = words.slice(1).filter((word, index, all) => !word.startsWith('-') && all.slice(0, index).every((before) => !before.startsWith('-')));
  let help = '';
  for (let depth = path.length; depth > 0 && !help; depth--) {
    const result = await runKiln([...path.slice(0, depth), '--help'], { cwd: work, env: {} });
    if (result.code === 0 && /Options:/.test(result.stdout)) help = result.stdout;
  }
  expect(help, words.join(' ')).not.toBe('');
  for (const flag of words.filter((word) => /^--?[A-Za-z]/.test(word))) {
    expect(help, `${words.join(' ')}: ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=<\\[]|$)`, 'm'));
  }
}

describe('README commands', () => {
  it('run as written, in order, with placeholders mapped to local equivalents', async () => {
    const commands = readmeCommands().flatMap(expand);
    expect(commands.length).toBeGreaterThan(30);
    const env = { HOME: work, DOCKER_CONFIG: join(work, '.docker'), COSIGN_PASSWORD: 'readme', SOURCE_DATE_EPOCH: '1700000000', XDG_CACHE_HOME: join(work, 'cache') };
    let ran = 0;
    for (const command of commands) {
      if (ELIDED.test(command)) continue;
      const words = await localize(command);
      if (words[0] === 'skopeo') {
        await exec('skopeo', words.slice(1), { cwd: work });
        ran++;
        continue;
      }
      if (SYNTAX_ONLY.some((pattern) => pattern.test(command))) {
        if (!command.includes('…')) await expectKnownFlags(words);
        continue;
      }
      // A build's dry run writes nothing; the README lists it as an option of the same line.
      const args = words.slice(1).filter((word) => !(command.startsWith('kiln image build') && word === '--dry-run'));
      if (command.startsWith('kiln registry gc') && !args.includes('--dry-run')) await server.stop();
      const result = await runKiln(args, { cwd: work, env });
      expect(result.code, `${command}\n→ kiln ${args.join(' ')}\n${result.stderr}`).toBe(0);
      ran++;
      if (command.startsWith('kiln apk index')) {
        // What the README's -X URL stands for: a repository laid out as URL/ARCH/APKINDEX.tar.gz.
        await mkdir(join(work, 'repo', 'x86_64'), { recursive: true });
        for (const name of ['APKINDEX.tar.gz', ...(await readdir(work)).filter((file) => file.endsWith('.apk'))]) await copyFile(join(work, name), join(work, 'repo', 'x86_64', name));
      }
    }
    // Whatever the README shows must mostly run, not only parse.
    expect(ran).toBeGreaterThan(20);
  });
});
