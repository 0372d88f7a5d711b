import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { posix } from 'node:path';
import { BuildError } from '../errors.ts';
import type { SandboxResult, SandboxRunner, SandboxSpec, SandboxOutput } from './runner.ts';

/** Capabilities kept in the sandbox when running as root: Docker's default set (no CAP_SYS_ADMIN,
 *  so a step cannot remount the read-only root writable). */
const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** /proc entries Docker mounts read-only, and files it hides, for root without a user namespace. */
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'] as const;
const PROC_HIDDEN = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats'] as const;

/** Options of the bubblewrap adapter. */
interface BwrapOptions {
  /** bwrap executable (default `bwrap` from PATH). */
  executable?: string;
  /** Capabilities to add to / drop from the default set (recipe `capabilities`). */
  addCapabilities?: readonly string[];
  dropCapabilities?: readonly string[];
}

/** Runs each step with `bwrap`: the root read-only, fresh /dev, /proc and /tmp, new pid/ipc/uts
 *  (and net unless allowed) namespaces, cleared environment, dies with its parent. */
export function createBwrapRunner(options: BwrapOptions = {}): SandboxRunner {
  const executable = options.executable ?? 'bwrap';
  return {
    name: 'bubblewrap',
    isolation: { filesystem: true, network: true },
    run(spec, output, signal) {
      // The environment (which may hold --env-file secrets) reaches bwrap through a pipe (`--args 3`),
      // not its command line, which every local user can read in /proc.
      const { sandbox, environment, command } = bwrapParts(spec, options);
      return runProcess(executable, [...sandbox, '--args', '3', ...command], output, signal, { argsOnFd3: environment, ...(spec.terminal ? { terminal: true } : {}) });
    },
  };
}

/** The bwrap command line for a spec (exported for tests and debugging). */
export function bwrapArguments(spec: SandboxSpec, options: BwrapOptions = {}): string[] {
  const { sandbox, environment, command } = bwrapParts(spec, options);
  return [...sandbox, ...environment, ...command];
}

/** The bwrap command line in its three parts: the sandbox, the environment (`--clearenv` and
 *  `--setenv`s) and the command (`--` and argv). */
function bwrapParts(spec: SandboxSpec, options: BwrapOptions): { sandbox: string[]; environment: string[]; command: string[] } {
  const args = [...rootArguments(spec), '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session');
  if (!spec.network) args.push('--unshare-net');
  else if (spec.rootfs !== '/' && existsSync('/etc/resolv.conf')) args.push('--ro-bind', '/etc/resolv.conf', '/etc/resolv.conf');
  if (spec.user) {
    // A user namespace mapping the calling user to the requested guest ids (melange's run-as).
    args.push('--unshare-user', '--uid', String(spec.user.uid), '--gid', String(spec.user.gid));
  } else if (process.getuid?.() === 0) {
    const caps = new Set<string>(DEFAULT_CAPABILITIES);
    for (const cap of options.addCapabilities ?? []) caps.add(cap.toUpperCase());
    for (const cap of options.dropCapabilities ?? []) caps.delete(cap.toUpperCase());
    args.push('--cap-drop', 'ALL');
    for (const cap of [...caps].sort()) args.push('--cap-add', cap);
    // Root in the host's user namespace: what Docker makes read-only or hides in /proc is so here
    // too (a step could otherwise set kernel.core_pattern and run code as host root), and the host
    // root's home (keys, credentials) is not there to read when the host itself is the build root.
    for (const dir of PROC_READ_ONLY) args.push('--ro-bind-try', dir, dir);
    for (const file of PROC_HIDDEN) if (existsSync(file)) args.push('--ro-bind', '/dev/null', file);
    if (spec.rootfs === '/' && existsSync('/root')) args.push('--tmpfs', '/root');
  } else {
    args.push('--unshare-user', '--uid', '1000', '--gid', '1000');
  }
  // A mount target missing from the read-only root needs a writable parent: cover the deepest
  // existing ancestor with a tmpfs (e.g. /home for /home/build), never the root itself.
  const tmpfs = new Set<string>(['/tmp', '/dev', '/proc']);
  const shadowed = shadowedTopLevels(spec);
  for (const mount of spec.mounts) {
    if (shadowed.has(topLevel(mount.target))) {
      args.push(mount.writable ? '--bind' : '--ro-bind', mount.source, mount.target);
      continue;
    }
    const covered = [...tmpfs].some((dir) => mount.target === dir || mount.target.startsWith(`${dir}/`));
    if (!covered && !existsSync(hostPath(spec.rootfs, mount.target))) {
      let ancestor = posix.dirname(mount.target);
      while (ancestor !== '/' && !existsSync(hostPath(spec.rootfs, ancestor))) ancestor = posix.dirname(ancestor);
      if (ancestor === '/') {
        throw new BuildError('SANDBOX_FAILED', `cannot mount ${mount.target}: no parent directory exists in the build root ${spec.rootfs}`, { detail: { target: mount.target } });
      }
      if (!tmpfs.has(ancestor)) {
        args.push('--tmpfs', ancestor);
        tmpfs.add(ancestor);
      }
    }
    args.push(mount.writable ? '--bind' : '--ro-bind', mount.source, mount.target);
  }
  // With the root rebuilt, bwrap's own root is a tmpfs: once everything is mounted, make it
  // read-only like a bound host root.
  if (shadowed.size > 0) args.push('--remount-ro', '/');
  args.push('--chdir', spec.workdir);
  const environment = ['--clearenv'];
  for (const [key, value] of Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) environment.push('--setenv', key, value);
  return { sandbox: args, environment, command: ['--', ...spec.argv] };
}

function topLevel(path: string): string {
  return `/${path.split('/').filter(Boolean)[0] ?? ''}`;
}

/** Top-level symlinked directories of the host root (`/lib -> usr/lib` on merged-/usr systems)
 *  that a mount must add an entry to: a tmpfs there would follow the link and hide the host's
 *  libraries, so such a directory is rebuilt as links to every entry of its target instead. */
function shadowedTopLevels(spec: SandboxSpec): Set<string> {
  const shadowed = new Set<string>();
  if (spec.rootfs !== '/') return shadowed;
  for (const mount of spec.mounts) {
    const top = topLevel(mount.target);
    if (top === mount.target || existsSync(mount.target)) continue;
    try {
      if (lstatSync(top).isSymbolicLink() && posix.dirname(mount.target) === top) shadowed.add(top);
    } catch {
      // a missing top-level directory is handled by the tmpfs rule
    }
  }
  return shadowed;
}

/** The guest root: the rootfs bound read-only, or, when a symlinked top-level directory of the
 *  host root gains entries, the host's top-level entries one by one around a rebuilt directory. */
function rootArguments(spec: SandboxSpec): string[] {
  const shadowed = shadowedTopLevels(spec);
  if (shadowed.size === 0) return ['--ro-bind', spec.rootfs, '/'];
  const targets = new Set(spec.mounts.map((mount) => mount.target));
  const args: string[] = [];
  for (const name of readdirSync('/').sort()) {
    const path = `/${name}`;
    if (['/proc', '/dev', '/tmp'].includes(path)) continue;
    const info = lstatSync(path);
    if (shadowed.has(path)) {
      const real = realpathSync(path);
      args.push('--dir', path);
      for (const entry of readdirSync(real).sort()) if (!targets.has(`${path}/${entry}`)) args.push('--symlink', `${real}/${entry}`, `${path}/${entry}`);
    } else if (info.isSymbolicLink()) {
      args.push('--symlink', readlinkSync(path), path);
    } else if (info.isDirectory() || info.isFile()) {
      args.push('--ro-bind', path, path);
    }
  }
  return args;
}

function hostPath(rootfs: string, guest: string): string {
  return rootfs === '/' ? guest : posix.join(rootfs, guest);
}

/** Spawns a process, streams its output, and kills it on abort. */
export function runProcess(
  executable: string,
  args: readonly string[],
  output: SandboxOutput,
  signal?: AbortSignal,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean; terminal?: boolean; argsOnFd3?: readonly string[] } = {},
): Promise<SandboxResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      resolve({ exitCode: 137, signal: 'SIGKILL' });
      return;
    }
    // A terminal command stays in the caller's process group, or it could not read the terminal.
    const stdio: Array<'inherit' | 'ignore' | 'pipe'> = options.terminal ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'];
    if (options.argsOnFd3) stdio.push('pipe');
    const child = spawn(executable, args, { stdio, cwd: options.cwd, env: options.env ?? {}, detached: options.terminal ? false : (options.detached ?? false) });
    if (options.argsOnFd3) {
      const fd3 = child.stdio[3] as NodeJS.WritableStream;
      // An early exit of the child closes the pipe: its status tells what went wrong, not EPIPE.
      (fd3 as unknown as { on(event: 'error', listener: () => void): void }).on('error', () => undefined);
      fd3.end(options.argsOnFd3.map((arg) => `${arg}\0`).join(''));
    }
    const kill = () => {
      if (options.detached && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
          return;
        } catch {
          // fall through to killing the direct child
        }
      }
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', kill, { once: true });
    child.stdout?.on('data', (chunk: Buffer) => output('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => output('stderr', chunk));
    child.on('error', (error) => {
      signal?.removeEventListener('abort', kill);
      reject(new BuildError('SANDBOX_FAILED', `cannot start ${executable}: ${error.message}`, { cause: error, detail: { executable } }));
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', kill);
      resolve(killedBy ? { exitCode: 128 + 9, signal: killedBy } : { exitCode: code ?? 1 });
    });
  });
}
