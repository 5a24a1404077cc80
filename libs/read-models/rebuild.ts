import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EventStore } from '../event-store/index.js';
import { createOwnerOnly } from '../event-store/sqlite/owner-only-file.js';
import { syncDirectorySync, syncFileSync } from '../event-store/sqlite/sync-directory.js';
import { CHECKPOINT_SCHEMA } from '../feed-follower/local-db.js';
import {
  DEFAULT_MEMORY_LIMITS,
  ReadModelWriter,
  type MemoryLimits,
} from './projections/read-model-writer.js';
import {
  createReadModelIndexes,
  READ_MODELS_FILE,
  READ_MODELS_PAGE_SIZE,
  recreateReadModels,
  refuseOlderReleasesServer,
  schemaVersionOf,
  SCHEMA_VERSION,
} from './read-model-db.js';
import { WorkerConnection } from './worker-connection.js';

/** Reported after every page of the log, then once more when only the indexes and the commit remain. */
export interface RebuildProgress {
  /**
   * `replaying` the log; `finishing` once the last page is in, while the indexes are built and the
   * transaction commits (a good part of the time); `done` in what `rebuild` returns.
   */
  phase: 'replaying' | 'finishing' | 'done';
  /** Events read from the log so far (those of other streams included). */
  events: number;
  /** Position of the last one; null before the first. */
  position: bigint | null;
  /** The store's head when the rebuild started, where it is heading; null for an empty store. */
  head: bigint | null;
}

/** Events per page of the log: large, as a rebuild runs with nobody waiting on it. */
const REBUILD_PAGE_SIZE = 5_000;
/** The page cache of a rebuild, in KiB (SQLite's default is 2 MiB). */
const REBUILD_CACHE_KIB = 256 * 1024;
/** Beside the read models' file: where a rebuild writes the new one. */
const REBUILDING_SUFFIX = '.rebuilding';

/**
 * Replays the whole log into new read models, then puts them in place of the data directory's own.
 *
 * They are written into a new file beside the old one, `read-models.db.rebuilding`, which replaces
 * it once complete and durable (a rename): a crash or an error at any instant leaves the previous
 * read models as they were. As nothing reads the new file before then, it is written without a
 * journal (each page once, instead of into the WAL and then again into the file), its statements
 * run on a thread of their own (WorkerConnection), and its indexes are built once its rows are in.
 *
 * Nothing may have the read models of `dataDir` open meanwhile, nor open them before this returns:
 * hold the data directory's lock, as the CLI does. `signal` (the CLI's Ctrl-C) stops it between
 * pages of the log, as an error thrown by `onProgress` does.
 */
export async function rebuild(
  store: EventStore,
  dataDir: string,
  {
    onProgress = () => undefined,
    signal,
    memoryLimits = DEFAULT_MEMORY_LIMITS,
  }: {
    onProgress?: (progress: RebuildProgress) => void;
    signal?: AbortSignal;
    memoryLimits?: MemoryLimits;
  } = {},
): Promise<RebuildProgress> {
  const file = join(dataDir, READ_MODELS_FILE);
  const rebuilding = `${file}${REBUILDING_SUFFIX}`;
  emptyLogOf(file);
  const head = await store.headPosition();
  const progress: RebuildProgress = { phase: 'replaying', events: 0, position: null, head };
  rmSync(rebuilding, { force: true }); // a crashed rebuild's
  createOwnerOnly(rebuilding);
  const db = new WorkerConnection(rebuilding);
  try {
    db.exec(
      `PRAGMA page_size = ${READ_MODELS_PAGE_SIZE}; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
       PRAGMA cache_size = ${-REBUILD_CACHE_KIB}; BEGIN; ${CHECKPOINT_SCHEMA}`,
    );
    recreateReadModels(db, { withIndexes: false });
    const writer = new ReadModelWriter(db, memoryLimits);
    for (;;) {
      const page = await store.readAll(progress.position, REBUILD_PAGE_SIZE);
      if (page.length === 0) break;
      writer.apply(page);
      progress.events += page.length;
      progress.position = page[page.length - 1].globalPosition;
      onProgress({ ...progress });
      await db.keepUp();
      // A turn of the event loop between pages (keepUp may resolve without one): the SQLite
      // store's reads never wait, and a signal (the CLI's Ctrl-C) is only handled on such a turn.
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    }
    onProgress({ ...progress, phase: 'finishing' });
    // The indexes are built once the log's rows are in, and before the flush: the incident facts
    // read each incident's timeline by its index.
    createReadModelIndexes(db);
    // A flush that reads (incidents whose events it let go of) waits for the indexes here rather
    // than in a read that blocks the main thread; one that does not goes on while they are built.
    if (writer.flushReads()) await db.caughtUp();
    writer.flush();
    if (progress.position !== null) {
      db.prepare('UPDATE checkpoint SET position = ?').run(progress.position.toString());
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT; PRAGMA journal_mode = WAL`);
    await db.close();
    syncFileSync(rebuilding);
  } catch (error) {
    await db.terminate();
    rmSync(rebuilding, { force: true });
    throw error;
  }
  // The old file's log is empty (emptyLogOf) and nothing wrote to it since: its -wal and -shm go
  // with it, never to be taken for the new file's.
  for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  syncDirectorySync(dataDir);
  renameSync(rebuilding, file);
  syncDirectorySync(dataDir);
  return { ...progress, phase: 'done' };
}

/**
 * Folds the read models' log (-wal), if there are read models, into their file, changing nothing
 * else: the file no longer needs its log, which a rebuild then deletes with it. Refuses, as a server
 * would, a newer release's file, or one that an older release's server still projects into.
 */
function emptyLogOf(file: string): void {
  if (!existsSync(file)) return;
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    schemaVersionOf(db);
    refuseOlderReleasesServer(db);
    const [{ busy }] = db.pragma('wal_checkpoint(TRUNCATE)') as [{ busy: number }];
    if (busy !== 0) throw new Error(`${file} is being read: try again once it is not`);
  } finally {
    db.close();
  }
}
