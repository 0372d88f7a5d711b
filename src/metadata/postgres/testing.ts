// Test support: starts a private PostgreSQL cluster from Debian's postgresql-15 (initdb + pg_ctl) in a
// temporary directory on a free loopback port, and hands out one fresh database per test case. Used by
// integration and e2e tests; not part of the public API.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's postgresql-15 puts initdb and pg_ctl; KILN_TEST_PG_BIN overrides it. */
const POSTGRES_BIN = process.env.KILN_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A running throw-away PostgreSQL cluster. */
export interface TestPostgres {
  /** `postgres://kiln@127.0.0.1:<port>/<database>` (trust authentication on loopback). */
  url(database?: string): string;
  port: number;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Drops a database made by `createDatabase` (after its clients closed). */
  dropDatabase(url: string): Promise<void>;
  /** Stops the server (fast shutdown: sessions are cut, open transactions roll back), keeping the data. */
  stopServer(): Promise<void>;
  /** Starts a server stopped by `stopServer` again on the same port. */
  startServer(): Promise<void>;
  /** Stops the server immediately and removes the cluster directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** initdb refuses to run as root: as root, run the cluster as Debian's `postgres` user (or `nobody`). */
async function unprivilegedUser(): Promise<{ name: string; uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const ids = await run('id', ['-u', name]).then(
      async ({ stdout }) => ({ uid: Number(stdout.trim()), gid: Number((await run('id', ['-g', name])).stdout.trim()) }),
      () => undefined,
    );
    if (ids) return { name, ...ids };
  }
  throw new Error('running as root, but neither the postgres nor the nobody user exists to run PostgreSQL as');
}

/** Starts a cluster; call `stop()` in `afterAll`. */
export async function startTestPostgres(): Promise<TestPostgres> {
  // The per-run TMPDIR is private to root (mode 0700): the server's user could not reach a cluster
  // under it, so the cluster lives in the machine's own temporary directory.
  const base = process.env.KILN_TEST_BASE_TMPDIR ?? tmpdir();
  const dir = await mkdtemp(join(base, 'kiln-pg-'));
  const user = await unprivilegedUser();
  const as = (command: string, args: string[]) => (user ? run('runuser', ['-u', user.name, '--', command, ...args], { cwd: dir }) : run(command, args, { cwd: dir }));
  const data = join(dir, 'data');
  const port = await freePort();
  // fsync off: a test cluster trades durability for speed; the socket directory is the cluster's own.
  const options = `-h 127.0.0.1 -p ${port} -k ${dir} -F -c max_connections=200`;
  const startServer = async () => {
    await as(join(POSTGRES_BIN, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options]);
  };
  let started = false;
  try {
    if (user) {
      await chown(dir, user.uid, user.gid);
      await chmod(dir, 0o700);
    }
    await as(join(POSTGRES_BIN, 'initdb'), ['-D', data, '-U', 'kiln', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await startServer();
    started = true;
  } catch (error) {
    if (started) await as(join(POSTGRES_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const url = (database = 'postgres') => `postgres://kiln@127.0.0.1:${port}/${database}`;
  let counter = 0;
  const admin = async <T>(body: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      return await body(client);
    } finally {
      await client.end();
    }
  };
  return {
    port,
    url,
    createDatabase: async () => {
      const name = `kiln_test_${process.pid}_${++counter}`;
      await admin((client) => client.query(`CREATE DATABASE ${name}`));
      return url(name);
    },
    dropDatabase: async (databaseUrl) => {
      const name = new URL(databaseUrl).pathname.slice(1);
      if (!/^kiln_test_\d+_\d+$/.test(name)) throw new Error(`not a test database: ${name}`);
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
    stopServer: async () => {
      await as(join(POSTGRES_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w']);
    },
    startServer,
    stop: async () => {
      await as(join(POSTGRES_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
