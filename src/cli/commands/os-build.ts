import { createWriteStream } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateSigningKey } from '../../apk/index.ts';
import { buildAll } from '../../package-builder/index.ts';
import { applyImagePlan, planImageBuild } from '../../image/index.ts';
import { writeFileAtomic } from '../../lib/index.ts';
import { goJson, writeOciLayout } from '../../oci/index.ts';
import { buildOs } from '../../os/index.ts';
import type { CliContext } from '../context.ts';
import { printJson } from '../context.ts';
import { buildOptionsFromFlags, loadConfigFromFlags, openImageRepositories } from './image-options.ts';
import { createDebianSources, createEnvironment, createPublisher, createRunner } from './pkg-options.ts';
import type { PkgBuildFlags } from './pkg-options.ts';

interface OsBuildFlags {
  osDir: string;
  outDir: string;
  signingKey?: string;
  debianSourceCache?: string;
  arch: string;
  jobs?: string;
  images: boolean;
  json?: boolean;
}

/** `kiln os build`: Kiln OS's recipes into a signed repository, then its catalog images. */
export function registerOsBuild(os: Command, context: CliContext): void {
  os.command('build')
    .description('build Kiln OS from Debian sources: every recipe of OS_DIR/packages into a signed repository (OUT/ARCH/APKINDEX.tar.gz), then every catalog image of OS_DIR/images as an OCI layout (OUT/images/NAME) with its SBOM; only what changed is rebuilt')
    .option('--os-dir <DIR>', 'the Kiln OS tree (packages/ and images/)', 'os')
    .option('--out-dir <DIR>', 'output: the repository and images/', 'os-out')
    .option('--signing-key <KEY>', 'RSA private key signing the packages and index; generated on first use (default: $XDG_CONFIG_HOME/kiln/os/kiln-os.rsa)')
    .option('--debian-source-cache <DIR>', 'verified Debian sources (default: $XDG_CACHE_HOME/kiln/debian-sources)')
    .option('--arch <ARCH>', 'architecture (apk name)', 'x86_64')
    .option('-j, --jobs <N>', 'parallel package builds (default: number of cores)')
    .option('--no-images', 'build the packages only')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: OsBuildFlags) => {
      const osDir = resolve(context.cwd, flags.osDir);
      const outDir = resolve(context.cwd, flags.outDir);
      const configHome = context.env.XDG_CONFIG_HOME || join(context.env.HOME ?? homedir(), '.config');
      const signingKey = flags.signingKey ? resolve(context.cwd, flags.signingKey) : join(configHome, 'kiln', 'os', 'kiln-os.rsa');
      const publicKey = `${signingKey}.pub`;
      if (!(await access(signingKey).then(() => true, () => false))) {
        await mkdir(dirname(signingKey), { recursive: true });
        await generateSigningKey(signingKey.replace(/\.rsa$/, ''), 4096);
        context.stderr(`kiln: generated the Kiln OS signing key ${signingKey} (public key ${publicKey}); keep it out of version control\n`);
      }
      await mkdir(outDir, { recursive: true });
      // Step output goes to a log file; the terminal gets one line per recipe and image.
      const logFile = join(outDir, 'build.log');
      const log = createWriteStream(logFile, { flags: 'w' });
      const quiet: CliContext = { ...context, stderr: (text) => log.write(text), stdout: () => {} };
      const pkgFlags: PkgBuildFlags = {
        outDir,
        runner: 'bubblewrap',
        bootstrapHost: true,
        repositoryAppend: [outDir],
        keyringAppend: [publicKey],
        signingKey,
        namespace: 'kiln-os',
        arch: flags.arch,
        ...(flags.debianSourceCache ? { debianSourceCache: resolve(context.cwd, flags.debianSourceCache) } : {}),
      } as PkgBuildFlags;
      const say = (text: string) => {
        if (!flags.json) context.stderr(text);
      };
      try {
        const result = await buildOs(
          { osDir, outDir, arch: flags.arch, publicKey, images: flags.images },
          {
            buildPackages: async (recipesDir) => {
              const environment = await createEnvironment(pkgFlags, quiet);
              try {
                const jobs = flags.jobs ? Number(flags.jobs) : undefined;
                const built = await buildAll(
                  { dir: recipesDir, outDir, arch: flags.arch, namespace: 'kiln-os', libraryPolicy: { interpreter: `/lib/ld-musl-${flags.arch}.so.1`, indexes: [join(outDir, flags.arch, 'APKINDEX.tar.gz')], keyring: [publicKey] }, ...(jobs ? { jobs } : {}), onOutcome: (outcome) => say(`${outcome.status.padEnd(10)} ${outcome.name}\n`) },
                  {
                    runner: createRunner(pkgFlags),
                    debianSources: createDebianSources(pkgFlags, quiet),
                    environment: environment.provider,
                    publisher: await createPublisher(pkgFlags, undefined, quiet),
                    onLog: (line) => log.write(`[${line.step}] ${line.line}\n`),
                  },
                );
                return { recipes: built.outcomes.map((outcome) => ({ name: outcome.name, status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}) })) };
              } finally {
                environment.close();
              }
            },
            buildImage: async (request) => {
              const imageFlags = { keyringAppend: [publicKey], arch: [flags.arch] };
              const loaded = await loadConfigFromFlags(quiet, request.configFile, imageFlags);
              const handle = await openImageRepositories(quiet, loaded, imageFlags);
              try {
                const options = { ...buildOptionsFromFlags(quiet, imageFlags), loaded, repository: handle.client, remoteKeys: handle.remoteKeys, tag: request.tag };
                const built = await applyImagePlan(await planImageBuild(options), options);
                await writeOciLayout(request.layoutDir, built.index, { refName: 'latest', overwrite: false });
                await mkdir(request.sbomDir, { recursive: true });
                for (const [arch, doc] of built.spdx.perArch) await writeFileAtomic(join(request.sbomDir, `sbom-${arch}.spdx.json`), `${goJson(doc, 2)}\n`);
                const arch = built.arches[0]!;
                const size = arch.result.layers.reduce((sum, layer) => sum + layer.size, 0) + arch.result.image.config.data.length + arch.result.image.manifest.data.length;
                return { digest: built.index.index.digest, size, packages: arch.result.installed.length };
              } finally {
                handle.close();
              }
            },
            onProgress: (event) => {
              if (event.phase === 'packages') say(`building Kiln OS packages (log: ${logFile})\n`);
              else say(`${(event.status ?? '').padEnd(10)} image ${event.name} (${event.done}/${event.total})\n`);
            },
          },
        );
        if (flags.json) printJson(context, { ...result, log: logFile });
        else for (const image of result.images) context.stdout(`${image.name}\t${image.status}\t${image.layout}${image.digest ? `\t${image.digest}` : ''}\n`);
      } finally {
        await new Promise((done) => log.end(done));
      }
    });
}
