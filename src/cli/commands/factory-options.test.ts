import { describe, expect, it } from 'vitest';
import { absoluteQueueLocation, durationFlag } from './factory-options.ts';

describe('durationFlag', () => {
  it('reads durations as the other duration flags do', () => {
    expect(durationFlag('--step-lease', '1h30m', 1000)).toBe(5_400_000);
    expect(durationFlag('--claim-timeout', '600', 1000)).toBe(600_000);
    expect(durationFlag('--poll-interval', '0', 0)).toBe(0);
  });

  it('refuses text that is no duration, or one below the least, naming the flag and what it takes', () => {
    expect(() => durationFlag('--claim-timeout', 'soon', 1000)).toThrow(expect.objectContaining({ code: 'USAGE', message: '--claim-timeout "soon": expected a whole number of seconds or a duration like 90s, 15m, 1h30m, 7d, 1w, at least 1s' }));
    expect(() => durationFlag('--step-lease', '500ms', 1000)).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('--step-lease "500ms"') }));
    expect(() => durationFlag('--poll-interval', '-1s', 0)).toThrow(expect.objectContaining({ message: '--poll-interval "-1s": expected a whole number of seconds or a duration like 90s, 15m, 1h30m, 7d, 1w' }));
  });
});

describe('absoluteQueueLocation', () => {
  it('makes a relative sqlite: path absolute against the working directory and leaves the rest', () => {
    expect(absoluteQueueLocation('sqlite:queue.db', '/srv/factory')).toBe('sqlite:/srv/factory/queue.db');
    expect(absoluteQueueLocation('sqlite:../q/queue.db', '/srv/factory')).toBe('sqlite:/srv/q/queue.db');
    expect(absoluteQueueLocation('sqlite:/var/lib/kiln/queue.db', '/srv/factory')).toBe('sqlite:/var/lib/kiln/queue.db');
    expect(absoluteQueueLocation('postgres://kiln@db/kiln', '/srv/factory')).toBe('postgres://kiln@db/kiln');
  });
});
