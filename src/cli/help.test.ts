// Help and usage output of every command path, compared with a golden first captured from the CLI as
// it was before command modules loaded lazily, and with the same arguments run through the program
// with every command module loaded (UPDATE_GOLDEN=1 regenerates test/fixtures/cli/help.json from that).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliContext } from './context.ts';
import { hostArch } from './commands/apk-resolve.ts';
import { buildProgram, loadProgram, runCli } from './program.ts';

const goldenPath = join(import.meta.dirname, '../../test/fixtures/cli/help.json');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function context(output: { stdout: string; stderr: string }): CliContext {
  return {
    stdout: (text) => void (output.stdout += text),
    stderr: (text) => void (output.stderr += text),
    env: {},
    cwd: '/nonexistent',
    isTTY: false,
  };
}

// `--arch`'s help names the machine's architecture: the golden holds a placeholder.
const normalize = (text: string): string => text.replaceAll(`(default: ${hostArch()})`, '(default: <host arch>)');

async function run(argv: string[]): Promise<Run> {
  const output = { stdout: '', stderr: '' };
  const code = await runCli(argv, context(output));
  return { code, stdout: normalize(output.stdout), stderr: normalize(output.stderr) };
}

/** The same arguments through the program with every command module loaded, as before the CLI
 *  loaded them lazily (runCli's error handling for commander's errors, the only kind these raise). */
async function runLoaded(argv: string[]): Promise<Run> {
  const output = { stdout: '', stderr: '' };
  let code = 0;
  try {
    await (await loadProgram(context(output))).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    code = error.exitCode === 0 ? 0 : 2;
  }
  return { code, stdout: normalize(output.stdout), stderr: normalize(output.stderr) };
}

/** Every command path under `kiln`, parents before children, in registration order. */
function commandPaths(program: Command): string[][] {
  const paths: string[][] = [];
  const walk = (command: Command, path: string[]): void => {
    paths.push(path);
    for (const child of command.commands) walk(child, [...path, child.name()]);
  };
  walk(program, []);
  return paths;
}

/** The argument lists whose output is pinned: help of every path, the help command, version, and
 *  usage errors at each level (unknown command, unknown option, missing argument, bad choice). */
function cases(program: Command): string[][] {
  const paths = commandPaths(program);
  const groups = paths.filter((path) => path.length > 0 && paths.some((other) => other.length === path.length + 1 && path.every((name, i) => other[i] === name)));
  return [
    ...paths.map((path) => [...path, '--help']),
    ['-h'],
    ['help'],
    ...program.commands.map((command) => ['help', command.name()]),
    ['--version'],
    ['-V'],
    [],
    ['no-such-command'],
    ['--no-such-option'],
    ...groups.map((path) => [...path]),
    ...groups.map((path) => [...path, 'no-such-command']),
    ['keygen', '--no-such-option'],
    ['apk', 'resolve'],
    ['apk', 'index', 'x.apk'],
    ['pkg', 'build', '--runner', 'nope'],
    ['image', 'build', '--help', '--no-such-option'],
    ['image', 'build', 'a', 'b', 'c', 'd'],
    // Help reached without dispatch (`help X` in a group), and help flags before the subcommand.
    ['apk', 'help', 'resolve'],
    ['apk', 'help', 'info'],
    ['download', 'help', 'sbom'],
    ['image', '--help', 'build'],
    ['apk', '-h', 'resolve'],
    ['help', 'help'],
    ['keygen', 'help'],
  ];
}

describe('kiln help and usage output', () => {
  const program = (): Promise<Command> => buildProgram(context({ stdout: '', stderr: '' }));

  it('is unchanged for every command path (golden: test/fixtures/cli/help.json)', async () => {
    const loaded: Record<string, Run> = {};
    for (const argv of cases(await program())) loaded[JSON.stringify(argv)] = await runLoaded(argv);
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(goldenPath, `${JSON.stringify(loaded, null, 2)}\n`);
    const golden = JSON.parse(await readFile(goldenPath, 'utf8')) as Record<string, Run>;
    expect(Object.keys(loaded)).toEqual(Object.keys(golden));
    for (const [argv, result] of Object.entries(loaded)) expect(result, `kiln ${argv}`).toEqual(golden[argv]);
    expect(Object.keys(loaded).length).toBeGreaterThan(60);
  });

  it('is the same when only the command that runs is loaded (runCli)', async () => {
    const golden = JSON.parse(await readFile(goldenPath, 'utf8')) as Record<string, Run>;
    for (const argv of cases(await program())) expect(await run(argv), `kiln ${JSON.stringify(argv)}`).toEqual(golden[JSON.stringify(argv)]);
  });
});
