/** Mutual exclusion per key (a blob digest): `run` calls `body` while no other holder of the key runs.
 *  KeyedMutex provides it within one process; a database lock (PostgresKeyedLock in metadata/postgres)
 *  provides it across replicas. */
export interface KeyedLock {
  run<T>(key: string, body: () => Promise<T>): Promise<T>;
}

/** In-process mutual exclusion per key (upload id, blob digest). Serializes the commit/link of one
 *  digest against the GC sweep of that digest, and concurrent requests on one upload session. */
export class KeyedMutex implements KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, body: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await body();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
