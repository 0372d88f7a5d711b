/** A host path made visible inside the sandbox. */
export interface SandboxMount {
  /** Host path (file or directory). */
  source: string;
  /** Absolute guest path. */
  target: string;
  writable: boolean;
}

/** One command to run in a fresh sandbox. */
export interface SandboxSpec {
  /** Host directory that becomes the guest's `/`, mounted read-only (`/` for --bootstrap-host). */
  rootfs: string;
  /** Extra mounts, applied in order after the root (workspace, caches, sources). */
  mounts: readonly SandboxMount[];
  /** Absolute guest working directory (must exist). */
  workdir: string;
  /** The complete environment: nothing from the host leaks in. */
  env: Readonly<Record<string, string>>;
  argv: readonly string[];
  /** Whether the command may use the network; otherwise it gets only a loopback interface. */
  network: boolean;
  /** The guest user and group the command runs as (a recipe's run-as); default the adapter's own.
   *  Adapters without isolation (the fake) run as the calling user. */
  user?: { uid: number; gid: number };
  /** Attach the command to the caller's terminal (stdin, stdout and stderr inherited; the output
   *  callback gets nothing): the debug shell of `--interactive`. */
  terminal?: boolean;
}

/** Output chunks as they arrive. */
export type SandboxOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) => void;

/** How a sandboxed command ended. */
export interface SandboxResult {
  exitCode: number;
  /** Set when the command was killed (abort). */
  signal?: string;
}

/** The sandbox-runner port: runs one command per call in a fresh, isolated environment.
 *  Contract: a fresh mount namespace per call; `rootfs` and read-only mounts cannot be written;
 *  writable mounts are the only persistent effects; no network unless `network`; environment exactly
 *  `env`; aborting kills everything the command started. */
export interface SandboxRunner {
  readonly name: string;
  /** What the adapter enforces (the fake runs on the host and enforces neither). */
  readonly isolation: { readonly filesystem: boolean; readonly network: boolean };
  run(spec: SandboxSpec, output: SandboxOutput, signal?: AbortSignal): Promise<SandboxResult>;
}
