// Commands whose modules load only when they run. Every command module imports its services (Sigstore,
// the registry server, SQLite, pino …) at top level, and importing all of them cost `kiln --version`
// about 0.9 s of CPU. So the program declares each command from the manifest (command-manifest.ts,
// recorded from the real registrations), which gives commander everything help and parsing need,
// and imports a command's module only when the run reaches something a declaration cannot do: the
// command's action, a custom option parser, or help whose text depends on the machine.
import * as commander from 'commander';
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** commander's exports as one namespace. The bundled CLI (scripts/bundle-cli.mjs) holds its code,
 *  which skips Node's package resolution and CommonJS export scan at every start. */
export { commander };
const { Argument, Option } = commander;

/** Adds one command, with any subcommands of its own, to its parent: each module's `registerX`. */
export type RegisterCommand = (parent: Command, context: CliContext) => void;

/** A command whose module is imported only when it runs. */
export interface LazyCommand {
  /** Path of the command it is added to: [] for the program, ['apk'] for `kiln apk …`. */
  readonly parent: readonly string[];
  /** Name of the command its register function adds there (`download` brings `attestation` and `sbom`). */
  readonly name: string;
  /** Imports the command's module, and so its services, and returns its register function. */
  readonly load: () => Promise<RegisterCommand>;
}

/** A group command (`kiln apk`) that only holds subcommands, declared in program.ts's table. */
interface GroupCommand {
  readonly parent: readonly string[];
  readonly group: string;
  readonly description: string;
}

/** One step of declaring the CLI; steps run in order, which is the order help lists commands in. */
export type CommandStep = LazyCommand | GroupCommand;

/** An option as recorded from a real command: its flags and description, the fields that differ
 *  from `new Option(flags, description)`, and whether it had a parser (custom or `choices`). */
export interface DeclaredOption {
  flags: string;
  description: string;
  fields?: Record<string, unknown>;
  parser?: true;
}

/** An argument as recorded: its usage form (`<world...>`), description and non-default fields. */
export interface DeclaredArgument {
  usage: string;
  description: string;
  fields?: Record<string, unknown>;
  parser?: true;
}

/** A command as recorded from its real registration by manifest-generator.ts. */
export interface DeclaredCommand {
  name: string;
  description: string;
  summary?: string;
  aliases?: string[];
  arguments?: DeclaredArgument[];
  options?: DeclaredOption[];
  commands?: DeclaredCommand[];
  /** The real command has an action. */
  action?: true;
  /** Added by a LazyCommand (its module's register function). */
  lazy?: true;
  /** Some help text in this subtree depends on the machine (`--arch`'s default): it was recorded with
   *  a placeholder architecture, so this subtree's module is loaded before anything in it runs. */
  hostDependent?: true;
}

/** What the commands are declared from: the top-level outlines (command-outlines.ts), read at
 *  start-up, and every command's whole declaration (command-manifest.ts), imported only when commander
 *  reaches a command: reading all of it cost `kiln --version` about 6 ms. */
interface Declarations {
  outlines: readonly DeclaredCommand[];
  whole?: WholeDeclarations;
}

/** A top-level command's whole declaration, by name. */
export type WholeDeclarations = (name: string) => DeclaredCommand | undefined;

/** A command's outline: what its parent's help shows of it (name, description, arguments, and one
 *  option, so that `[options]` shows for a command with any) and how a run treats it. */
export function outlineOf(command: DeclaredCommand): DeclaredCommand {
  const { commands: _commands, options, ...outline } = command;
  return options?.length ? { ...outline, options: options.slice(0, 1) } : outline;
}

/** Thrown, before anything is printed, when a run needs a command's real module; runCli loads it
 *  and parses again. */
export class CommandNotLoaded extends Error {
  readonly command: LazyCommand;

  constructor(command: LazyCommand) {
    super(`kiln ${[...command.parent, command.name].join(' ')}: module not loaded`);
    this.command = command;
  }
}

/** Thrown, before anything is printed, when a run reaches a command while only the outlines are
 *  loaded; runCli imports the whole declarations and parses again. */
export class DeclarationsNotLoaded extends Error {
  constructor() {
    super('kiln: command declarations not loaded');
  }
}

/** True for a group step (no module of its own). */
export function isGroupCommand(step: CommandStep): step is GroupCommand {
  return 'group' in step;
}

function pathKey(path: readonly string[]): string {
  return path.join(' ');
}

/** The subcommand of `root` at `path`; the steps name only paths declared before them. */
function commandAt(root: Command, path: readonly string[]): Command {
  let command = root;
  for (const name of path) {
    const next = command.commands.find((child) => child.name() === name);
    if (!next) throw new Error(`kiln ${pathKey(path)}: no such command declared before it`);
    command = next;
  }
  return command;
}

/** Imports every command's module: the register functions of all the steps that have one. */
export async function loadAll(steps: readonly CommandStep[]): Promise<Map<LazyCommand, RegisterCommand>> {
  const loaded = new Map<LazyCommand, RegisterCommand>();
  for (const step of steps) if (!isGroupCommand(step)) loaded.set(step, await step.load());
  return loaded;
}

/** Registers every command for real (what the manifest is recorded from), all modules loaded. */
export function registerAll(root: Command, steps: readonly CommandStep[], loaded: ReadonlyMap<LazyCommand, RegisterCommand>, context: CliContext): void {
  for (const step of steps) {
    const parent = commandAt(root, step.parent);
    if (isGroupCommand(step)) {
      parent.command(step.group).description(step.description);
      continue;
    }
    const register = loaded.get(step);
    if (!register) throw new Error(`kiln ${pathKey([...step.parent, step.name])}: module not loaded`);
    register(parent, context);
  }
}

/** A declared command's link to the module that registers it for real. */
interface Stand {
  command: LazyCommand;
  /** Its help depends on the machine: load the module before the declaration is used at all. */
  hostDependent: boolean;
}

/** How declareCommands declares and registers. */
interface DeclareOptions {
  /** The run's arguments; without them every command is declared in full at once, as for help. */
  argv?: readonly string[];
  /** Called with each command registered for real (declarations inherit their parent's settings). */
  onRegistered?: (command: Command) => void;
}

/** Adds the declared commands under `root`. A command whose module is in `loaded` is registered for
 *  real in its place; the others are declarations that throw CommandNotLoaded, before printing
 *  anything, wherever they could differ from the real command: its action, a custom option parser,
 *  and dispatch into it, unless the run asks for help (which is then printed without the module).
 *  Until commander dispatches into a command or prints its help, only its outline (its line in its
 *  parent's help) is declared: `kiln --help` needs the top-level outlines and nothing else. */
export function declareCommands(
  root: Command,
  declarations: Declarations,
  steps: readonly CommandStep[],
  loaded: ReadonlyMap<LazyCommand, RegisterCommand>,
  context: CliContext,
  options: DeclareOptions = {},
): void {
  const { argv, onRegistered } = options;
  const lazyAt = new Map<string, LazyCommand>();
  for (const step of steps) if (!isGroupCommand(step)) lazyAt.set(pathKey([...step.parent, step.name]), step);
  const isHelpRun = !argv || argv.some((arg) => arg === '--help' || arg === '-h' || arg === 'help');
  const stands = new Map<Command, Stand>();
  const outlines = new Map<Command, () => void>();

  const complete = (command: Command): void => {
    const finish = outlines.get(command);
    outlines.delete(command);
    finish?.();
  };

  const dispatchHook = (_parent: Command, subcommand: Command): void => {
    const stand = stands.get(subcommand);
    if (stand && (stand.hostDependent || !isHelpRun)) throw new CommandNotLoaded(stand.command);
    complete(subcommand);
  };

  const notLoaded = (stand: Stand) => (): never => {
    throw new CommandNotLoaded(stand.command);
  };

  // `spec` may be just the outline; `whole` gives the whole declaration when commander reaches it.
  const declare = (parent: Command, spec: DeclaredCommand, path: readonly string[], inherited: Stand | undefined, whole: () => DeclaredCommand): void => {
    let stand = inherited;
    if (spec.lazy) {
      const command = lazyAt.get(pathKey(path));
      if (!command) throw new Error(`kiln ${pathKey(path)}: in the command manifest but not in the command table (regenerate the manifest)`);
      const register = loaded.get(command);
      if (register) {
        const before = parent.commands.length;
        register(parent, context);
        if (onRegistered) parent.commands.slice(before).forEach(onRegistered);
        return;
      }
      stand = { command, hostDependent: Boolean(spec.hostDependent) };
    }
    const command = parent.command(spec.name).description(spec.description);
    const addOption = (option: DeclaredOption): void => {
      const made = Object.assign(new Option(option.flags, option.description), option.fields);
      if (option.parser && stand) made.argParser(notLoaded(stand));
      command.addOption(made);
    };
    if (spec.summary) command.summary(spec.summary);
    if (spec.aliases) command.aliases(spec.aliases);
    for (const argument of spec.arguments ?? []) {
      const made = Object.assign(new Argument(argument.usage, argument.description), argument.fields);
      if (argument.parser && stand) made.argParser(notLoaded(stand));
      command.addArgument(made);
    }
    // The outline: its parent's help shows `[options]` for a command with any, so one is declared.
    const first = spec.options?.[0];
    if (first) addOption(first);
    if (stand) {
      stands.set(command, stand);
      if (spec.action) command.action(notLoaded(stand));
    }
    const finish = (): void => {
      const all = whole();
      all.options?.slice(1).forEach(addOption);
      for (const child of all.commands ?? []) declare(command, child, [...path, child.name], stand, () => child);
      if (command.commands.length) command.hook('preSubcommand', dispatchHook);
    };
    if (!argv) finish();
    else outlines.set(command, finish);
    // `kiln help X` prints X's help without dispatching to it: complete X first, or load it when its
    // help depends on the machine.
    if (stand?.hostDependent) command.outputHelp = notLoaded(stand);
    else if (argv) {
      command.outputHelp = (...help: unknown[]): void => {
        Reflect.deleteProperty(command, 'outputHelp');
        complete(command);
        Reflect.apply(command.outputHelp, command, help);
      };
    }
  };

  const wholeOf = (outline: DeclaredCommand) => (): DeclaredCommand => {
    if (!declarations.whole) throw new DeclarationsNotLoaded();
    const whole = declarations.whole(outline.name);
    if (!whole) throw new Error(`kiln ${outline.name}: in command-outlines.ts but not in command-manifest.ts (regenerate them)`);
    return whole;
  };
  for (const outline of declarations.outlines) declare(root, outline, [outline.name], undefined, wholeOf(outline));
  if (root.commands.length) root.hook('preSubcommand', dispatchHook);
}
