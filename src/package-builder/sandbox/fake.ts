import type { SandboxRunner, SandboxSpec } from './runner.ts';
import { runProcess } from './bwrap.ts';

/** A runner for fast tests: runs the command directly on the host (no isolation), translating guest
 *  mount paths in the arguments, environment and working directory to their host sources. */
export function createFakeRunner(): SandboxRunner {
  return {
    name: 'fake',
    isolation: { filesystem: false, network: false },
    run(spec, output, signal) {
      const translate = pathTranslator(spec);
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(spec.env)) env[key] = translate(value);
      const [command, ...args] = spec.argv.map(translate);
      return runProcess(command!, args, output, signal, { cwd: translate(spec.workdir), env, detached: true, ...(spec.terminal ? { terminal: true } : {}) });
    },
  };
}

function pathTranslator(spec: SandboxSpec): (text: string) => string {
  const mounts = [...spec.mounts].sort((a, b) => b.target.length - a.target.length);
  if (mounts.length === 0) return (text) => text;
  const escaped = mounts.map((mount) => mount.target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(`(${escaped.join('|')})(?=/|$|[^A-Za-z0-9._-])`, 'g');
  return (text) => text.replace(pattern, (target) => mounts.find((mount) => mount.target === target)!.source);
}
