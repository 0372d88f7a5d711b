import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isKeyUrl } from '../../apk/index.ts';
import { buildImage, loadImageConfigText } from '../../image/index.ts';
import type { PackageRepositoryPort } from '../../image/index.ts';
import { BuildError } from '../errors.ts';
import type { BuildEnvironment, BuildEnvironmentProvider } from './provider.ts';

const run = promisify(execFile);

/** A repository client opened for one recipe's keyring; closed when its environment is assembled. */
interface RecipeRepository {
  repository: PackageRepositoryPort;
  remoteKeys: ReadonlyMap<string, { name: string; content: Uint8Array }>;
  close: () => void;
}

/** Where the assembler finds packages for build environments. */
export interface ImageEnvironmentOptions {
  /** Verified package source (the apk repository client). */
  repository: PackageRepositoryPort;
  /** Repositories and public keys added to the recipe's (`-r`, `-k`). */
  repositories?: readonly string[];
  keyring?: readonly string[];
  /** Keys the repository client fetched from URLs, by URL. */
  remoteKeys?: ReadonlyMap<string, { name: string; content: Uint8Array }>;
  /** Opens a repository client that also trusts a recipe's own `environment.contents.keyring`
   *  (key files relative to `cwd`, or key URLs), as melange does. Each such recipe gets a client
   *  of its own, so a key one recipe lists is never trusted for another. */
  openRepository?: (keyring: readonly string[]) => Promise<RecipeRepository>;
  cwd?: string;
}

/** Mount points the sandbox needs inside an assembled root. */
const GUEST_DIRS = ['home/build', 'proc', 'dev', 'tmp', 'var/cache/melange', 'etc'];

/** Assembles the build guest from `environment.contents` with the image assembler, exactly as an
 *  image would be built (resolution, verified fetch, accounts), and unpacks it into a directory. */
export function createImageEnvironmentProvider(options: ImageEnvironmentOptions): BuildEnvironmentProvider {
  return {
    name: 'assembled',
    async prepare(request) {
      const contents = request.config.contents ?? {};
      const accounts = request.config.accounts ?? {};
      const users = [...(accounts.users ?? [])];
      const groups = [...(accounts.groups ?? [])];
      if (!groups.some((group) => group.groupname === 'build')) groups.push({ groupname: 'build', gid: 1000, members: ['build'] });
      if (!users.some((user) => user.username === 'build')) users.push({ username: 'build', uid: 1000, gid: 1000 });
      const config = {
        contents: {
          repositories: [...(contents.repositories ?? []), ...(options.repositories ?? []), ...request.repositories],
          keyring: [...(contents.keyring ?? []), ...(options.keyring ?? []), ...request.keyring],
          packages: [...new Set([...(contents.packages ?? []), ...request.extraPackages])],
        },
        accounts: { users, groups },
        ...(request.config.environment ? { environment: request.config.environment } : {}),
        archs: [request.arch],
      };
      let rootfs: string | undefined;
      let own: RecipeRepository | undefined;
      try {
        if (options.openRepository && contents.keyring?.length) {
          own = await options.openRepository(contents.keyring.map((entry) => (isKeyUrl(entry) ? entry : resolve(options.cwd ?? process.cwd(), entry))));
        }
        const repository = own?.repository ?? options.repository;
        const remoteKeys = own?.remoteKeys ?? options.remoteKeys;
        const loaded = loadImageConfigText(JSON.stringify(config), 'build-environment.yaml');
        const result = await buildImage({ loaded, repository, tag: 'kiln.local/build-environment:latest', archs: [request.arch], sourceDateEpoch: 0, ...(remoteKeys ? { remoteKeys } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) });
        const arch = result.arches[0];
        if (!arch) throw new Error(`no image was assembled for ${request.arch}`);
        rootfs = await mkdtemp(join(tmpdir(), 'kiln-build-env-'));
        for (const [index, layer] of arch.result.layers.entries()) {
          const file = join(rootfs, `.layer-${index}.tar.gz`);
          await writeFile(file, layer.data);
          // Device nodes are skipped: the sandbox mounts its own /dev.
          await run('tar', ['-xzf', file, '-C', rootfs, '--no-same-owner', '--exclude=dev/*', '--exclude=./dev/*']);
          await rm(file);
        }
        for (const dir of GUEST_DIRS) await mkdir(join(rootfs, dir), { recursive: true });
        const root = rootfs;
        const environment: BuildEnvironment = {
          rootfs: root,
          kind: 'assembled',
          description: `assembled from ${config.contents.packages.join(', ') || 'no packages'}`,
          packages: arch.packages.map((pkg) => ({ name: pkg.record.name, version: pkg.record.version })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
          release: () => rm(root, { recursive: true, force: true }),
        };
        return environment;
      } catch (error) {
        if (rootfs) await rm(rootfs, { recursive: true, force: true });
        throw new BuildError('ENVIRONMENT_FAILED', `assembling the build environment (${config.contents.packages.join(', ')}) failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`, { cause: error, detail: { packages: config.contents.packages } });
      } finally {
        own?.close();
      }
    },
  };
}
