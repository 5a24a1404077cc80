import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createOwnerOnly } from '../event-store/sqlite/owner-only-file.js';

/** The file whose lock a data directory's server, or a rebuild, holds while it runs. */
const DATA_DIR_LOCK_FILE = 'server.lock';

/**
 * How long taking the lock waits for another process that holds it: long enough for one that only
 * looks (`cli status`), far shorter than a server or a rebuild holds it.
 */
const LOCK_WAIT_MS = 1_000;

/**
 * One process at a time works on a data directory's derived files (the read models, the webhook and
 * notification dispatchers' files): the API server, or a rebuild. An exclusive lock on
 * `server.lock`, held through SQLite (the operating system's file locks, which Node does not
 * offer itself), for as long as the process runs: the system releases it when the process ends,
 * however it ends, so a crash leaves nothing that stops the next start. It holds across
 * hostnames on one machine (containers sharing a local volume) and whatever process ids are
 * reused; across machines, only where the shared filesystem's locks work (SQLite's caveat about
 * NFS and SMB).
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock of `dataDir` (creating the directory and the file when missing), or DataDirInUseError. */
  static acquire(dataDir: string): DataDirLock {
    const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
    createOwnerOnly(file);
    const db = new Database(file, { timeout: LOCK_WAIT_MS });
    try {
      // In exclusive locking mode a connection keeps the lock its first transaction takes, until
      // closed. Nothing is kept in the file: its journal stays in memory, leaving no file beside it.
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      return new DataDirLock(db);
    } catch (error) {
      db.close();
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') throw DataDirInUseError.holding(file);
      throw error;
    }
  }

  /** Whether a process holds the lock of `dataDir` now (without taking it). */
  static isHeld(dataDir: string): boolean {
    const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
    if (!existsSync(file)) return false; // never taken here
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
    try {
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      return false;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return true;
      throw error;
    } finally {
      db.close();
    }
  }

  release(): void {
    this.db.close();
  }
}

/** Another process (a server, or a rebuild) works on the data directory. */
export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirInUseError';
  }

  static holding(file: string): DataDirInUseError {
    return new DataDirInUseError(
      `another process works on this data directory (it holds ${file}): one server per data ` +
        'directory, and none during a rebuild. `fuser -v` on that file names the process.',
    );
  }
}
