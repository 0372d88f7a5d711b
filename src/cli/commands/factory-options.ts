// Options the factory's commands share: queue locations and duration flags.
import { isAbsolute, resolve } from 'node:path';
import { DURATION_FORMS, formatDuration, KilnError, parseDurationMs } from '../../lib/index.ts';

/** A queue location that means the same from any working directory (`sqlite:` paths made absolute),
 *  as child processes are given it. */
export function absoluteQueueLocation(location: string, cwd: string): string {
  return location.startsWith('sqlite:') && !isAbsolute(location.slice('sqlite:'.length)) ? `sqlite:${resolve(cwd, location.slice('sqlite:'.length))}` : location;
}

/** A duration flag in milliseconds, at least `minMs`; USAGE naming the flag otherwise. */
export function durationFlag(flag: string, text: string, minMs: number): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < minMs) throw new KilnError('USAGE', `${flag} ${JSON.stringify(text)}: expected ${DURATION_FORMS}${minMs > 0 ? `, at least ${formatDuration(minMs)}` : ''}`);
  return ms;
}
