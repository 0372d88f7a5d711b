import { expect, it } from 'vitest';
import { parseQueueLocation } from './open-job-queue.ts';

it.each([
  ['sqlite:queue.db', { kind: 'sqlite', path: '/work/queue.db' }],
  ['sqlite:/var/lib/kiln/q.db', { kind: 'sqlite', path: '/var/lib/kiln/q.db' }],
  ['postgres://kiln@db:5432/kiln', { kind: 'postgres', url: 'postgres://kiln@db:5432/kiln' }],
  ['postgresql://kiln:pw@db/kiln', { kind: 'postgres', url: 'postgresql://kiln:pw@db/kiln' }],
])('parses %s', (location, expected) => {
  expect(parseQueueLocation(location, '/work')).toEqual(expected);
});

it.each(['queue.db', 'sqlite:', 'mysql://x/y', 'redis://localhost'])('refuses %s with QUEUE_URL_INVALID', (location) => {
  expect(() => parseQueueLocation(location, '/work')).toThrow(expect.objectContaining({ code: 'QUEUE_URL_INVALID', message: expect.stringContaining('expected sqlite:PATH or postgres://') }));
});
