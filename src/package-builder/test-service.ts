import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { archInfo, hostArchName, readApkFile } from '../apk/index.ts';
import { readInputText, silentLogger } from '../lib/index.ts';
import type { Logger } from '../lib/index.ts';
import { packageFileName } from './build-service.ts';
import { compileTest, GUEST_WORKSPACE } from './compile.ts';
import { guestBaseEnvironment, runSteps } from './engine.ts';
import type { StepLogLine } from './engine.ts';
import type { BuildEnvironmentProvider } from './environment/provider.ts';
import { BuildError } from './errors.ts';
import { createPipelineLibrary } from './pipeline-library.ts';
import { loadRecipe } from './recipe/load.ts';
import type { SandboxRunner } from './sandbox/runner.ts';

/** Guest path where the package under test is mounted (read-only) over a bootstrap-host guest. */
export const TEST_ROOT = '/tmp/kiln-test-root';

/** What to test. */
export interface TestRequest {
  recipeFile: string;
  /** Directory holding OUT/ARCH/NAME-VERSION.apk from a previous build. */
  outDir: string;
  arch?: string;
  /** Test only this package (default: every package with a test block). */
  packageName?: string;
  pipelineDirs?: readonly string[];
  sourceDateEpoch?: number;
  /** melange --interactive: a shell on the caller's terminal in the sandbox of a failed test step. */
  interactive?: boolean;
}

/** Ports of the test service. */
export interface TestPorts {
  runner: SandboxRunner;
  environment: BuildEnvironmentProvider;
  logger?: Logger;
  onLog?: (line: StepLogLine) => void;
}

/** Outcome per tested package. */
export interface TestOutcome {
  package: string;
  steps: number;
}

/** Runs the `test:` pipelines of a recipe against its built packages. With a bootstrap-host guest
 *  the package cannot be installed into the read-only root, so its files are mounted at
 *  /tmp/kiln-test-root and its bin and lib directories put first on PATH and LD_LIBRARY_PATH. */
export async function testRecipe(request: TestRequest, ports: TestPorts): Promise<TestOutcome[]> {
  const logger = ports.logger ?? silentLogger;
  const recipeFile = resolve(request.recipeFile);
  const recipe = loadRecipe(recipeFile, await readInputText(recipeFile, { what: 'recipe' }));
  const arch = archInfo(request.arch ? request.arch : hostArchName(process.arch));
  const library = createPipelineLibrary(request.pipelineDirs ?? []);
  const candidates = [
    { name: recipe.package.name, test: recipe.test },
    ...recipe.subpackages.map((sub) => ({ name: sub.name, test: sub.test })),
  ].filter((pkg) => (request.packageName ? pkg.name === request.packageName : (pkg.test?.pipeline ?? []).length > 0));
  if (request.packageName && candidates.length === 0) {
    throw new BuildError('RECIPE_INVALID', `${recipeFile}: recipe has no package ${request.packageName}`, { detail: { package: request.packageName } });
  }
  const outcomes: TestOutcome[] = [];
  for (const candidate of candidates) {
    const { steps, needs } = await compileTest(recipe, { arch, library }, candidate.name);
    const apk = join(resolve(request.outDir), arch.apk, packageFileName(candidate.name, recipe.fullVersion));
    const root = await mkdtemp(join(tmpdir(), `kiln-test-${candidate.name}-`));
    const workspace = await mkdtemp(join(tmpdir(), `kiln-test-ws-${candidate.name}-`));
    // An assembled guest installs the package under test from the output directory; the host guest
    // cannot, and gets it mounted instead.
    const environment = await ports.environment.prepare({ arch: arch.apk, config: candidate.test?.environment ?? {}, extraPackages: [...needs, candidate.name], repositories: [resolve(request.outDir)], keyring: [] });
    try {
      await extractPackage(apk, root);
      const prefixes = environment.rootfs === '/' ? [`${TEST_ROOT}/usr/bin`, `${TEST_ROOT}/usr/sbin`, `${TEST_ROOT}/bin`, `${TEST_ROOT}/sbin`] : [];
      const env = guestBaseEnvironment(candidate.test?.environment?.environment ?? {}, request.sourceDateEpoch ?? 0);
      if (environment.rootfs === '/') {
        env.LD_LIBRARY_PATH = `${TEST_ROOT}/usr/lib:${TEST_ROOT}/lib`;
        env.PKG_CONFIG_PATH = `${TEST_ROOT}/usr/lib/pkgconfig:${TEST_ROOT}/usr/share/pkgconfig`;
      }
      logger.info({ package: candidate.name, steps: steps.length }, 'test started');
      try {
        const stats = await runSteps(steps, {
          runner: ports.runner,
          rootfs: environment.rootfs,
          mounts: [
            { source: workspace, target: GUEST_WORKSPACE, writable: true },
            { source: root, target: TEST_ROOT, writable: false },
          ],
          baseEnv: env,
          pathPrefix: prefixes,
          ...(request.interactive ? { interactive: true } : {}),
          ...(ports.onLog ? { onLog: (line: StepLogLine) => ports.onLog!({ ...line, step: `test ${candidate.name}: ${line.step}` }) } : {}),
        });
        outcomes.push({ package: candidate.name, steps: stats.stepsRun });
      } catch (error) {
        if (error instanceof BuildError) throw new BuildError('TEST_FAILED', `test of ${candidate.name} failed: ${error.message}`, { cause: error, detail: { package: candidate.name } });
        throw error;
      }
    } finally {
      await environment.release();
      await rm(root, { recursive: true, force: true });
      await rm(workspace, { recursive: true, force: true });
    }
  }
  return outcomes;
}

/** Extracts a package's files (verified by the reader: signature optional, checksums and datahash). */
async function extractPackage(apk: string, root: string): Promise<void> {
  try {
    for await (const item of readApkFile(apk, { allowUntrusted: true })) {
      if (item.kind !== 'entry') continue;
      const target = join(root, item.entry.path);
      if (!target.startsWith(`${root}/`)) continue;
      if (item.entry.type === 'directory') await mkdir(target, { recursive: true, mode: 0o755 });
      else if (item.entry.type === 'symlink') {
        await mkdir(dirname(target), { recursive: true });
        await symlink(item.entry.linkTarget ?? '', target);
      } else if (item.entry.type === 'file' && item.content) {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(item.content, createWriteStream(target, { mode: item.entry.mode & 0o777 }));
      }
    }
  } catch (error) {
    throw new BuildError('TEST_FAILED', `${apk}: cannot read the package under test (build it first with kiln pkg build)`, { cause: error, detail: { file: apk } });
  }
}
