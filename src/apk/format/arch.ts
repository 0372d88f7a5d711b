import { ApkError } from '../errors.ts';

// The one table of CPU architectures in Kiln. An architecture is named by apk (repository
// directories, /etc/apk/arch, the index's A: field) and everything else hangs off that name: the OCI
// platform an image for it gets, the toolchain triplets a package recipe substitutes, the ELF
// identity of its binaries. It lives in the apk domain because both users, the package builder
// and the image builder, already depend on apk and on nothing lower that could hold it.
// src/lib/one-home.test.ts checks that no other module defines an `archInfo`.

/** One CPU architecture under all the names Kiln needs for it. */
export interface ArchInfo {
  /** apk name: `x86_64`, `aarch64`, `armv7` … */
  apk: string;
  /** OCI/Go name as apko spells it (`amd64`, `arm/v7`); also melange's `${{build.goarch}}`. */
  oci: string;
  /** OCI platform `architecture`. */
  architecture: string;
  /** OCI platform `variant` (arm only). */
  variant?: string;
  /** GNU triplet of the glibc toolchain (melange's host/cross triplets). */
  gnuTriplet: string;
  /** Rust target triplet, glibc. */
  rustTriplet: string;
  /** GNU triplet of the musl toolchain. */
  muslTriplet: string;
  /** Rust target triplet, musl. */
  rustMuslTriplet: string;
  /** ELF identity of the architecture's binaries: e_machine, ELFCLASS64, ELFDATA2LSB. */
  elf: { machine: number; is64: boolean; littleEndian: boolean };
}

/** The nine architectures apko and melange know, in plain string order of their OCI names (apko's order). */
export const ARCHS: readonly ArchInfo[] = [
  {
    apk: 'x86', oci: '386', architecture: '386',
    gnuTriplet: 'i486-pc-linux-gnu', rustTriplet: 'i686-unknown-linux-gnu', muslTriplet: 'i486-pc-linux-musl', rustMuslTriplet: 'i686-unknown-linux-musl',
    elf: { machine: 3, is64: false, littleEndian: true },
  },
  {
    apk: 'x86_64', oci: 'amd64', architecture: 'amd64',
    gnuTriplet: 'x86_64-pc-linux-gnu', rustTriplet: 'x86_64-unknown-linux-gnu', muslTriplet: 'x86_64-pc-linux-musl', rustMuslTriplet: 'x86_64-unknown-linux-musl',
    elf: { machine: 62, is64: true, littleEndian: true },
  },
  {
    apk: 'armhf', oci: 'arm/v6', architecture: 'arm', variant: 'v6',
    gnuTriplet: 'arm-unknown-linux-gnueabihf', rustTriplet: 'armv6-unknown-linux-gnueabihf', muslTriplet: 'arm-unknown-linux-musleabihf', rustMuslTriplet: 'armv6-unknown-linux-musleabihf',
    elf: { machine: 40, is64: false, littleEndian: true },
  },
  {
    apk: 'armv7', oci: 'arm/v7', architecture: 'arm', variant: 'v7',
    gnuTriplet: 'armv7l-unknown-linux-gnueabihf', rustTriplet: 'armv7-unknown-linux-gnueabihf', muslTriplet: 'armv7l-unknown-linux-musleabihf', rustMuslTriplet: 'armv7-unknown-linux-musleabihf',
    elf: { machine: 40, is64: false, littleEndian: true },
  },
  {
    apk: 'aarch64', oci: 'arm64', architecture: 'arm64',
    gnuTriplet: 'aarch64-unknown-linux-gnu', rustTriplet: 'aarch64-unknown-linux-gnu', muslTriplet: 'aarch64-unknown-linux-musl', rustMuslTriplet: 'aarch64-unknown-linux-musl',
    elf: { machine: 183, is64: true, littleEndian: true },
  },
  {
    apk: 'loongarch64', oci: 'loong64', architecture: 'loong64',
    gnuTriplet: 'loongarch64-unknown-linux-gnu', rustTriplet: 'loongarch64-unknown-linux-gnu', muslTriplet: 'loongarch64-unknown-linux-musl', rustMuslTriplet: 'loongarch64-unknown-linux-musl',
    elf: { machine: 258, is64: true, littleEndian: true },
  },
  {
    apk: 'ppc64le', oci: 'ppc64le', architecture: 'ppc64le',
    gnuTriplet: 'powerpc64le-unknown-linux-gnu', rustTriplet: 'powerpc64le-unknown-linux-gnu', muslTriplet: 'powerpc64le-unknown-linux-musl', rustMuslTriplet: 'powerpc64le-unknown-linux-musl',
    elf: { machine: 21, is64: true, littleEndian: true },
  },
  {
    apk: 'riscv64', oci: 'riscv64', architecture: 'riscv64',
    gnuTriplet: 'riscv64-unknown-linux-gnu', rustTriplet: 'riscv64gc-unknown-linux-gnu', muslTriplet: 'riscv64-unknown-linux-musl', rustMuslTriplet: 'riscv64gc-unknown-linux-musl',
    elf: { machine: 243, is64: true, littleEndian: true },
  },
  {
    apk: 's390x', oci: 's390x', architecture: 's390x',
    gnuTriplet: 's390x-ibm-linux-gnu', rustTriplet: 's390x-unknown-linux-gnu', muslTriplet: 's390x-ibm-linux-musl', rustMuslTriplet: 's390x-unknown-linux-musl',
    elf: { machine: 22, is64: true, littleEndian: false },
  },
];

const BY_NAME = new Map<string, ArchInfo>();
for (const arch of ARCHS) {
  BY_NAME.set(arch.oci, arch);
  BY_NAME.set(arch.apk, arch);
}

/** Node.js `process.arch` values whose apk name differs (the others are spelled alike, e.g. `s390x`). */
const NODE_ARCHS: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'x86', arm: 'armv7', ppc64: 'ppc64le', loong64: 'loongarch64' };

/** The architecture with this apk (`x86_64`) or OCI (`amd64`, `arm/v7`) name, if there is one. */
export function findArch(name: string): ArchInfo | undefined {
  return BY_NAME.get(name);
}

/** Looks an apk or OCI architecture name up; an unknown name is APK_ARCH_UNKNOWN. */
export function archInfo(name: string): ArchInfo {
  const info = BY_NAME.get(name);
  if (!info) {
    throw new ApkError('APK_ARCH_UNKNOWN', `unknown architecture ${JSON.stringify(name)} (known: ${ARCHS.map((arch) => arch.oci).join(', ')} or their apk names ${ARCHS.map((arch) => arch.apk).join(', ')})`, {
      detail: { arch: name },
    });
  }
  return info;
}

/** apk's name for the machine whose Node.js `process.arch` is `nodeArch` (passed in: this module
 *  reads no environment); a name apk does not know is returned unchanged, for the caller to refuse. */
export function hostArchName(nodeArch: string): string {
  return NODE_ARCHS[nodeArch] ?? nodeArch;
}
