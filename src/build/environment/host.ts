import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { archInfo, hostArchName } from '../../apk/index.ts';
import { BuildError } from '../errors.ts';
import type { BuildEnvironment, BuildEnvironmentProvider, EnvironmentPackage } from './provider.ts';

const run = promisify(execFile);

/** --bootstrap-host: the host's root filesystem, read-only, is the build environment. The
 *  recipe's package list is not installed; provenance records the host and its dpkg packages. */
export function createHostEnvironmentProvider(): BuildEnvironmentProvider {
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
      const environment: BuildEnvironment = {
        rootfs: '/',
        kind: 'bootstrap-host',
        description: `host root filesystem (${description})`,
        packages: await dpkgPackages(),
        release: async () => {},
      };
      return environment;
    },
  };
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
