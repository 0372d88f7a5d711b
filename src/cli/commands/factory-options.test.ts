import { describe, expect, it } from 'vitest';
import { durationFlag, queueLocationFlag, queueNames } from './factory-options.ts';

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

describe('queueLocationFlag', () => {
  it('makes a relative sqlite: path absolute against the working directory and leaves the rest', () => {
    expect(queueLocationFlag('sqlite:queue.db', '/srv/factory', {})).toBe('sqlite:/srv/factory/queue.db');
    expect(queueLocationFlag('sqlite:../q/queue.db', '/srv/factory', {})).toBe('sqlite:/srv/q/queue.db');
    expect(queueLocationFlag('sqlite:/var/lib/kiln/queue.db', '/srv/factory', {})).toBe('sqlite:/var/lib/kiln/queue.db');
    expect(queueLocationFlag('postgres://kiln@db/kiln', '/srv/factory', {})).toBe('postgres://kiln@db/kiln');
  });

  it('reads env:NAME from the environment, and refuses an unset or empty variable naming it', () => {
    const env = { KILN_QUEUE: 'postgres://kiln:secret@db/kiln', REL: 'sqlite:q.db', EMPTY: '' };
    expect(queueLocationFlag('env:KILN_QUEUE', '/srv', env)).toBe('postgres://kiln:secret@db/kiln');
    expect(queueLocationFlag('env:REL', '/srv', env)).toBe('sqlite:/srv/q.db');
    expect(() => queueLocationFlag('env:MISSING', '/srv', env)).toThrow(expect.objectContaining({ code: 'USAGE', message: '--queue env:MISSING: environment variable MISSING is not set' }));
    expect(() => queueLocationFlag('env:EMPTY', '/srv', env)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => queueLocationFlag('env:', '/srv', env)).toThrow(expect.objectContaining({ code: 'USAGE', message: '--queue env:: no environment variable named after env:' }));
    expect(() => queueLocationFlag('env:1X', '/srv', env)).toThrow(expect.objectContaining({ code: 'USAGE', message: '--queue env:1X: "1X" is no environment variable name (letters, digits and _, not starting with a digit)' }));
  });
});

describe('queueNames', () => {
  it('shows a queue without its password, and tells workers the env:NAME the run was given rather than a redacted URL', () => {
    expect(queueNames('env:KILN_QUEUE', 'postgres://kiln:secret@db/kiln')).toEqual({ shown: 'postgres://kiln:***@db/kiln', workerFlag: 'env:KILN_QUEUE' });
    expect(queueNames('postgres://kiln:secret@db/kiln', 'postgres://kiln:secret@db/kiln')).toEqual({ shown: 'postgres://kiln:***@db/kiln', workerFlag: 'URL' });
    expect(queueNames('postgres://kiln@db/kiln', 'postgres://kiln@db/kiln')).toEqual({ shown: 'postgres://kiln@db/kiln', workerFlag: 'postgres://kiln@db/kiln' });
    expect(queueNames('sqlite:q.db', 'sqlite:/srv/q.db')).toEqual({ shown: 'sqlite:/srv/q.db', workerFlag: 'sqlite:/srv/q.db' });
    // A run started by serve reads its queue from a variable only it has: workers are told what serve was told.
    expect(queueNames('env:KILN_FACTORY_STEP_QUEUE', 'postgres://kiln:secret@db/kiln', { KILN_FACTORY_WORKER_QUEUE: 'env:KILN_QUEUE' })).toEqual({ shown: 'postgres://kiln:***@db/kiln', workerFlag: 'env:KILN_QUEUE' });
    expect(queueNames('env:KILN_FACTORY_STEP_QUEUE', 'postgres://kiln:secret@db/kiln', {})).toEqual({ shown: 'postgres://kiln:***@db/kiln', workerFlag: 'URL' });
  });
});
