// The manifest kiln declares its commands from must match the commands' real registrations, on any
// machine; UPDATE_GOLDEN=1 rewrites it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_MANIFEST_JSON } from './command-manifest.ts';
import { COMMAND_OUTLINES } from './command-outlines.ts';
import type { CliContext } from './context.ts';
import { loadAll, outlineOf } from './lazy-commands.ts';
import type { DeclaredCommand } from './lazy-commands.ts';
import { commandShape, manifestSource, outlinesSource, PROBE_ARCH, recordManifest } from './manifest-generator.ts';
import { buildProgram, COMMAND_STEPS, createRoot, loadProgram } from './program.ts';

const manifestPath = join(import.meta.dirname, 'command-manifest.ts');
const outlinesPath = join(import.meta.dirname, 'command-outlines.ts');
const quiet: CliContext = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: '/', isTTY: false };

const COMMAND_MANIFEST = Object.values(COMMAND_MANIFEST_JSON).map((text) => JSON.parse(text) as DeclaredCommand);

function find(commands: readonly DeclaredCommand[], path: string[]): DeclaredCommand | undefined {
  const [name, ...rest] = path;
  const command = commands.find((c) => c.name === name);
  return rest.length ? find(command?.commands ?? [], rest) : command;
}

describe('command manifest', () => {
  it('is recorded from the real registrations (UPDATE_GOLDEN=1 rewrites src/cli/command-manifest.ts and command-outlines.ts)', async () => {
    const manifest = recordManifest(createRoot, COMMAND_STEPS, await loadAll(COMMAND_STEPS));
    if (process.env.UPDATE_GOLDEN === '1') {
      await writeFile(manifestPath, manifestSource(manifest));
      await writeFile(outlinesPath, outlinesSource(manifest));
    }
    expect(COMMAND_MANIFEST).toEqual(manifest);
    expect(Object.keys(COMMAND_MANIFEST_JSON)).toEqual(manifest.map((command) => command.name));
    expect(COMMAND_OUTLINES).toEqual(manifest.map(outlineOf));
    expect(await readFile(manifestPath, 'utf8')).toBe(manifestSource(manifest));
    expect(await readFile(outlinesPath, 'utf8')).toBe(outlinesSource(manifest));
  });

  it('declares commands commander cannot tell from the real ones, except for machine-dependent help', async () => {
    const real = await loadProgram(quiet);
    const declared = await buildProgram(quiet);
    expect(declared.commands.map((command) => command.name())).toEqual(real.commands.map((command) => command.name()));
    const differing = real.commands.filter((command, i) => JSON.stringify(commandShape(command)) !== JSON.stringify(commandShape(declared.commands[i]!)));
    // apk resolve and fetch show the machine's architecture as --arch's default; nothing else may differ.
    expect(differing.map((command) => command.name())).toEqual(['apk']);
  });

  it('marks exactly the commands whose help names the machine, and records them machine-independently', () => {
    const declared = COMMAND_MANIFEST;
    const marked: string[] = [];
    const walk = (commands: readonly DeclaredCommand[], path: string[]): void => {
      for (const command of commands) {
        if (command.hostDependent) marked.push([...path, command.name].join(' '));
        walk(command.commands ?? [], [...path, command.name]);
      }
    };
    walk(declared, []);
    expect(marked).toEqual(['apk resolve', 'apk fetch']);
    const arch = find(declared, ['apk', 'resolve'])?.options?.find((option) => option.flags === '--arch <ARCH>');
    expect(arch?.description).toBe(`architecture to resolve for (default: ${PROBE_ARCH})`);
  });
});
