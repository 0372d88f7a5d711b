import { BuildError } from './errors.ts';

/** Per-architecture names a recipe can refer to. */
export interface ArchInfo {
  /** apk name: x86_64, aarch64, … */
  apk: string;
  /** OCI/Go name: amd64, arm64, … */
  go: string;
  gnuTriplet: string;
  rustTriplet: string;
  muslTriplet: string;
  rustMuslTriplet: string;
}

const TABLE: readonly ArchInfo[] = [
  { apk: 'x86_64', go: 'amd64', gnuTriplet: 'x86_64-pc-linux-gnu', rustTriplet: 'x86_64-unknown-linux-gnu', muslTriplet: 'x86_64-pc-linux-musl', rustMuslTriplet: 'x86_64-unknown-linux-musl' },
  { apk: 'aarch64', go: 'arm64', gnuTriplet: 'aarch64-unknown-linux-gnu', rustTriplet: 'aarch64-unknown-linux-gnu', muslTriplet: 'aarch64-unknown-linux-musl', rustMuslTriplet: 'aarch64-unknown-linux-musl' },
  { apk: 'x86', go: '386', gnuTriplet: 'i486-pc-linux-gnu', rustTriplet: 'i686-unknown-linux-gnu', muslTriplet: 'i486-pc-linux-musl', rustMuslTriplet: 'i686-unknown-linux-musl' },
  { apk: 'armhf', go: 'arm/v6', gnuTriplet: 'arm-unknown-linux-gnueabihf', rustTriplet: 'armv6-unknown-linux-gnueabihf', muslTriplet: 'arm-unknown-linux-musleabihf', rustMuslTriplet: 'armv6-unknown-linux-musleabihf' },
  { apk: 'armv7', go: 'arm/v7', gnuTriplet: 'armv7l-unknown-linux-gnueabihf', rustTriplet: 'armv7-unknown-linux-gnueabihf', muslTriplet: 'armv7l-unknown-linux-musleabihf', rustMuslTriplet: 'armv7-unknown-linux-musleabihf' },
  { apk: 'ppc64le', go: 'ppc64le', gnuTriplet: 'powerpc64le-unknown-linux-gnu', rustTriplet: 'powerpc64le-unknown-linux-gnu', muslTriplet: 'powerpc64le-unknown-linux-musl', rustMuslTriplet: 'powerpc64le-unknown-linux-musl' },
  { apk: 's390x', go: 's390x', gnuTriplet: 's390x-ibm-linux-gnu', rustTriplet: 's390x-unknown-linux-gnu', muslTriplet: 's390x-ibm-linux-musl', rustMuslTriplet: 's390x-unknown-linux-musl' },
  { apk: 'riscv64', go: 'riscv64', gnuTriplet: 'riscv64-unknown-linux-gnu', rustTriplet: 'riscv64gc-unknown-linux-gnu', muslTriplet: 'riscv64-unknown-linux-musl', rustMuslTriplet: 'riscv64gc-unknown-linux-musl' },
  { apk: 'loongarch64', go: 'loong64', gnuTriplet: 'loongarch64-unknown-linux-gnu', rustTriplet: 'loongarch64-unknown-linux-gnu', muslTriplet: 'loongarch64-unknown-linux-musl', rustMuslTriplet: 'loongarch64-unknown-linux-musl' },
];

/** Accepts apk (`x86_64`) or OCI/Go (`amd64`) spellings. */
export function archInfo(name: string): ArchInfo {
  const found = TABLE.find((arch) => arch.apk === name || arch.go === name || (name === 'arm64' && arch.apk === 'aarch64'));
  if (!found) throw new BuildError('RECIPE_UNSUPPORTED', `unsupported architecture ${JSON.stringify(name)} (known: ${TABLE.map((arch) => arch.apk).join(', ')})`, { detail: { arch: name } });
  return found;
}

/** The apk architecture of the machine running Kiln. */
export function hostArch(nodeArch: string = process.arch): ArchInfo {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'x86', arm: 'armv7', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loongarch64' };
  return archInfo(map[nodeArch] ?? nodeArch);
}
