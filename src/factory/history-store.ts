// The factory's history in SQLite: one row per published digest of a catalog image. The factory
// appends; `kiln factory history` and the web catalog read through ImageHistoryReader.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FactoryError } from './errors.ts';
import type { ImageHistoryEntry, ImageHistoryReader } from './format/history.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS image_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  image TEXT NOT NULL, digest TEXT NOT NULL, published_at TEXT NOT NULL, run_id TEXT NOT NULL,
  entry TEXT NOT NULL,
  UNIQUE (image, digest, run_id));
CREATE INDEX IF NOT EXISTS image_history_image ON image_history (image, seq);
`;

/** Reads and appends the history; the factory's writer side of {@link ImageHistoryReader}. */
export interface ImageHistoryStore extends ImageHistoryReader {
  /** Appends one published digest. Appending the same digest of the same run again is a no-op (a
   *  retried publish records it once) and returns false. */
  append(entry: ImageHistoryEntry): Promise<boolean>;
  /** The newest entry of an image, if any. */
  latest(image: string): Promise<ImageHistoryEntry | undefined>;
  close(): void;
}

/** Options of {@link openImageHistory}. */
export interface OpenImageHistoryOptions {
  /** Open for reading only (the catalog); a missing file reads as an empty history until the
   *  factory creates it, and is opened then. */
  readonly?: boolean;
}

/** Opens (creating unless read-only) the history database at `path` (WAL, so readers never block
 *  the factory's writes). */
export function openImageHistory(path: string, options: OpenImageHistoryOptions = {}): ImageHistoryStore {
  if (options.readonly && path !== ':memory:' && !existsSync(path)) return historyOnceCreated(path);
  let db: Database.Database;
  try {
    if (!options.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, options.readonly ? { readonly: true, fileMustExist: true } : {});
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA);
    }
    db.pragma('busy_timeout = 5000');
  } catch (error) {
    throw new FactoryError('FACTORY_HISTORY_INVALID', `${path}: cannot open the factory history (${(error as Error).message})`, { cause: error, detail: { path } });
  }
  const parse = (row: { entry: string } | undefined): ImageHistoryEntry | undefined => {
    if (!row) return undefined;
    try {
      return JSON.parse(row.entry) as ImageHistoryEntry;
    } catch (error) {
      throw new FactoryError('FACTORY_HISTORY_INVALID', `${path}: a history entry is not JSON`, { cause: error, detail: { path } });
    }
  };
  const hasTable = () => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'image_history'").get() !== undefined;
  return {
    listImages() {
      if (options.readonly && !hasTable()) return Promise.resolve([]);
      const rows = db.prepare('SELECT DISTINCT image FROM image_history ORDER BY image').all() as { image: string }[];
      return Promise.resolve(rows.map((row) => row.image));
    },
    history(image) {
      if (options.readonly && !hasTable()) return Promise.resolve([]);
      const rows = db.prepare('SELECT entry FROM image_history WHERE image = ? ORDER BY seq').all(image) as { entry: string }[];
      return Promise.resolve(rows.map((row) => parse(row)!));
    },
    latest(image) {
      if (options.readonly && !hasTable()) return Promise.resolve(undefined);
      return Promise.resolve(parse(db.prepare('SELECT entry FROM image_history WHERE image = ? ORDER BY seq DESC LIMIT 1').get(image) as { entry: string } | undefined));
    },
    append(entry) {
      if (options.readonly) return Promise.reject(new FactoryError('FACTORY_HISTORY_INVALID', `${path}: the history was opened read-only`, { detail: { path } }));
      const info = db
        .prepare('INSERT INTO image_history (image, digest, published_at, run_id, entry) VALUES (?, ?, ?, ?, ?) ON CONFLICT (image, digest, run_id) DO NOTHING')
        .run(entry.image, entry.digest, entry.publishedAt, entry.runId, JSON.stringify(entry));
      return Promise.resolve(info.changes === 1);
    },
    close() {
      db.close();
    },
  };
}

/** A read-only history whose file does not exist yet: empty until the factory's first run creates
 *  it, then read from it (a catalog started before the factory need not be restarted). */
function historyOnceCreated(path: string): ImageHistoryStore {
  let opened: ImageHistoryStore | undefined;
  const store = (): ImageHistoryStore | undefined => {
    if (!opened && existsSync(path)) opened = openImageHistory(path, { readonly: true });
    return opened;
  };
  return {
    listImages: () => store()?.listImages() ?? Promise.resolve([]),
    history: (image) => store()?.history(image) ?? Promise.resolve([]),
    latest: (image) => store()?.latest(image) ?? Promise.resolve(undefined),
    append: () => Promise.reject(new FactoryError('FACTORY_HISTORY_INVALID', `${path}: the history was opened read-only`, { detail: { path } })),
    close: () => opened?.close(),
  };
}
