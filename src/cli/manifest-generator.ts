// Records command-manifest.ts from the real registrations (every command module loaded), and checks
// that commands declared from it are, to commander, the same as the real ones. Used by
// command-manifest.test.ts (UPDATE_GOLDEN=1 rewrites the manifest); never loaded by a run of kiln.
import { Argument, Option } from 'commander';
import type { Command } from 'commander';
import type { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { CliContext } from './context.ts';
import { declareCommands, isGroupCommand, outlineOf, registerAll } from './lazy-commands.ts';
import type { CommandStep, DeclaredArgument, DeclaredCommand, DeclaredOption, LazyCommand, RegisterCommand } from './lazy-commands.ts';

/** The architecture the manifest is recorded under, so that it is the same on every machine. */
export const PROBE_ARCH = 'host-arch';

const quiet: CliContext = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: '/', isTTY: false };
const probeContext: CliContext = { ...quiet, env: { HOME: '/probe-home', XDG_CACHE_HOME: '/probe-cache' }, cwd: '/probe-cwd', isTTY: true };

/** Own fields of `value` that differ from `fresh` (parsers aside), which must survive JSON. */
function changedFields(value: object, fresh: object, what: string): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'parseArg' || isDeepStrictEqual(field, (fresh as Record<string, unknown>)[key])) continue;
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify({ field })), { field })) throw new Error(`${what}: ${key} cannot be recorded in the command manifest (not plain JSON)`);
    fields[key] = field;
  }
  return Object.keys(fields).length ? fields : undefined;
}

function argumentUsage(argument: Argument): string {
  const name = `${argument.name()}${argument.variadic ? '...' : ''}`;
  return argument.required ? `<${name}>` : `[${name}]`;
}

function describeOption(option: Option, where: string): DeclaredOption {
  const fields = changedFields(option, new Option(option.flags, option.description), `${where} ${option.flags}`);
  return { flags: option.flags, description: option.description, ...(fields ? { fields } : {}), ...(option.parseArg ? { parser: true as const } : {}) };
}

function describeArgument(argument: Argument, where: string): DeclaredArgument {
  const usage = argumentUsage(argument);
  const fields = changedFields(argument, new Argument(usage, argument.description), `${where} ${usage}`);
  return { usage, description: argument.description, ...(fields ? { fields } : {}), ...(argument.parseArg ? { parser: true as const } : {}) };
}

// Commander keeps these as private fields; the manifest needs to know only whether there is an action.
function hasAction(command: Command): boolean {
  return Boolean((command as unknown as { _actionHandler: unknown })._actionHandler);
}

function describe(command: Command, path: readonly string[], lazy: ReadonlySet<string>): DeclaredCommand {
  const where = `kiln ${path.join(' ')}`;
  const described: DeclaredCommand = { name: command.name(), description: command.description() };
  if (command.summary()) described.summary = command.summary();
  if (command.aliases().length) described.aliases = command.aliases();
  if (command.registeredArguments.length) described.arguments = command.registeredArguments.map((argument) => describeArgument(argument, where));
  if (command.options.length) described.options = command.options.map((option) => describeOption(option, where));
  if (command.commands.length) described.commands = command.commands.map((child) => describe(child, [...path, child.name()], lazy));
  if (hasAction(command)) described.action = true;
  if (lazy.has(path.join(' '))) described.lazy = true;
  return described;
}

/** What help shows of a command in its parent's list; it must not depend on the machine. */
function listing(command: DeclaredCommand): unknown {
  return [command.name, command.description, command.summary, command.aliases, command.arguments?.map((argument) => argument.usage), Boolean(command.options?.length)];
}

function markHostDependent(base: DeclaredCommand, probe: DeclaredCommand, path: string): void {
  if (!isDeepStrictEqual(listing(base), listing(probe))) throw new Error(`kiln ${path}: how its parent lists it depends on the machine; only option and argument help may`);
  if (probe.lazy && !isDeepStrictEqual(base, probe)) {
    probe.hostDependent = true;
    return;
  }
  if (base.commands?.length !== probe.commands?.length) throw new Error(`kiln ${path}: its subcommands depend on the machine`);
  probe.commands?.forEach((child, i) => markHostDependent(base.commands![i]!, child, `${path} ${child.name}`));
}

function withArch<T>(arch: string, run: () => T): T {
  const actual = Object.getOwnPropertyDescriptor(process, 'arch')!;
  Object.defineProperty(process, 'arch', { ...actual, value: arch });
  try {
    return run();
  } finally {
    Object.defineProperty(process, 'arch', actual);
  }
}

// Runtime state and wiring that commander keeps on a command, which the declaration need not copy.
const NOT_SETTINGS = new Set([
  'commands', 'options', 'registeredArguments', '_args', 'parent', 'args', 'rawArgs', 'processedArgs', '_optionValues', '_optionValueSources',
  '_savedState', '_scriptPath', '_events', '_eventsCount', '_maxListeners', '_lifeCycleHooks', '_actionHandler', '_outputConfiguration', '_exitCallback', '_helpCommand',
  // Declared commands whose help depends on the machine replace outputHelp to load the real one.
  'outputHelp',
]);

/** Everything about a command that can change its help or parsing, in comparable form. */
export function commandShape(command: Command): unknown {
  const settings = Object.entries(command).filter(([key]) => !NOT_SETTINGS.has(key)).map(([key, value]) => [key, JSON.stringify(value)]);
  return {
    settings,
    events: (command as unknown as EventEmitter).eventNames().map((name) => [String(name), (command as unknown as EventEmitter).listenerCount(name)]),
    action: hasAction(command),
    arguments: command.registeredArguments.map((argument) => describeArgument(argument, '')),
    options: command.options.map((option) => describeOption(option, '')),
    commands: command.commands.map(commandShape),
  };
}

function assertNoHooks(command: Command, path: string): void {
  const hooks = Object.keys((command as unknown as { _lifeCycleHooks: object })._lifeCycleHooks);
  if (hooks.length) throw new Error(`kiln ${path}: lifecycle hooks (${hooks.join(', ')}) are not recorded in the command manifest`);
  for (const child of command.commands) assertNoHooks(child, `${path} ${child.name()}`.trim());
}

/** Records the manifest: every command as registered for real, with the architecture and the CLI
 *  context replaced by placeholders; subtrees whose help changes with them are marked. Throws when
 *  commands declared from the result would differ from the real ones in anything but their action. */
export function recordManifest(
  createRoot: (context: CliContext) => Command,
  steps: readonly CommandStep[],
  loaded: ReadonlyMap<LazyCommand, RegisterCommand>,
): DeclaredCommand[] {
  const lazy = new Set(steps.filter((step): step is LazyCommand => !isGroupCommand(step)).map((step) => [...step.parent, step.name].join(' ')));
  const real = (context: CliContext, arch: string): Command =>
    withArch(arch, () => {
      const root = createRoot(context);
      registerAll(root, steps, loaded, context);
      return root;
    });
  const base = real(quiet, process.arch);
  assertNoHooks(base, '');
  const probe = real(probeContext, PROBE_ARCH);
  const basic = base.commands.map((command) => describe(command, [command.name()], lazy));
  const manifest = probe.commands.map((command) => describe(command, [command.name()], lazy));
  if (basic.length !== manifest.length) throw new Error('kiln: the top-level commands depend on the machine');
  manifest.forEach((command, i) => markHostDependent(basic[i]!, command, command.name));

  const declared = createRoot(probeContext);
  declareCommands(declared, { outlines: manifest.map(outlineOf), whole: (name) => manifest.find((command) => command.name === name) }, steps, new Map(), probeContext);
  probe.commands.forEach((command, i) => {
    const copy = declared.commands[i];
    if (!copy || !isDeepStrictEqual(commandShape(command), commandShape(copy))) {
      throw new Error(`kiln ${command.name()}: declared from the manifest it differs from the real command (a commander setting the manifest does not record?)`);
    }
  });
  return manifest;
}

const GENERATED = [
  '// Generated from the commands\' own registrations by manifest-generator.ts: do not edit. When a command',
  '// changes, `UPDATE_GOLDEN=1 npx vitest run src/cli/command-manifest.test.ts` rewrites this file (that test',
  '// fails while it is stale). It lets `kiln` declare every command without importing its module.',
];

/** The text of command-manifest.ts: every command's whole declaration, imported once a run reaches
 *  one. Each top-level command's is JSON text, parsed only when a run reaches that command: strings
 *  cost V8 next to nothing to compile, where the object literals of all commands cost a few ms. */
export function manifestSource(manifest: readonly DeclaredCommand[]): string {
  return [
    ...GENERATED,
    '',
    '/** Each top-level command as registered (help, arguments, options) as JSON, by name, in help order. */',
    'export const COMMAND_MANIFEST_JSON: Readonly<Record<string, string>> = {',
    ...manifest.map((command) => `  ${JSON.stringify(command.name)}: ${JSON.stringify(JSON.stringify(command))},`),
    '};',
    '',
  ].join('\n');
}

/** The text of command-outlines.ts: the top-level commands' outlines, all that start-up reads. */
export function outlinesSource(manifest: readonly DeclaredCommand[]): string {
  return [
    ...GENERATED,
    'import type { DeclaredCommand } from \'./lazy-commands.ts\';',
    '',
    '/** The top-level commands\' outlines (their lines in `kiln --help`), in help order. */',
    'export const COMMAND_OUTLINES: readonly DeclaredCommand[] = [',
    ...manifest.map((command) => `  ${JSON.stringify(outlineOf(command))},`),
    '];',
    '',
  ].join('\n');
}
