import { execFile } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { archInfo, hostArchName } from '../../apk/index.ts';
import { BuildError } from '../errors.ts';
import type { BuildEnvironment, BuildEnvironmentProvider, EnvironmentPackage } from './provider.ts';

const run = promisify(execFile);

/** Guest path of the sysroot a host build gets its recipe's packages in (read-only). */
export const HOST_SYSROOT = '/opt/kiln/sysroot';

/** Options of the host environment. */
export interface HostEnvironmentOptions {
  /** Assembles the recipe's `environment.contents.packages` (from the appended repositories) into
   *  a root mounted at HOST_SYSROOT, with KILN_SYSROOT naming it: how the host compiler builds
   *  against Kiln's own libc and libraries. Without it the package list is not installed. */
  sysroot?: BuildEnvironmentProvider;
}

/** --bootstrap-host: the host's root filesystem, read-only, is the build environment; provenance
 *  records the host and its dpkg packages (and the sysroot's apk packages when there is one). */
export function createHostEnvironmentProvider(options: HostEnvironmentOptions = {}): BuildEnvironmentProvider {
  return {
    name: 'bootstrap-host',
    async prepare(request) {
      const host = archInfo(hostArchName(process.arch));
      if (archInfo(request.arch).apk !== host.apk) {
        throw new BuildError('ENVIRONMENT_FAILED', `--bootstrap-host builds only for the host architecture ${host.apk}, not ${request.arch}`, { detail: { arch: request.arch } });
      }
      let description = 'host';
      try {
        const osRelease = await readFile('/etc/os-release', 'utf8');
        description = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? description;
      } catch {
        // keep the generic description
      }
      const wanted = request.config.contents?.packages ?? [];
      const sysroot = options.sysroot && wanted.length > 0
        ? await options.sysroot.prepare({ ...request, extraPackages: [] })
        : undefined;
      const environment: BuildEnvironment = {
        rootfs: '/',
        kind: 'bootstrap-host',
        description: `host root filesystem (${description})${sysroot ? ` with a sysroot at ${HOST_SYSROOT} ${sysroot.description}` : ''}`,
        packages: [...(await dpkgPackages()), ...(sysroot?.packages ?? []).map((pkg) => ({ ...pkg, kind: 'apk' as const }))],
        ...(sysroot ? { mounts: [{ source: sysroot.rootfs, target: HOST_SYSROOT, writable: false }, ...(await loaderMounts(sysroot.rootfs))], environment: { KILN_SYSROOT: HOST_SYSROOT }, pathPrefix: [`${HOST_SYSROOT}/usr/bin`] } : {}),
        release: async () => {
          await sysroot?.release();
        },
      };
      return environment;
    },
  };
}

/** The sysroot's dynamic loader and shared libraries, also at /lib in the guest, so programs a
 *  configure script links against the sysroot run during the build (the loader looks in /lib and
 *  /usr/lib). Only on merged-/usr hosts, where the guest's /lib can be rebuilt around them. */
async function loaderMounts(sysroot: string): Promise<{ source: string; target: string; writable: boolean }[]> {
  try {
    if (!(await lstat('/lib')).isSymbolicLink()) return [];
  } catch {
    return [];
  }
  const mounts: { source: string; target: string; writable: boolean }[] = [];
  const seen = new Set<string>();
  for (const dir of ['lib', 'usr/lib']) {
    let names: string[];
    try {
      names = (await readdir(join(sysroot, dir))).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name) || !/\.so(\.\d+)+$|^ld-musl-/.test(name)) continue;
      if (await exists(join('/usr/lib', name))) continue;
      seen.add(name);
      mounts.push({ source: join(sysroot, dir, name), target: `/lib/${name}`, writable: false });
    }
  }
  return mounts;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

async function dpkgPackages(): Promise<EnvironmentPackage[]> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f', '${Package}\t${Version}\t${db:Status-Abbrev}\n'], { maxBuffer: 32 * 1024 * 1024 });
    return stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((fields) => fields.length === 3 && fields[2]!.startsWith('ii'))
      .map(([name, version]) => ({ name: name!, version: version! }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

/** Used when no assembler is configured: says how to proceed instead of building in a wrong root. */
export function createUnavailableEnvironmentProvider(reason: string): BuildEnvironmentProvider {
  return {
    name: 'unavailable',
    prepare() {
      return Promise.reject(new BuildError('ENVIRONMENT_FAILED', reason));
    },
  };
}
