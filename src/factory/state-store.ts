// The factory's state file (STATE/state.json): read at the start of a run, written atomically after
// every step, so a run that dies keeps what its finished steps did. Workers running steps of one run
// in several processes update it too: each update re-reads the file under STATE/state.lock.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock, writeFileAtomic } from '../lib/index.ts';
import { FactoryError } from './errors.ts';
import { emptyFactoryState } from './format/state.ts';
import type { FactoryState } from './format/state.ts';

/** Port: the factory's state between runs. */
export interface FactoryStateStore {
  read(): Promise<FactoryState>;
  /** Applies `change` to the current state and stores the result. */
  update(change: (state: FactoryState) => void): Promise<FactoryState>;
}

/** STATE/state.json. */
export function fileStateStore(stateDir: string): FactoryStateStore {
  const path = join(stateDir, 'state.json');
  const read = async (): Promise<FactoryState> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyFactoryState();
      throw error;
    }
    try {
      const value = JSON.parse(text) as FactoryState;
      if (value.version !== 1) throw new Error(`unknown state version ${String(value.version)}`);
      return { ...emptyFactoryState(), ...value };
    } catch (error) {
      throw new FactoryError('FACTORY_CONFIG_INVALID', `${path}: not a factory state file (${(error as Error).message})`, { cause: error, detail: { file: path } });
    }
  };
  return {
    read,
    update: (change) =>
      withFileLock(join(stateDir, 'state.lock'), async () => {
        const next = await read();
        change(next);
        await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
        return next;
      }),
  };
}
