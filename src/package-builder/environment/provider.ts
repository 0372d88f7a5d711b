import type { EnvironmentConfig } from '../recipe/schema.ts';

/** What a build asks of its guest: the recipe's environment plus packages steps need. */
export interface EnvironmentRequest {
  arch: string;
  config: EnvironmentConfig;
  /** Packages added by `needs` of steps that run (and --package-append). */
  extraPackages: readonly string[];
  /** Repositories and keys appended from the command line. */
  repositories: readonly string[];
  keyring: readonly string[];
}

/** A package installed in the guest, for provenance. */
export interface EnvironmentPackage {
  name: string;
  version: string;
  /** Package type for its purl (default: deb on the host, apk when assembled). */
  kind?: 'deb' | 'apk';
}

/** A prepared guest root. */
export interface BuildEnvironment {
  /** Host directory used as the guest's `/` (read-only in the sandbox). */
  rootfs: string;
  /** `bootstrap-host` (the host's root) or `assembled` (built from packages). */
  kind: 'bootstrap-host' | 'assembled';
  /** Human description for provenance and logs (e.g. the host OS). */
  description: string;
  packages: EnvironmentPackage[];
  /** Extra mounts every step gets (a sysroot beside the host's root). */
  mounts?: readonly { source: string; target: string; writable: boolean }[];
  /** Directories searched before the standard PATH (the sysroot's tools). */
  pathPrefix?: readonly string[];
  /** Variables every step gets (the recipe's environment wins). */
  environment?: Readonly<Record<string, string>>;
  /** Removes whatever `prepare` created. */
  release(): Promise<void>;
}

/** Port: turns an environment request into a guest root. The image assembler plugs in here. */
export interface BuildEnvironmentProvider {
  readonly name: string;
  prepare(request: EnvironmentRequest): Promise<BuildEnvironment>;
}
