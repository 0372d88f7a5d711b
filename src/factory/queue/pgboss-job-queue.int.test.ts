import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestPostgres } from '../../metadata/postgres/testing.ts';
import type { TestPostgres } from '../../metadata/postgres/testing.ts';
import { FactoryQueueError } from './errors.ts';
import { runJobQueueConformance } from './job-queue-conformance.ts';
import type { JobQueue } from './port.ts';
import { LEDGER_SCHEMA, PgBossJobQueue, QUEUE_APPLICATION_NAME } from './pgboss-job-queue.ts';

let server: TestPostgres;

beforeAll(async () => {
  server = await startTestPostgres();
});

afterAll(async () => {
  await server?.stop();
});

const urlOf = (queue: JobQueue) => (queue as PgBossJobQueue).url;

async function openConnections(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [new URL(url).pathname.slice(1), QUEUE_APPLICATION_NAME]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

runJobQueueConformance('postgres (pg-boss)', {
  create: async () => PgBossJobQueue.open(await server.createDatabase(), { expireCheckMs: 0 }),
  another: async (queue) => PgBossJobQueue.open(urlOf(queue), { expireCheckMs: 0 }),
  // A closed queue leaves no session behind (backends end a moment after their client hangs up).
  leftovers: async (queue) => {
    for (let tries = 0; ; tries++) {
      const open = await openConnections(urlOf(queue));
      if (open === 0 || tries === 20) return open === 0 ? [] : [`${open} open ${QUEUE_APPLICATION_NAME} connections`];
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  },
  cleanup: async (queue) => server.dropDatabase(urlOf(queue)),
});

it('names the server, without its password, when the queue database cannot be reached', async () => {
  const url = `postgres://kiln:secret@127.0.0.1:${server.port}/no_such_database`;
  const error = await PgBossJobQueue.open(url).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(FactoryQueueError);
  expect((error as FactoryQueueError).code).toBe('QUEUE_OPEN_FAILED');
  expect((error as Error).message).toMatch(/^postgres:\/\/kiln:\*\*\*@127\.0\.0\.1:\d+\/no_such_database: cannot open job queue: .*no_such_database/);
  expect((error as Error).message).not.toContain('secret');
});

it('opens one empty database from several processes at once', async () => {
  const url = await server.createDatabase();
  const queues = await Promise.all([0, 1, 2].map(() => PgBossJobQueue.open(url)));
  try {
    const results = await Promise.all(queues.map((queue) => queue.enqueue({ kind: 'test.once', key: 'k', payload: null })));
    expect(results.filter((result) => result.created).length).toBe(1);
    const job = await queues[1]!.claim(['test.once']);
    expect(await queues[2]!.complete(job!, 1)).toBe(true);
  } finally {
    for (const queue of queues) await queue.close();
    await server.dropDatabase(url);
  }
});

it('reports a queue whose tables are gone as QUEUE_DAMAGED with their SQLSTATE, not as an outage to wait out', async () => {
  const url = await server.createDatabase();
  const queue = await PgBossJobQueue.open(url, { expireCheckMs: 0 });
  try {
    await queue.enqueue({ kind: 'test.damaged', key: 'k', payload: null });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP TABLE ${LEDGER_SCHEMA}.completed`);
    await client.end();
    const error = await queue.get('test.damaged', 'k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FactoryQueueError);
    expect(error).toMatchObject({ code: 'QUEUE_DAMAGED', detail: { sqlState: '42P01' } });
    expect((error as Error).message).toContain('retrying cannot help');
  } finally {
    await queue.close();
    await server.dropDatabase(url);
  }
});
