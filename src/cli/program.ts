import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { COMMAND_OUTLINES } from './command-outlines.ts';
import { CommandNotLoaded, commander, DeclarationsNotLoaded, declareCommands, loadAll, registerAll } from './lazy-commands.ts';
import type { CommandStep, DeclaredCommand, LazyCommand, RegisterCommand, WholeDeclarations } from './lazy-commands.ts';

export const KILN_VERSION = '0.1.0';

/** Every command, in help order, and where its module is; a module is imported only when its
 *  command runs. One table in this module rather than a module per group: each module on the
 *  start-up path costs `kiln --version` about 0.3 ms. After a change here or in a command's flags,
 *  regenerate command-manifest.ts and command-outlines.ts (UPDATE_GOLDEN=1 npx vitest run
 *  src/cli/command-manifest.test.ts). */
export const COMMAND_STEPS: readonly CommandStep[] = [
  // `kiln apk …` and `kiln keygen`: read, write, sign and index packages; resolve and fetch from repositories.
  { parent: [], group: 'apk', description: 'read, write, sign, index and resolve apk packages' },
  { parent: [], name: 'keygen', load: async () => (await import('./commands/keygen.ts')).registerKeygen },
  { parent: ['apk'], name: 'info', load: async () => (await import('./commands/apk-info.ts')).registerApkInfo },
  { parent: ['apk'], name: 'verify', load: async () => (await import('./commands/apk-verify.ts')).registerApkVerify },
  { parent: ['apk'], name: 'mkpkg', load: async () => (await import('./commands/apk-mkpkg.ts')).registerApkMkpkg },
  { parent: ['apk'], name: 'index', load: async () => (await import('./commands/apk-index.ts')).registerApkIndex },
  { parent: ['apk'], name: 'solver-test', load: async () => (await import('./commands/apk-solver-test.ts')).registerApkSolverTest },
  { parent: ['apk'], name: 'resolve', load: async () => (await import('./commands/apk-resolve.ts')).registerApkResolve },
  { parent: ['apk'], name: 'fetch', load: async () => (await import('./commands/apk-fetch.ts')).registerApkFetch },
  // `kiln image …` (apko-compatible).
  { parent: [], group: 'image', description: 'build apko-compatible images from apk packages' },
  { parent: ['image'], name: 'build', load: async () => (await import('./commands/image-build.ts')).registerImageBuild },
  { parent: ['image'], name: 'publish', load: async () => (await import('./commands/image-publish.ts')).registerImagePublish },
  { parent: ['image'], name: 'lock', load: async () => (await import('./commands/image-lock.ts')).registerImageLock },
  { parent: ['image'], name: 'show-config', load: async () => (await import('./commands/image-show-config.ts')).registerImageShowConfig },
  { parent: ['image'], name: 'ls-files', load: async () => (await import('./commands/image-ls-files.ts')).registerImageLsFiles },
  { parent: ['image'], name: 'diff', load: async () => (await import('./commands/image-diff.ts')).registerImageDiff },
  { parent: ['image'], name: 'reproduce', load: async () => (await import('./commands/image-reproduce.ts')).registerImageReproduce },
  { parent: ['image'], name: 'customize', load: async () => (await import('./commands/image-customize.ts')).registerImageCustomize },
  // `kiln pkg …` (melange-compatible package building).
  { parent: [], group: 'pkg', description: 'build, test, lint, sign and index apk packages from melange recipes' },
  { parent: ['pkg'], name: 'build', load: async () => (await import('./commands/pkg-build.ts')).registerPkgBuild },
  { parent: ['pkg'], name: 'build-all', load: async () => (await import('./commands/pkg-build-all.ts')).registerPkgBuildAll },
  { parent: ['pkg'], name: 'test', load: async () => (await import('./commands/pkg-test.ts')).registerPkgTest },
  { parent: ['pkg'], name: 'lint', load: async () => (await import('./commands/pkg-lint.ts')).registerPkgLint },
  { parent: ['pkg'], name: 'check', load: async () => (await import('./commands/pkg-check.ts')).registerPkgCheck },
  { parent: ['pkg'], name: 'sign', load: async () => (await import('./commands/pkg-sign.ts')).registerPkgSign },
  { parent: ['pkg'], name: 'index', load: async () => (await import('./commands/pkg-index.ts')).registerPkgIndex },
  // `kiln registry …`.
  { parent: [], group: 'registry', description: 'run and maintain the OCI distribution registry' },
  { parent: ['registry'], name: 'serve', load: async () => (await import('./commands/registry-serve.ts')).registerRegistryServe },
  { parent: ['registry'], name: 'gc', load: async () => (await import('./commands/registry-gc.ts')).registerRegistryGc },
  { parent: ['registry'], name: 'htpasswd', load: async () => (await import('./commands/registry-htpasswd.ts')).registerRegistryHtpasswd },
  // `kiln os …`: Kiln OS, built from Debian sources.
  { parent: [], group: 'os', description: 'build Kiln OS: its packages from Debian sources and its catalog images' },
  { parent: ['os'], name: 'build', load: async () => (await import('./commands/os-build.ts')).registerOsBuild },
  // `kiln factory …`: daily rebuilds (issue 12); the group is shared by run, history, serve and worker.
  { parent: [], group: 'factory', description: 'daily rebuilds that publish only what changed: run, schedule, workers, history' },
  { parent: ['factory'], name: 'run', load: async () => (await import('./commands/factory-run.ts')).registerFactoryRun },
  { parent: ['factory'], name: 'history', load: async () => (await import('./commands/factory-history.ts')).registerFactoryHistory },
  { parent: ['factory'], name: 'serve', load: async () => (await import('./commands/factory-serve.ts')).registerFactoryServe },
  { parent: ['factory'], name: 'worker', load: async () => (await import('./commands/factory-worker.ts')).registerFactoryWorker },
  // Vulnerabilities: `kiln scan` and `kiln vuln db …` (issue 11).
  { parent: [], name: 'scan', load: async () => (await import('./commands/scan.ts')).registerScan },
  { parent: [], group: 'vuln', description: 'vulnerability feeds and the local index kiln scan uses' },
  { parent: ['vuln'], name: 'db', load: async () => (await import('./commands/vuln-db.ts')).registerVulnDb },
  { parent: ['vuln'], name: 'sla', load: async () => (await import('./commands/vuln-sla.ts')).registerVulnSla },
  { parent: [], group: 'advisory', description: "Kiln's own advisories: dated events per vulnerability per origin package (os/advisories)" },
  { parent: ['advisory'], name: 'validate', load: async () => (await import('./commands/advisory-validate.ts')).registerAdvisoryValidate },
  { parent: ['advisory'], name: 'list', load: async () => (await import('./commands/advisory-list.ts')).registerAdvisoryList },
  { parent: ['advisory'], name: 'secdb', load: async () => (await import('./commands/advisory-secdb.ts')).registerAdvisorySecdb },
  { parent: ['advisory'], name: 'publish', load: async () => (await import('./commands/advisory-publish.ts')).registerAdvisoryPublish },
  { parent: ['advisory'], name: 'create', load: async () => (await import('./commands/advisory-create.ts')).registerAdvisoryCreate },
  { parent: ['advisory'], name: 'update', load: async () => (await import('./commands/advisory-update.ts')).registerAdvisoryUpdate },
  { parent: ['advisory'], name: 'derive', load: async () => (await import('./commands/advisory-derive.ts')).registerAdvisoryDerive },
  // `kiln comply …`: hardening checks and OSCAL compliance evidence.
  { parent: [], group: 'comply', description: 'check images against hardening rules and write OSCAL compliance evidence (NIST SP 800-53 rev 5)' },
  { parent: ['comply'], name: 'check', load: async () => (await import('./commands/comply-check.ts')).registerComplyCheck },
  { parent: ['comply'], name: 'report', load: async () => (await import('./commands/comply-report.ts')).registerComplyReport },
  // `kiln catalog …`: the web catalog over the registry (issue 15).
  { parent: [], group: 'catalog', description: 'the web catalog: images, packages, vulnerabilities, history, signatures and comparisons, with a JSON API' },
  { parent: ['catalog'], name: 'serve', load: async () => (await import('./commands/catalog-serve.ts')).registerCatalogServe },
  // Trust: cosign's verbs at the top level (download brings attestation|sbom, policy brings verify).
  { parent: [], name: 'generate-key-pair', load: async () => (await import('./commands/generate-key-pair.ts')).registerGenerateKeyPair },
  { parent: [], name: 'sign', load: async () => (await import('./commands/sign.ts')).registerSign },
  { parent: [], name: 'verify', load: async () => (await import('./commands/verify.ts')).registerVerify },
  { parent: [], name: 'attest', load: async () => (await import('./commands/attest.ts')).registerAttest },
  { parent: [], name: 'verify-attestation', load: async () => (await import('./commands/verify-attestation.ts')).registerVerifyAttestation },
  { parent: [], name: 'download', load: async () => (await import('./commands/download.ts')).registerDownload },
  { parent: [], name: 'tree', load: async () => (await import('./commands/tree.ts')).registerTree },
  { parent: [], name: 'policy', load: async () => (await import('./commands/policy-verify.ts')).registerPolicyVerify },
];

/** The `kiln` program itself, with no commands yet. */
export function createRoot(context: CliContext): Command {
  return new commander.Command('kiln')
    .description('Minimal, hardened, reproducible container images from apk packages')
    .version(KILN_VERSION)
    .showHelpAfterError()
    .configureOutput({ writeOut: context.stdout, writeErr: context.stderr })
    .exitOverride();
}

// Commands inherit output and exit handling so `--help` and usage errors never call process.exit.
function configureOutput(command: Command, context: CliContext): void {
  command.configureOutput({ writeOut: context.stdout, writeErr: context.stderr }).exitOverride();
  for (const child of command.commands) configureOutput(child, context);
}

function declareProgram(context: CliContext, whole: WholeDeclarations | undefined, loaded: ReadonlyMap<LazyCommand, RegisterCommand>, argv?: readonly string[]): Command {
  const program = createRoot(context);
  const declarations = { outlines: COMMAND_OUTLINES, ...(whole ? { whole } : {}) };
  declareCommands(program, declarations, COMMAND_STEPS, loaded, context, { ...(argv ? { argv } : {}), onRegistered: (command) => configureOutput(command, context) });
  return program;
}

/** The whole declarations, each command's parsed from its JSON text when first asked for: a run
 *  reaches one or two of them. */
async function loadDeclarations(): Promise<WholeDeclarations> {
  const { COMMAND_MANIFEST_JSON } = await import('./command-manifest.ts');
  const parsed = new Map<string, DeclaredCommand>();
  return (name) => {
    if (!Object.hasOwn(COMMAND_MANIFEST_JSON, name)) return undefined;
    let command = parsed.get(name);
    if (!command) parsed.set(name, (command = JSON.parse(COMMAND_MANIFEST_JSON[name]!) as DeclaredCommand));
    return command;
  };
}

/** The program with every command declared in full (help, usage, options) and no command module
 *  loaded; runCli declares commands as commander reaches them and loads the module of the one that runs. */
export async function buildProgram(context: CliContext): Promise<Command> {
  return declareProgram(context, await loadDeclarations(), new Map());
}

/** The program with every command module imported and registered, as the manifest is recorded. */
export async function loadProgram(context: CliContext): Promise<Command> {
  const program = createRoot(context);
  registerAll(program, COMMAND_STEPS, await loadAll(COMMAND_STEPS), context);
  program.commands.forEach((command) => configureOutput(command, context));
  return program;
}

/** Runs the CLI in-process and returns its exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const loaded = new Map<LazyCommand, RegisterCommand>();
  let whole: WholeDeclarations | undefined;
  for (;;) {
    try {
      // A run that names a command will reach it: spare it the retry that DeclarationsNotLoaded costs.
      if (!whole && COMMAND_OUTLINES.some((outline) => argv.includes(outline.name) || outline.aliases?.some((alias) => argv.includes(alias)))) whole = await loadDeclarations();
      await declareProgram(context, whole, loaded, argv).parseAsync([...argv], { from: 'user' });
      return 0; // EXIT_OK: exit-codes.ts is imported only once a run has failed (below)
    } catch (error) {
      try {
        if (error instanceof DeclarationsNotLoaded && !whole) {
          whole = await loadDeclarations();
          continue;
        }
        if (error instanceof CommandNotLoaded && !loaded.has(error.command)) {
          loaded.set(error.command, await error.command.load());
          continue;
        }
      } catch (loadError) {
        return failed(loadError, context);
      }
      if (error instanceof commander.CommanderError && (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version')) return 0;
      return failed(error, context);
    }
  }
}

// exit-codes.ts imports lib's index (yaml and more, about 90 ms of CPU), which help and version never
// need: it is imported once a run has failed.
async function failed(error: unknown, context: CliContext): Promise<number> {
  const { EXIT_USAGE, exitCodeFor, formatError } = await import('./exit-codes.ts');
  if (error instanceof commander.CommanderError) return EXIT_USAGE;
  context.stderr(formatError(error));
  return exitCodeFor(error);
}
