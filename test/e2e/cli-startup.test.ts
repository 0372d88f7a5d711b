// `kiln --version` and help load only the CLI's own startup modules and commander: no command module
// and none of the services behind them (Sigstore, the registry server, SQLite, pino …). Runs the built
// CLI (npm run build; scripts/test.sh builds before the tests) with a module recorder, both as compiled
// modules and as the bundle the `kiln` bin runs.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const recorder = join(import.meta.dirname, 'record-modules.mjs');
/** The compiled modules, and the bundle `kiln` runs (scripts/bundle-cli.mjs), whose output files are
 *  mapped back to the compiled modules they hold through the bundle's metafile. */
const entries = [
  { name: 'compiled modules', main: join(root, 'dist/cli/main.js') },
  { name: 'bundle', main: join(root, 'dist/kiln.js'), meta: join(root, 'dist/bundle/meta.json') },
];

/** What the startup path may load: the entry, the program, the command outlines (and, for a command's
 *  help, every command's declaration), commander. */
const STARTUP = [/^dist\/cli\/(main|program|lazy-commands|command-outlines|command-manifest)\.js$/, /^node_modules\/commander\//, /^commander-builtin:/];
/** Named so that a failure says at once what came back into the startup path. */
const HEAVY = ['@sigstore/', 'better-sqlite3', 'fastify', 'pino', 'prom-client', 'yaml', 'zod', 'tar-stream', 'jose', 'dist/cli/commands/', 'dist/lib/'];

let dir: string;
beforeAll(async () => {
  for (const entry of entries) if (!existsSync(entry.main)) throw new Error(`${entry.main} is missing: run npm run build first`);
  dir = await mkdtemp(join(tmpdir(), 'kiln-cli-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each(entries)('kiln startup ($name)', ({ main, meta }) => {
  /** Runs the built `kiln ARGS` and returns its exit code, stdout and the project files it loaded
   *  (relative to the repository; Node's own modules left out; a bundle's files as the modules in them). */
  async function kiln(args: string[], name: string): Promise<{ code: number; stdout: string; loaded: string[]; builtins: string[] }> {
    const log = join(dir, `${name}-${meta ? 'bundle' : 'modules'}.log`);
    const { code, stdout } = await promisify(execFile)(process.execPath, ['--import', pathToFileURL(recorder).href, main, ...args], { cwd: dir, env: { ...process.env, KILN_MODULE_LOG: log } }).then(
      (done) => ({ code: 0, stdout: done.stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    const prefix = pathToFileURL(`${root}/`).href;
    const lines = (await readFile(log, 'utf8')).split('\n');
    const urls = lines.filter((url) => url.startsWith(prefix));
    const builtins = [...new Set(lines.filter((line) => line.startsWith('node:')))].sort();
    let files = [...new Set(urls.map((url) => url.slice(prefix.length)))];
    if (meta) {
      const { outputs } = JSON.parse(await readFile(meta, 'utf8')) as { outputs: Record<string, string[]> };
      files = files.flatMap((file) => {
        if (!file.startsWith('dist/')) return [file];
        const inputs = outputs[file];
        if (!inputs) throw new Error(`${file} was loaded but is not an output of the bundle`);
        return inputs;
      });
    }
    return { code, stdout, loaded: [...new Set(files)].sort(), builtins };
  }

  for (const args of [['--version'], ['--help'], ['image', '--help'], ['image', 'build', '--help'], ['help', 'registry'], ['download', 'sbom', '--help']]) {
    it(`loads no command module for kiln ${args.join(' ')}`, async () => {
      const run = await kiln(args, args.join('_'));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(args[0] === '--version' ? /^\d+\.\d+\.\d+\n$/ : /^Usage: kiln/);
      expect(run.loaded.filter((file) => HEAVY.some((heavy) => file.includes(heavy)))).toEqual([]);
      expect(run.loaded.filter((file) => !STARTUP.some((pattern) => pattern.test(file)))).toEqual([]);
      expect(run.loaded).toContain('dist/cli/command-outlines.js');
      // `kiln --version` and `kiln --help` read only the outlines, not every command's declaration.
      expect(run.loaded.includes('dist/cli/command-manifest.js')).toBe(args[0] !== '--version' && args[0] !== '--help');
      expect(run.builtins).toContain('node:fs');
      // The bundle holds commander, whose child_process (executable subcommands only) loads on use.
      if (meta) expect(run.builtins).not.toContain('node:child_process');
    });
  }

  it('loads the module of the command that runs, and no other command module', async () => {
    const run = await kiln(['keygen', '--bits', 'many'], 'keygen');
    expect(run.code).toBe(2);
    expect(run.loaded.filter((file) => file.startsWith('dist/cli/commands/'))).toEqual(['dist/cli/commands/keygen.js']);
    expect(run.loaded.filter((file) => /@sigstore|better-sqlite3|fastify|pino/.test(file))).toEqual([]);
  });

  it('resolves with the solver and the repository client, without the package reader, writer or installed database', async () => {
    const repo = join(root, 'test/fixtures/apk/apko-cli-packages');
    const args = ['apk', 'resolve', '-X', repo, '-k', join(repo, 'melange.rsa.pub'), '--arch', 'aarch64', '--cache-dir', join(dir, `cache-${meta ? 'bundle' : 'modules'}`), 'replayout'];
    const run = await kiln(args, 'apk-resolve-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Installing replayout');
    expect(run.loaded).toEqual(expect.arrayContaining(['dist/apk/solver/solve.js', 'dist/apk/repository/client.js', 'dist/apk/format/index-archive.js']));
    expect(run.loaded.filter((file) => /^dist\/apk\/(format\/(apk-reader|apk-writer|installed-db|pkginfo)|solver\/(simulate|test-file)|package\/package-files)\.js$/.test(file))).toEqual([]);
    expect(run.loaded.filter((file) => file.startsWith('dist/cli/commands/'))).toEqual(['dist/cli/commands/apk-resolve.js']);
  });

  it('loads a command whose help names the machine (apk resolve: --arch) to print that help', async () => {
    const run = await kiln(['apk', 'resolve', '--help'], 'apk-resolve');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('architecture to resolve for (default: ');
    expect(run.loaded.filter((file) => file.startsWith('dist/cli/commands/'))).toEqual(['dist/cli/commands/apk-resolve.js']);
  });
});
