import type { CompiledStep } from './compile.ts';
import { GUEST_WORKSPACE } from './compile.ts';
import { BuildError } from './errors.ts';
import type { BuildErrorCode } from './errors.ts';
import type { SandboxMount, SandboxRunner, SandboxSpec } from './sandbox/runner.ts';

/** PATH every step gets (melange overrides any recipe-level PATH with it). */
export const STEP_PATH = '/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin';

/** A line of step output, for streaming logs. */
export interface StepLogLine {
  step: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** Where and how steps run. */
export interface EngineContext {
  runner: SandboxRunner;
  rootfs: string;
  mounts: readonly SandboxMount[];
  /** Guest base environment (recipe environment + builder defaults + SOURCE_DATE_EPOCH). */
  baseEnv: Readonly<Record<string, string>>;
  onLog?: (line: StepLogLine) => void;
  signal?: AbortSignal;
  /** Lines of output kept for failure messages (default 25). */
  tailLines?: number;
  /** Directories put before the standard PATH (tests of packages mounted beside the root). */
  pathPrefix?: readonly string[];
  /** The guest user steps run as (environment.accounts.run-as); default the runner's. */
  user?: { uid: number; gid: number };
  /** melange's --interactive: when a step fails, open `/bin/sh` on the caller's terminal in a sandbox
   *  like the step's (same root, mounts, environment, user; in the step's working directory), and
   *  report the failure once the shell exits. Set only when stdin is a terminal. */
  interactive?: boolean;
}

/** What ran: the number of steps and the wall time of each `runs` step. */
interface EngineStats {
  stepsRun: number;
  timings?: { step: string; ms: number }[];
}

/** Builder defaults added to the guest environment when unset (melange §4). */
export function guestBaseEnvironment(recipeEnv: Readonly<Record<string, string>>, sourceDateEpoch: number): Record<string, string> {
  const env: Record<string, string> = {
    HOME: GUEST_WORKSPACE,
    GOPATH: `${GUEST_WORKSPACE}/.cache/go`,
    GOMODCACHE: '/var/cache/melange/gomodcache',
    UV_CACHE_DIR: '/var/cache/melange/uv',
    PIP_CACHE_DIR: '/var/cache/melange/pip',
    COMPOSER_CACHE_DIR: '/var/cache/melange/composer',
    npm_config_cache: '/var/cache/melange/npm',
    ...recipeEnv,
  };
  env.SOURCE_DATE_EPOCH = String(sourceDateEpoch);
  return env;
}

/** The shell script a `runs` step executes (melange's wrapper; pipefail only where the shell has it). */
export function stepScript(step: CompiledStep): string {
  const dir = shellQuote(step.workdir);
  return `set -e\n(set -o pipefail) 2>/dev/null && set -o pipefail\n[ -d ${dir} ] || mkdir -p ${dir}\ncd ${dir}\n${step.runs ?? ''}\nexit 0\n`;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const NETWORK_PATTERNS = [/Could not resolve host/i, /Temporary failure in name resolution/i, /Network is unreachable/i, /unable to resolve host address/i, /Name or service not known/i, /getaddrinfo/i, /Couldn't connect to server/i, /Connection refused/i];

/** Runs compiled steps in order (each `runs` in a fresh sandbox, then its nested steps). */
export async function runSteps(steps: readonly CompiledStep[], context: EngineContext, stats: EngineStats = { stepsRun: 0 }): Promise<EngineStats> {
  for (const step of steps) {
    if (context.signal?.aborted) throw new BuildError('STEP_FAILED', `step "${step.label}" (${step.where}) was not started: the build was cancelled`, { detail: { step: step.label } });
    if (step.runs !== undefined) {
      const started = performance.now();
      await runOne(step, context);
      stats.timings?.push({ step: step.label, ms: Math.round(performance.now() - started) });
    }
    stats.stepsRun++;
    await runSteps(step.steps, context, stats);
    if (step.requiredSteps !== undefined && step.steps.length !== step.requiredSteps) {
      throw new BuildError('ASSERTION_FAILED', `step "${step.label}" (${step.where}) requires ${step.requiredSteps} nested step${step.requiredSteps === 1 ? '' : 's'} to run, but ${step.steps.length} ran`, {
        detail: { step: step.label, required: step.requiredSteps, ran: step.steps.length },
      });
    }
  }
  return stats;
}

async function runOne(step: CompiledStep, context: EngineContext): Promise<void> {
  const keep = context.tailLines ?? 25;
  const tail: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const emit = (stream: 'stdout' | 'stderr', line: string) => {
    tail.push(line);
    if (tail.length > keep) tail.shift();
    context.onLog?.({ step: step.label, stream, line });
  };
  const path = [...(context.pathPrefix ?? []), STEP_PATH].join(':');
  const env = { ...context.baseEnv, PATH: path, ...step.environment };
  const spec: SandboxSpec = { rootfs: context.rootfs, mounts: context.mounts, workdir: GUEST_WORKSPACE, env, argv: ['/bin/sh', '-c', stepScript(step)], network: step.network, ...(context.user ? { user: context.user } : {}) };
  const result = await context.runner.run(
    spec,
    (stream, chunk) => {
      const text = partial[stream] + chunk.toString('utf8');
      const lines = text.split('\n');
      partial[stream] = lines.pop()!;
      for (const line of lines) emit(stream, line);
    },
    context.signal,
  );
  for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) emit(stream, partial[stream]);
  if (result.exitCode === 0) return;
  if (context.interactive && !context.signal?.aborted) {
    context.onLog?.({ step: step.label, stream: 'stderr', line: `step failed (exit code ${result.exitCode}): opening /bin/sh in its sandbox at ${step.workdir}; exit the shell to end the build` });
    const shell = `[ -d ${shellQuote(step.workdir)} ] && cd ${shellQuote(step.workdir)}; exec /bin/sh -i`;
    await context.runner.run({ ...spec, argv: ['/bin/sh', '-c', shell], terminal: true }, () => undefined, context.signal);
  }
  const log = tail.join('\n');
  let code: BuildErrorCode = 'STEP_FAILED';
  let why = `failed with exit code ${result.exitCode}`;
  if (result.signal) why = `was killed (${result.signal})`;
  if (/kiln-fetch: checksum mismatch/.test(log)) {
    code = 'SOURCE_CHECKSUM_MISMATCH';
    why = `found a source checksum mismatch: ${/kiln-fetch: checksum mismatch: (.*)/.exec(log)?.[1] ?? ''}`;
  } else if (/Read-only file system/.test(log)) {
    code = 'STEP_WROTE_OUTSIDE';
    why = `tried to write outside the workspace and its destination ${GUEST_WORKSPACE}/melange-out (read-only file system; install with DESTDIR=\${{targets.contextdir}})`;
  } else if (!step.network && NETWORK_PATTERNS.some((pattern) => pattern.test(log))) {
    code = 'STEP_NETWORK_DENIED';
    why = `tried to use the network, which is off for this step (use fetch with a checksum, or the ${'kiln.dev/network'} annotation)`;
  }
  throw new BuildError(code, `step "${step.label}" (${step.where}) ${why}\n--- last ${tail.length === 1 ? 'line' : `${tail.length} lines`} of its log ---\n${log}`, {
    detail: { step: step.label, where: step.where, exitCode: result.exitCode, logTail: tail },
  });
}
