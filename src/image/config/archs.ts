import { ImageError } from '../errors.ts';

/** One target platform of an image: its OCI name, apk name and OCI platform fields. */
export interface ArchInfo {
  /** Canonical OCI name as apko spells it (`amd64`, `arm/v7`). */
  oci: string;
  /** apk architecture (`x86_64`): repository directory and /etc/apk/arch. */
  apk: string;
  /** OCI platform `architecture`. */
  architecture: string;
  /** OCI platform `variant` (arm only). */
  variant?: string;
}

/** The nine architectures apko knows, in plain string order of their OCI names. */
export const ARCHS: readonly ArchInfo[] = [
  { oci: '386', apk: 'x86', architecture: '386' },
  { oci: 'amd64', apk: 'x86_64', architecture: 'amd64' },
  { oci: 'arm/v6', apk: 'armhf', architecture: 'arm', variant: 'v6' },
  { oci: 'arm/v7', apk: 'armv7', architecture: 'arm', variant: 'v7' },
  { oci: 'arm64', apk: 'aarch64', architecture: 'arm64' },
  { oci: 'loong64', apk: 'loongarch64', architecture: 'loong64' },
  { oci: 'ppc64le', apk: 'ppc64le', architecture: 'ppc64le' },
  { oci: 'riscv64', apk: 'riscv64', architecture: 'riscv64' },
  { oci: 's390x', apk: 's390x', architecture: 's390x' },
];

const BY_NAME = new Map<string, ArchInfo>();
for (const arch of ARCHS) {
  BY_NAME.set(arch.oci, arch);
  BY_NAME.set(arch.apk, arch);
}

/** Looks an OCI or apk architecture name up; unknown names are an error naming `where`. */
export function archInfo(name: string, where = 'architecture'): ArchInfo {
  const info = BY_NAME.get(name);
  if (!info) {
    throw new ImageError('IMAGE_ARCH_UNKNOWN', `${where}: unknown architecture ${JSON.stringify(name)} (known: ${ARCHS.map((a) => a.oci).join(', ')} or their apk names)`, {
      detail: { arch: name },
    });
  }
  return info;
}

/** Normalises a list of architecture names to OCI names, deduplicated and sorted (apko's rule). */
export function normalizeArchs(names: readonly string[], where?: string, hostArch = 'amd64'): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (name === 'all') for (const arch of ARCHS) out.add(arch.oci);
    else if (name === 'host') out.add(archInfo(hostArch, where).oci);
    else out.add(archInfo(name, where).oci);
  }
  return [...out].sort(compareStrings);
}

/** Plain code-unit order, the order apko sorts archs and most lists in. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
