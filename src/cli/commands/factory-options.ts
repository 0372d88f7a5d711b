// Options the factory's commands share: queue locations and duration flags.
import { isAbsolute, resolve } from 'node:path';
import { DURATION_FORMS, formatDuration, KilnError, parseDurationMs } from '../../lib/index.ts';
import { STEP_QUEUE_VARIABLE, WORKER_QUEUE_VARIABLE } from '../../factory/index.ts';
import { redactUrl } from '../../metadata/index.ts';

/** A `--queue` value as a location that means the same from any working directory: `env:NAME` is read
 *  from that environment variable (so a URL with a password need not be on a command line, where
 *  `ps` shows it), and a relative `sqlite:` path is made absolute. USAGE when NAME is unset. */
export function queueLocationFlag(value: string, cwd: string, env: NodeJS.ProcessEnv): string {
  let location = value;
  if (value.startsWith('env:')) {
    const name = value.slice('env:'.length);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new KilnError('USAGE', `--queue ${value}: ${name ? `${JSON.stringify(name)} is no environment variable name (letters, digits and _, not starting with a digit)` : 'no environment variable named after env:'}`);
    location = env[name] ?? '';
    if (location === '') throw new KilnError('USAGE', `--queue ${value}: environment variable ${name} is not set`);
  }
  return location.startsWith('sqlite:') && !isAbsolute(location.slice('sqlite:'.length)) ? `sqlite:${resolve(cwd, location.slice('sqlite:'.length))}` : location;
}

/** How messages name the queue `--queue value` reached at `location`: `shown`, with any password
 *  redacted, and `workerFlag`, what `kiln factory worker --queue` takes to reach it (the `env:NAME`
 *  as given; `URL` where only a redacted form could be shown). A run started by serve or a worker
 *  is told the form its operator gave them (WORKER_QUEUE_VARIABLE), not its own private variable. */
export function queueNames(value: string, location: string, env: NodeJS.ProcessEnv = {}): { shown: string; workerFlag: string } {
  const shown = location.startsWith('postgres') ? redactUrl(location) : location;
  const given = value === `env:${STEP_QUEUE_VARIABLE}` ? env[WORKER_QUEUE_VARIABLE] : value.startsWith('env:') ? value : undefined;
  return { shown, workerFlag: given || (shown === location ? location : 'URL') };
}

/** A duration flag in milliseconds, at least `minMs`; USAGE naming the flag otherwise. */
export function durationFlag(flag: string, text: string, minMs: number): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < minMs) throw new KilnError('USAGE', `${flag} ${JSON.stringify(text)}: expected ${DURATION_FORMS}${minMs > 0 ? `, at least ${formatDuration(minMs)}` : ''}`);
  return ms;
}
