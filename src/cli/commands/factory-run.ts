import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Witness } from '@sigstore/sign';
import type { Command } from 'commander';
import { defaultCacheDir } from '../../apk/repository/index.ts';
import { buildAll, buildRecipe, createUnavailableEnvironmentProvider } from '../../package-builder/index.ts';
import type { PackagePublisher } from '../../package-builder/index.ts';
import { withFileLock } from '../../lib/index.ts';
import { AptSourceFetcher } from '../../debian/index.ts';
import {
  abandonRunLock,
  aptUpdateSource,
  FactoryError,
  fileStateStore,
  gitRecipeCommitter,
  loadFactoryConfig,
  openImageHistory,
  openJobQueue,
  queueStepExecutor,
  registryImagePublisher,
  repositoryUpdateSource,
  runFactory,
} from '../../factory/index.ts';
import type { FactoryConfig, FactoryPorts, FactoryRunReport, ImageBuilderPort, ImageScannerPort, PackageBuilderPort, UpdateFeedOptions } from '../../factory/index.ts';
import { applyImagePlan, planImageBuild } from '../../image/index.ts';
import { writeOciLayout } from '../../oci/index.ts';
import { OS_IMAGE_REGISTRY } from '../../os/index.ts';
import { dockerConfigCredentials, RegistryClient } from '../../registry-client/index.ts';
import { keylessSigner, keySigner, SignError } from '../../sign/index.ts';
import type { ImageSigner } from '../../sign/index.ts';
import { formatOpenVex, readScanTarget, scanContents, SqliteVulnIndex, vexStatuses } from '../../vuln/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { buildOptionsFromFlags, loadConfigFromFlags, openImageRepositories } from './image-options.ts';
import { createEnvironment, createPublisher, createRunner } from './pkg-options.ts';
import type { PkgBuildFlags } from './pkg-options.ts';
import { durationFlag, queueLocationFlag, queueNames } from './factory-options.ts';
import { loadSigningKey } from './trust-options.ts';

/** pg-boss refuses leases of a day or more. */
const MAX_STEP_LEASE_SECONDS = 24 * 3600 - 1;

interface FactoryRunFlags {
  config: string;
  dryRun?: boolean;
  updates: boolean;
  json?: boolean;
  queue?: string;
  stepLease: string;
  claimTimeout: string;
}

/** The version the root program was given, read at run time (see image-publish.ts). */
function kilnVersion(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.version() ?? 'unknown';
}

/** Package builds as `kiln os build` runs them: bubblewrap, the host toolchain with Kiln OS's own
 *  packages in a sysroot, the run's repository and key, musl's loader as the library policy. */
function packageBuilder(config: FactoryConfig, fetcher: AptSourceFetcher, quiet: CliContext, environments: (() => void)[]): PackageBuilderPort {
  const publicKey = `${config.signingKey}.pub`;
  const pkgFlags = { outDir: config.outDir, runner: 'bubblewrap', bootstrapHost: true, repositoryAppend: [config.outDir], keyringAppend: [publicKey], signingKey: config.signingKey, namespace: 'kiln-os', arch: config.arch, debianSourceCache: fetcher.cacheDir } as PkgBuildFlags;
  const libraryPolicy = { interpreter: `/lib/ld-musl-${config.arch}.so.1`, indexes: [join(config.outDir, config.arch, 'APKINDEX.tar.gz')], keyring: [publicKey] };
  return {
    async build(request, log) {
      // The input hash `kiln os build` records, so it sees this package as up to date.
      const unlocked = await createPublisher(pkgFlags, undefined, quiet);
      // Workers may build packages of one run at once: the index's read-merge-write is serialized.
      const publisher: PackagePublisher = { ...unlocked, updateIndex: (indexFile, files) => withFileLock(`${indexFile}.lock`, () => unlocked.updateIndex(indexFile, files)) };
      // A dry run of build-all plans and hashes only (no environment is prepared, nothing is built).
      const planned = await buildAll({ dir: join(config.osDir, 'packages'), outDir: config.outDir, arch: config.arch, namespace: 'kiln-os', libraryPolicy, dryRun: true }, { runner: createRunner(pkgFlags), environment: createUnavailableEnvironmentProvider('planning only'), publisher });
      const inputHash = planned.outcomes.find((outcome) => outcome.name === request.recipe)?.inputHash;
      const environment = await createEnvironment(pkgFlags, quiet);
      environments.push(environment.close);
      // build-all's rule: the recipe's source directory is `<dir>/<name>/` when there is one.
      const sourceDir = join(config.osDir, 'packages', request.recipe);
      const hasSource = await stat(sourceDir).then((info) => info.isDirectory(), () => false);
      const result = await buildRecipe(
        { recipeFile: request.file, sourceDir: hasSource ? sourceDir : null, outDir: config.outDir, arch: config.arch, namespace: 'kiln-os', libraryPolicy, ...(inputHash ? { inputHash } : {}) },
        { runner: createRunner(pkgFlags), debianSources: fetcher, environment: environment.provider, publisher, onLog: (line) => log(`[${line.step}] ${line.line}`) },
      );
      return { fullVersion: `${result.version}`, packages: result.packages.map((pkg) => `${pkg.name}-${pkg.version}`) };
    },
  };
}

/** Catalog images resolved and built as `kiln os build` builds them (the configuration included as
 *  written, the run's repository added for resolution only), tagged like its layouts. */
function imageBuilder(config: FactoryConfig, quiet: CliContext): ImageBuilderPort {
  const publicKey = `${config.signingKey}.pub`;
  const imageFlags = { keyringAppend: [publicKey], arch: [config.arch] };
  const open = async <T>(image: string, file: string, use: (options: Parameters<typeof planImageBuild>[0], listed: string[]) => Promise<T>): Promise<T> => {
    const work = await mkdtemp(join(tmpdir(), `kiln-factory-${image}-`));
    try {
      const wrapper = join(work, 'config.yaml');
      await writeFile(wrapper, `${JSON.stringify({ include: file, contents: { build_repositories: [config.outDir] } })}\n`);
      const loaded = await loadConfigFromFlags(quiet, wrapper, imageFlags);
      const handle = await openImageRepositories(quiet, loaded, imageFlags);
      try {
        const options = { ...buildOptionsFromFlags(quiet, imageFlags), loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag: `${OS_IMAGE_REGISTRY}/${image}:latest` };
        return await use(options, [...loaded.config.contents.packages]);
      } finally {
        handle.close();
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
  return {
    lock: (request) =>
      open(request.image, request.file, async (options) => {
        const plan = await planImageBuild(options);
        return plan.arches.flatMap((arch) => arch.packages.map((pkg) => ({ name: pkg.name, version: pkg.version, identity: pkg.identity, origin: pkg.name })));
      }),
    build: (request) =>
      open(request.image, request.file, async (options, listed) => {
        const result = await applyImagePlan(await planImageBuild(options), options);
        const installed = result.arches.flatMap((arch) => arch.packages.map((pkg) => ({ name: pkg.record.name, version: pkg.record.version, identity: pkg.record.identity, origin: pkg.record.origin ?? pkg.record.name })));
        // What reproduce rebuilds from: the files as loaded (the wrapper first, read before its
        // directory goes), with the checksum the lock names, and the flags the build used.
        const configFiles = await Promise.all(options.loaded.files.map(async (path, index) => ({ path: index === 0 ? 'config.yaml' : path, bytes: await readFile(path) })));
        const reproducible = { configFiles, build: { archs: result.arches.map((output) => output.arch.oci), keyringAppend: [publicKey] } };
        return { result, installed, listed, configBytes: await readFile(request.file), reproducible, configChecksum: options.loaded.checksum };
      }),
  };
}

/** Scans a built image (written to a temporary OCI layout) against the local vulnerability index. */
function imageScanner(path: string, version: string): ImageScannerPort {
  // The feeds' contents (Kiln's advisories are one of them) and the matcher's version.
  const knowledgeOf = (index: SqliteVulnIndex) => {
    const feeds = index.feeds().map((feed) => `${feed.name} ${feed.type} ${feed.sha256}`).sort();
    return createHash('sha256').update([`kiln ${version}`, ...feeds].join('\n')).digest('hex');
  };
  return {
    async knowledge() {
      const index = new SqliteVulnIndex(path, { readonly: true });
      try {
        return knowledgeOf(index);
      } finally {
        index.close();
      }
    },
    async scan(request) {
      const work = await mkdtemp(join(tmpdir(), 'kiln-factory-scan-'));
      const index = new SqliteVulnIndex(path, { readonly: true });
      try {
        const startedOn = new Date();
        await writeOciLayout(join(work, 'layout'), request.result.index, { refName: 'latest', overwrite: false });
        const report = scanContents(await readScanTarget(join(work, 'layout'), { name: request.image }), index);
        const open = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
        for (const finding of report.findings) {
          const key = finding.severity.toLowerCase() as keyof typeof open;
          if (key in open) open[key]++;
          else open.unknown++;
        }
        const finishedOn = new Date();
        return {
          ids: [...new Set(report.findings.map((finding) => finding.id))].sort(),
          open,
          vuln: { invocation: { uri: 'https://kiln.dev/factory', parameters: [] }, scanner: { uri: 'https://kiln.dev/scan', version, db: { uri: `file://${path}`, version: report.feeds.map((feed) => `${feed.name}@${feed.updatedAt}`).join(',') }, result: report }, metadata: { scanStartedOn: startedOn.toISOString(), scanFinishedOn: finishedOn.toISOString() } },
          openvex: formatOpenVex(report, { author: 'Kiln factory', timestamp: finishedOn }),
          knowledge: knowledgeOf(index),
          statuses: vexStatuses(report),
        };
      } finally {
        index.close();
        await rm(work, { recursive: true, force: true });
      }
    },
  };
}

/** The text report of a run: one line per update and step, then the totals. */
export function runSummary(report: FactoryRunReport): string {
  const lines: string[] = [];
  for (const outcome of report.updates) {
    if (outcome.source === 'debian' && outcome.status === 'update') lines.push(`update     ${outcome.recipe}: ${outcome.update.from} -> ${outcome.update.to}${outcome.update.cves.length ? ` (${outcome.update.cves.join(', ')})` : ''}`);
    if (outcome.source === 'upstream' && outcome.status === 'update') lines.push(`update     ${outcome.recipe}: ${outcome.from} -> ${outcome.to} (${outcome.feed})`);
    if (outcome.status === 'failed' || outcome.status === 'refused') lines.push(`unchanged  ${outcome.recipe}: ${outcome.reason}`);
  }
  for (const warning of report.warnings) lines.push(`warning    ${warning}`);
  if (report.dryRun) for (const step of report.plan.steps) lines.push(`planned    ${step.id}`);
  for (const step of report.steps) lines.push(`${step.status.padEnd(10)} ${step.id}${step.error ? `: ${step.error.message.split('\n')[0]}` : ''}${step.blockedBy ? ` (after ${step.blockedBy.join(', ')})` : ''}`);
  const reattested = report.steps.filter((step) => step.status === 'reattested').length;
  lines.push(`${report.published.length} image${report.published.length === 1 ? '' : 's'} published, ${reattested > 0 ? `${reattested} re-attested, ` : ''}${report.failed.length} failed, ${(report.durationMs / 1000).toFixed(1)} s (run ${report.runId})`);
  return `${lines.join('\n')}\n`;
}

/** Keyless signing for unattended runs: the OIDC token comes from a file (a projected workload
 *  token, a CI token file) or an environment variable, read whenever Fulcio is asked for a
 *  certificate, so a token rotated between runs, or during a long one, is the one used. */
function keylessFactorySigner(config: FactoryConfig, env: NodeJS.ProcessEnv): { signer: ImageSigner; format: 'bundle'; witnesses: Witness[]; ready: () => Promise<void> } {
  const keyless = config.keyless!;
  const where = keyless.identityTokenFile ?? `$${keyless.identityTokenEnv}`;
  const identityToken = async (): Promise<string> => {
    const token = keyless.identityTokenFile ? (await readFile(keyless.identityTokenFile, 'utf8').catch(() => '')).trim() : (env[keyless.identityTokenEnv] ?? '').trim();
    if (!token) throw new SignError('KEYLESS_FAILED', `${config.file}: keyless signing needs an OIDC identity token, and ${where} holds none`, { detail: { file: config.file, token: where } });
    return token;
  };
  const { signer, witnesses, ready } = keylessSigner({ fulcioURL: keyless.fulcioUrl, rekorURL: keyless.rekorUrl, identityToken, tlogUpload: keyless.tlogUpload, entryType: keyless.rekorEntryType });
  return { signer, format: 'bundle', witnesses, ready };
}

function upstreamFeeds(upstream: NonNullable<FactoryConfig['upstream']>, env: NodeJS.ProcessEnv): UpdateFeedOptions {
  const token = upstream.githubTokenEnv ? env[upstream.githubTokenEnv] : undefined;
  return { ...(upstream.releaseMonitorUrl ? { releaseMonitorUrl: upstream.releaseMonitorUrl } : {}), ...(upstream.githubApiUrl ? { githubApiUrl: upstream.githubApiUrl } : {}), ...(token ? { githubToken: token } : {}) };
}

/** The factory's ports for a configuration, as `kiln factory run` composes them (and a worker that
 *  runs plan steps as jobs can): state and history under the state directory, update detection,
 *  git commits, Kiln OS's package and image builders, the registry publisher with the cosign key, the
 *  scanner, step logs. `close` releases the history database and build environments. */
export async function createFactoryPorts(config: FactoryConfig, context: CliContext, options: { kilnVersion: string; updates?: boolean }): Promise<{ ports: FactoryPorts; close: () => void }> {
  const sourceCache = config.debianSourceCache ?? join(defaultCacheDir(context.env, context.env.HOME ?? homedir()), 'debian-sources');
  const runsDir = join(config.stateDir, 'runs');
  const stepLog = (runId: string, step: string) => {
    const path = join(runsDir, runId, `${step}.log`);
    const ready = mkdir(join(runsDir, runId), { recursive: true });
    const lines: string[] = [];
    return {
      write: (line: string) => void lines.push(line),
      close: async () => {
        await ready;
        await new Promise<void>((done, fail) => {
          const stream = createWriteStream(path, { flags: 'a' });
          stream.on('error', fail);
          stream.end(lines.length ? `${lines.join('\n')}\n` : '', () => done());
        });
      },
    };
  };
  // Builds log to their step's file; nothing of theirs reaches the terminal.
  const quiet: CliContext = { ...context, stderr: () => {}, stdout: () => {} };
  const fetcher = new AptSourceFetcher({ cacheDir: sourceCache, ...(config.debian.kind === 'apt' && config.debian.mirrors ? { mirrors: config.debian.mirrors } : {}) });
  const updates = options.updates === false || config.debian.kind === 'none' ? undefined : config.debian.kind === 'repositories' ? repositoryUpdateSource(config.debian.repositories, fetcher) : aptUpdateSource(fetcher);
  const signer = config.cosignKey ? { signer: keySigner(await loadSigningKey(config.cosignKey, context)) } : config.keyless ? keylessFactorySigner(config, context.env) : undefined;
  const client = new RegistryClient({ credentials: dockerConfigCredentials(context.env), userAgent: 'kiln-factory', ...(config.allowInsecure ? { allowInsecure: true } : {}) });
  const history = openImageHistory(join(config.stateDir, 'history.db'));
  const environments: (() => void)[] = [];
  const ports: FactoryPorts = {
    state: fileStateStore(config.stateDir),
    history,
    ...(updates ? { updates } : {}),
    ...(config.upstream && options.updates !== false ? { upstream: upstreamFeeds(config.upstream, context.env) } : {}),
    ...(config.git.commit ? { committer: gitRecipeCommitter(config.git.branch) } : {}),
    packages: packageBuilder(config, fetcher, quiet, environments),
    images: imageBuilder(config, quiet),
    ...(config.registry ? { publisher: registryImagePublisher(client, signer) } : {}),
    ...(config.vulnDb ? { scanner: imageScanner(config.vulnDb, options.kilnVersion) } : {}),
    stepLog,
  };
  return {
    ports,
    close: () => {
      history.close();
      for (const close of environments.splice(0)) close();
    },
  };
}

/** `kiln factory run`: one run of the factory from its configuration. */
export function registerFactoryRun(factory: Command, context: CliContext): void {
  factory
    .command('run')
    .description('run the factory once: update Debian-sourced recipes, rebuild exactly what changed, re-lock and rebuild the catalog images, publish new digests (signed, with SBOM, provenance, scan result and OpenVEX) with their tags, and record why in the history')
    .requiredOption('--config <FILE>', 'the factory configuration (docs/factory.md)')
    .option('--dry-run', 'find updates and print the plan; change nothing')
    .option('--no-updates', 'skip update detection (rebuild and publish only)')
    .option('--json', 'print the run report as JSON on stdout')
    .option('--queue <LOCATION>', 'run the steps as factory.step jobs on this queue (sqlite:PATH, postgres://…, or env:NAME to read it from that variable) for `kiln factory worker`s sharing the state, output and recipe directories; the run waits for them')
    .option('--step-lease <DURATION>', 'with --queue: a worker silent this long on a step is taken for dead and the step retried', '1h')
    .option('--claim-timeout <DURATION>', 'with --queue: with no step running, waiting steps that no worker takes for this long fail (FACTORY_NO_WORKER)', '10m')
    .action(async (flags: FactoryRunFlags, command: Command) => {
      const leaseMs = durationFlag('--step-lease', flags.stepLease, 1000);
      const claimTimeoutMs = durationFlag('--claim-timeout', flags.claimTimeout, 1000);
      const config = await loadFactoryConfig(resolve(context.cwd, flags.config));
      const runsDir = join(config.stateDir, 'runs');
      const progress = context.isTTY && !flags.json;
      const version = kilnVersion(command);
      const { ports: base, close } = await createFactoryPorts(config, context, { kilnVersion: version, updates: flags.updates });
      const ports: FactoryPorts = {
        ...base,
        onProgress: (event) => {
          if (!progress) return;
          if (event.phase === 'updates') context.stderr('checking for updates\n');
          else if (event.phase === 'step' && event.status !== 'running') context.stderr(`[${event.done}/${event.total}] ${event.status!.padEnd(10)} ${event.step}\n`);
          else if (event.phase === 'step') context.stderr(`[${(event.done ?? 0) + 1}/${event.total}] running   ${event.step}\n`);
        },
      };
      let report: FactoryRunReport;
      const location = flags.queue ? queueLocationFlag(flags.queue, context.cwd, context.env) : undefined;
      const queue = location ? await openJobQueue(location, { cwd: context.cwd }) : undefined;
      // Stopped by a signal (serve's timeout, Ctrl-C): the lock goes with the process, so step jobs it
      // left queued are refused by workers on any host. Partial work is safe: every write is atomic.
      const onSignal = (signal: NodeJS.Signals) => {
        const released = abandonRunLock(config.stateDir);
        context.stderr(`kiln factory run: stopped by ${signal}${released ? `; ${config.stateDir} is released` : ''}\n`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      };
      if (!flags.dryRun) for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, onSignal);
      try {
        const names = location ? queueNames(flags.queue!, location, context.env) : undefined;
        const executor = queue ? queueStepExecutor(queue, { leaseSeconds: Math.min(MAX_STEP_LEASE_SECONDS, Math.ceil(leaseMs / 1000)), claimTimeoutMs, queueName: names!.shown, workerQueueFlag: names!.workerFlag }) : undefined;
        report = await runFactory({ config, ...(flags.dryRun ? { dryRun: true } : {}), kilnVersion: version, ...(executor ? { executor } : {}) }, ports);
      } finally {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.off(signal, onSignal);
        close();
        await queue?.close();
      }
      if (flags.json) printJson(context, report);
      else context.stdout(runSummary(report));
      if (report.failed.length > 0) {
        throw new FactoryError('FACTORY_RUN_FAILED', `factory run ${report.runId}: ${report.failed.length} failed: ${report.failed.join(', ')}${report.dryRun ? '' : ` (logs: ${join(runsDir, report.runId)})`}`, { detail: { runId: report.runId, failed: report.failed } });
      }
    });
}
